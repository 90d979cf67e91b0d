import { createHmac, createPublicKey, randomBytes } from 'node:crypto';

import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { clientPolicy } from '../../src/gateway/client-signature.js';
import { parseConfig } from '../../src/gateway/config.js';
import { acceptHandshake } from '../../src/session/handshake.js';
import { hmacKey } from '../../src/signature/algorithms.js';
import { component } from '../../src/signature/components.js';
import { checkContentDigest, createContentDigest } from '../../src/signature/content-digest.js';
import { fieldsFromRecord, type SignableRequest } from '../../src/signature/message.js';
import { parseComponentIdentifier } from '../../src/signature/components.js';
import { signMessage } from '../../src/signature/sign.js';
import { verifyMessage } from '../../src/signature/verify.js';
import {
  appendixB,
  canonicalization,
  caseMessage,
  digests,
  interop,
  parsers,
  rfcComponents,
  toSignable,
  type ComponentCase,
  type VectorMessage,
} from '../signature/vectors.js';
import type { harness } from './harness/sdk-harness.js';
import { launchChromium } from './helpers/chromium.js';
import { startHarnessServer, type HarnessServer } from './helpers/harness-server.js';

declare global {
  interface Window {
    rampart: typeof harness;
  }
}

let browser: Browser;
let server: HarnessServer;
let page: Page;

beforeAll(async () => {
  server = await startHarnessServer();
  browser = await launchChromium();
  page = await browser.newPage();
  await page.goto(`${server.url}/`);
  await page.waitForFunction(() => window.rampart !== undefined);
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

/** A key as the page imports it: SPKI DER for public keys, raw bytes for a shared secret. */
interface PageKey {
  algorithm: string;
  spkiBase64?: string;
  secretBase64?: string;
}

interface AppendixResult {
  base: string;
  verified: boolean;
  /** The hmac-sha256 signature the page computes, base64; absent for other algorithms. */
  reproduced?: string;
  error?: string;
}

function pageKey(name: string): PageKey {
  const entry = appendixB.keys[name];
  if (entry === undefined) throw new Error(`unknown vector key ${name}`);
  if (entry.secretBase64 !== undefined) {
    return { algorithm: entry.algorithm, secretBase64: entry.secretBase64 };
  }
  const spki = createPublicKey(entry.publicKeyPem ?? '').export({ type: 'spki', format: 'der' });
  return { algorithm: entry.algorithm, spkiBase64: spki.toString('base64') };
}

describe('RFC 9421 appendix B vectors in Chromium', () => {
  const cases = appendixB.cases.map((testCase, index) => ({
    name: `${testCase.id} ${testCase.title}`,
    index,
    testCase,
    message: toSignable(appendixB.messages[testCase.message] as VectorMessage, appendixB.messages),
    key: pageKey(testCase.key),
    label: testCase.signatureInput.slice(0, testCase.signatureInput.indexOf('=')),
  }));
  let results: AppendixResult[];

  beforeAll(async () => {
    results = await page.evaluate(async (inputs) => {
      const r = window.rampart;
      const decode = (text: string) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
      const encode = (bytes: ArrayBuffer) => btoa(String.fromCharCode(...new Uint8Array(bytes)));
      const algorithms: Record<string, { importAs: unknown; verifyAs: unknown }> = {
        'rsa-pss-sha512': {
          importAs: { name: 'RSA-PSS', hash: 'SHA-512' },
          verifyAs: { name: 'RSA-PSS', saltLength: 64 },
        },
        'ecdsa-p256-sha256': {
          importAs: { name: 'ECDSA', namedCurve: 'P-256' },
          verifyAs: { name: 'ECDSA', hash: 'SHA-256' },
        },
        ed25519: { importAs: { name: 'Ed25519' }, verifyAs: { name: 'Ed25519' } },
        'hmac-sha256': {
          importAs: { name: 'HMAC', hash: 'SHA-256' },
          verifyAs: { name: 'HMAC' },
        },
      };

      const out = [];
      for (const input of inputs) {
        try {
          const headers: ReadonlyArray<readonly [string, string]> = [
            ...input.message.headers,
            ['Signature-Input', input.testCase.signatureInput],
            ['Signature', input.testCase.signature],
          ];
          const message = { ...input.message, headers };
          const parsed = r.parseSignature(headers, { label: input.label });
          const base = r.buildSignatureBase(message, parsed.components, parsed.rawParams);
          const data = new TextEncoder().encode(base);
          const algorithm = algorithms[input.key.algorithm];
          if (algorithm === undefined) throw new Error(`no WebCrypto ${input.key.algorithm}`);
          const secret = input.key.secretBase64;
          const key =
            secret === undefined
              ? await crypto.subtle.importKey(
                  'spki',
                  decode(input.key.spkiBase64 ?? ''),
                  algorithm.importAs as AlgorithmIdentifier,
                  false,
                  ['verify'],
                )
              : await crypto.subtle.importKey(
                  'raw',
                  decode(secret),
                  algorithm.importAs as HmacImportParams,
                  false,
                  ['sign', 'verify'],
                );
          const signature = new Uint8Array(parsed.signature);
          const verified = await crypto.subtle.verify(
            algorithm.verifyAs as AlgorithmIdentifier,
            key,
            signature,
            data,
          );
          const reproduced =
            secret === undefined ? undefined : encode(await crypto.subtle.sign('HMAC', key, data));
          out.push({ base, verified, ...(reproduced === undefined ? {} : { reproduced }) });
        } catch (error) {
          out.push({ base: '', verified: false, error: String(error) });
        }
      }
      return out;
    }, cases);
  });

  for (const { name, index, testCase } of cases) {
    it(`${name}: builds the published base`, () => {
      const result = results[index] as AppendixResult;
      expect(result.error).toBeUndefined();
      if (testCase.base !== null) expect(result.base).toBe(testCase.base);
    });

    it(`${name}: ${testCase.valid ? 'verifies' : 'rejects'} the signature with WebCrypto`, () => {
      expect((results[index] as AppendixResult).verified).toBe(testCase.valid);
    });

    if (testCase.deterministic && testCase.key === 'test-shared-secret') {
      it(`${name}: reproduces the hmac-sha256 signature`, () => {
        const published = testCase.signature.slice(testCase.signature.indexOf('=:') + 2, -1);
        expect((results[index] as AppendixResult).reproduced).toBe(published);
      });
    }
  }
});

interface ComponentResult {
  lines?: string[];
  code?: string;
  thrown?: string;
}

describe('RFC 9421 component and canonicalization vectors in Chromium', () => {
  const suites: Array<[string, ComponentCase[], Record<string, VectorMessage> | undefined]> = [
    ['section 2 example', rfcComponents.cases, rfcComponents.messages],
    ['canonicalization', canonicalization.cases, undefined],
  ];
  const cases = suites.flatMap(([suite, list, messages]) =>
    list.map((testCase) => ({
      name: `${suite} ${testCase.id}: ${testCase.title}`,
      testCase,
      message: caseMessage(testCase, messages),
    })),
  );
  let results: ComponentResult[];

  beforeAll(async () => {
    results = await page.evaluate((inputs) => {
      const r = window.rampart;
      return inputs.map(({ testCase, message }) => {
        try {
          const components = testCase.components.map(r.parseComponentIdentifier);
          const base = r.buildSignatureBase(message, components, new Map(), {
            ...(testCase.structuredFields ? { structuredFields: testCase.structuredFields } : {}),
          });
          return { lines: base.split('\n') };
        } catch (error) {
          const code = (error as { code?: unknown }).code;
          return typeof code === 'string' ? { code } : { thrown: String(error) };
        }
      });
    }, cases);
  });

  cases.forEach(({ name, testCase }, index) => {
    it(name, () => {
      const result = results[index] as ComponentResult;
      expect(result.thrown).toBeUndefined();
      if (testCase.error !== undefined) {
        expect(result.code).toBe(testCase.error);
        return;
      }
      expect(result.lines?.slice(0, -1)).toEqual(testCase.baseLines);
      expect(result.lines?.at(-1)).toBe(`"@signature-params": (${testCase.components.join(' ')})`);
    });
  });
});

describe('RFC 9530 Content-Digest vectors in Chromium', () => {
  // The browser SDK sends and checks sha-256 only, which is what the gateway sends.
  const cases = digests.digests.filter((testCase) => testCase.algorithm === 'sha-256');
  let results: Array<{ created: string; matches: boolean; changedMatches: boolean }>;

  beforeAll(async () => {
    const inputs = cases.map((testCase) => ({
      fieldValue: testCase.fieldValue,
      bodyBase64:
        testCase.bodyBase64 ?? Buffer.from(testCase.body ?? '', 'utf8').toString('base64'),
    }));
    results = await page.evaluate(async (list) => {
      const r = window.rampart;
      const out = [];
      for (const { fieldValue, bodyBase64 } of list) {
        const body = Uint8Array.from(atob(bodyBase64), (c) => c.charCodeAt(0));
        const changed = Uint8Array.from([...body, 0x20]);
        out.push({
          created: await r.createContentDigest(body),
          matches: await r.contentDigestMatches(fieldValue, body),
          changedMatches: await r.contentDigestMatches(fieldValue, changed),
        });
      }
      return out;
    }, inputs);
  });

  cases.forEach((testCase, index) => {
    it(`${testCase.id} ${testCase.title}: computes and checks the published digest`, () => {
      const result = results[index];
      expect(result?.created).toBe(testCase.fieldValue);
      expect(result?.matches).toBe(true);
      expect(result?.changedMatches).toBe(false);
    });
  });
});

describe('Signature-Input and Signature parser vectors in Chromium', () => {
  const cases = [
    ...parsers.signatureInput.map((testCase) => ({ field: 'signatureInput' as const, testCase })),
    ...parsers.signature.map((testCase) => ({ field: 'signature' as const, testCase })),
  ];
  let results: Array<{ code?: string; thrown?: string }>;

  beforeAll(async () => {
    results = await page.evaluate((inputs) => {
      const r = window.rampart;
      return inputs.map(({ field, testCase }) => {
        const headers: Array<[string, string]> =
          field === 'signatureInput'
            ? [
                ['Signature-Input', testCase.value],
                ['Signature', 'sig1=:AAAA:'],
              ]
            : [
                ['Signature-Input', 'sig1=("@method");created=1;keyid="k"'],
                ['Signature', testCase.value],
              ];
        try {
          if (field === 'signatureInput') r.parseSignatures(headers);
          else r.parseSignature(headers);
          return {};
        } catch (error) {
          const code = (error as { code?: unknown }).code;
          return typeof code === 'string' ? { code } : { thrown: String(error) };
        }
      });
    }, cases);
  });

  cases.forEach(({ field, testCase }, index) => {
    const outcome = testCase.error === undefined ? 'parses' : `fails with ${testCase.error}`;
    it(`${field}: ${testCase.title ?? testCase.value} ${outcome}`, () => {
      const result = results[index];
      expect(result?.thrown).toBeUndefined();
      expect(result?.code).toBe(testCase.error);
    });
  });
});

describe('interoperability requests in Chromium', () => {
  const secret = randomBytes(32);
  const created = 1_700_000_000;
  const cases = interop.cases.map((testCase) => {
    const headers: Array<[string, string]> = [...testCase.request.headers];
    const body = Buffer.from(testCase.body ?? '', 'utf8');
    if (testCase.digest !== null) {
      headers.push(['Content-Digest', createContentDigest(body, [testCase.digest])]);
    }
    if (testCase.body !== null) headers.push(['Content-Length', String(body.length)]);
    const { method, scheme, authority, target } = testCase.request;
    const request: SignableRequest = { method, scheme, authority, target, headers };
    let expected: { signature?: string; code?: string };
    try {
      const signed = signMessage(request, {
        key: hmacKey(secret),
        keyid: 'interop-key',
        components: testCase.components.map(parseComponentIdentifier),
        created,
      });
      expected = { signature: signed.signature };
    } catch (error) {
      expected = { code: (error as { code?: string }).code };
    }
    return {
      name: `${testCase.id}: ${testCase.title}`,
      request,
      components: testCase.components,
      expected,
    };
  });
  let results: Array<{ signature?: string; code?: string; thrown?: string }>;

  beforeAll(async () => {
    results = await page.evaluate(
      async ({ inputs, secretBase64, created }) => {
        const r = window.rampart;
        const raw = Uint8Array.from(atob(secretBase64), (c) => c.charCodeAt(0));
        const key = await crypto.subtle.importKey(
          'raw',
          raw,
          { name: 'HMAC', hash: 'SHA-256' },
          false,
          ['sign'],
        );
        const out = [];
        for (const { request, components } of inputs) {
          try {
            const ids = components.map(r.parseComponentIdentifier);
            const params = r.toParameters({ created, keyid: 'interop-key', alg: 'hmac-sha256' });
            const base = r.buildSignatureBase(request, ids, params);
            const mac = await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(base));
            out.push({ signature: `sig1=:${btoa(String.fromCharCode(...new Uint8Array(mac)))}:` });
          } catch (error) {
            const code = (error as { code?: unknown }).code;
            out.push(typeof code === 'string' ? { code } : { thrown: String(error) });
          }
        }
        return out;
      },
      { inputs: cases, secretBase64: secret.toString('base64'), created },
    );
  });

  cases.forEach(({ name, expected }, index) => {
    it(`${name}: signs as the Node code does`, () => {
      const result = results[index];
      expect(result?.thrown).toBeUndefined();
      expect(result?.code).toBe(expected.code);
      expect(result?.signature).toBe(expected.signature);
    });
  });
});

describe('browser SDK against the Node implementation', () => {
  const origin = 'http://127.0.0.1:8080';
  const secret = randomBytes(32);
  let signed: { headers: Record<string, string>; bodyBase64: string; target: string };

  beforeAll(async () => {
    signed = await page.evaluate(
      async ({ origin, secretBase64 }) => {
        const r = window.rampart;
        const raw = Uint8Array.from(atob(secretBase64), (c) => c.charCodeAt(0));
        const key = await crypto.subtle.importKey(
          'raw',
          raw,
          { name: 'HMAC', hash: 'SHA-256' },
          false,
          ['sign', 'verify'],
        );
        const request = await r.signRequest({
          origin,
          path: '/api/transfers?note=a%20b',
          method: 'post',
          headers: { Accept: 'application/json' },
          body: { fromAccount: 'acc-a', toAccount: 'acc-b', amount: '1.00' },
          idempotencyKey: 'key-1',
          key,
          keyid: 'session-1',
          created: Math.floor(Date.now() / 1000),
          validitySeconds: 30,
        });
        Object.assign(globalThis, { probe: { key, signable: request.signable } });
        const body = request.body ?? new Uint8Array(0);
        return {
          headers: request.headers,
          bodyBase64: btoa(String.fromCharCode(...body)),
          target: `${request.url.pathname}${request.url.search}`,
        };
      },
      { origin, secretBase64: secret.toString('base64') },
    );
  });

  function nodeSignable(): SignableRequest {
    return {
      method: 'POST',
      scheme: 'http',
      authority: '127.0.0.1:8080',
      target: signed.target,
      headers: fieldsFromRecord(signed.headers),
    };
  }

  it('signs a request that the gateway policy accepts', () => {
    const policy = clientPolicy(parseConfig({}), { hasBody: true, needsIdempotencyKey: true });
    const parsed = verifyMessage(nodeSignable(), {
      policy,
      resolveKey: (keyid) => (keyid === 'session-1' ? hmacKey(secret) : undefined),
    });

    expect(parsed.params.tag).toBe('rampart');
    expect(parsed.params.nonce).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(parsed.params.expires).toBe((parsed.params.created ?? 0) + 30);
    expect(signed.headers['idempotency-key']).toBe('key-1');
    expect(signed.headers['content-type']).toBe('application/json');
    expect(() =>
      checkContentDigest(
        signed.headers['content-digest'] ?? '',
        Buffer.from(signed.bodyBase64, 'base64'),
      ),
    ).not.toThrow();
  });

  it('derives the same session key as the gateway handshake', async () => {
    const publicKey = await page.evaluate(async () => {
      const handshake = await window.rampart.startHandshake();
      Object.assign(globalThis, { handshake });
      return handshake.publicKey;
    });
    const server = acceptHandshake(publicKey, 'session-2');

    const derived = await page.evaluate(async ({ serverPublicKey, salt }) => {
      const { handshake } = globalThis as unknown as {
        handshake: Awaited<ReturnType<typeof window.rampart.startHandshake>>;
      };
      const key = await handshake.deriveSessionKey(serverPublicKey, salt, 'session-2');
      const mac = await crypto.subtle.sign('HMAC', key, new TextEncoder().encode('probe'));
      const exported = await crypto.subtle.exportKey('raw', key).then(
        () => 'exported',
        (error: Error) => error.name,
      );
      return {
        mac: btoa(String.fromCharCode(...new Uint8Array(mac))),
        extractable: key.extractable,
        usages: [...key.usages].sort(),
        exported,
      };
    }, server);

    expect(derived.mac).toBe(
      createHmac('sha256', server.sessionKey).update('probe').digest('base64'),
    );
    expect(derived.extractable).toBe(false);
    expect(derived.usages).toEqual(['sign', 'verify']);
    expect(derived.exported).toBe('InvalidAccessError');
  });

  it('rejects a server key that is not on the curve', async () => {
    const code = await page.evaluate(async () => {
      const handshake = await window.rampart.startHandshake();
      const point = new Uint8Array(65);
      point[0] = 4;
      const encoded = btoa(String.fromCharCode(...point))
        .replace(/\+/g, '-')
        .replace(/\//g, '_')
        .replace(/=+$/, '');
      return handshake.deriveSessionKey(encoded, 'AAAA', 'session-3').then(
        () => 'derived',
        (error: { code?: string }) => error.code,
      );
    });

    expect(code).toBe('handshake_invalid');
  });

  /** Signs a response to the probe request as the gateway does, and checks it in the page. */
  async function checkInPage(options: {
    status?: number;
    body?: string;
    sentBody?: string;
    keyid?: string;
    request?: SignableRequest;
    unsigned?: boolean;
  }): Promise<{ verified?: boolean; text?: string; code?: string }> {
    const status = options.status ?? 200;
    const body = Buffer.from(options.body ?? '{"ok":true}');
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'content-digest': createContentDigest(body),
    };
    if (options.unsigned !== true) {
      const response = signMessage(
        {
          status,
          headers: fieldsFromRecord(headers),
          request: options.request ?? nodeSignable(),
        },
        {
          key: hmacKey(secret),
          keyid: options.keyid ?? 'session-1',
          label: 'res',
          tag: 'rampart-response',
          components: [
            component('@status'),
            component('content-digest'),
            component('content-type'),
            component('signature', { req: true, key: 'sig1' }),
          ],
        },
      );
      headers['signature-input'] = response.signatureInput;
      headers['signature'] = response.signature;
    }
    return page.evaluate(
      async ({ status, headers, sent }) => {
        const { probe } = globalThis as unknown as {
          probe: { key: CryptoKey; signable: Parameters<typeof window.rampart.checkResponse>[1] };
        };
        const response = new Response(sent, { status, headers });
        try {
          const checked = await window.rampart.checkResponse(response, probe.signable, {
            sessionId: 'session-1',
            key: probe.key,
          });
          return { verified: checked.verified, text: await checked.response.text() };
        } catch (error) {
          return { code: (error as { code?: string }).code };
        }
      },
      { status, headers, sent: options.sentBody ?? body.toString() },
    );
  }

  it('accepts a response signed for its request', async () => {
    const result = await checkInPage({});

    expect(result).toEqual({ verified: true, text: '{"ok":true}' });
  });

  it('rejects a response body changed in transit', async () => {
    const result = await checkInPage({ sentBody: '{"ok":false}' });

    expect(result.code).toBe('response_signature_invalid');
  });

  it('rejects a response bound to another request', async () => {
    const other = nodeSignable();
    const result = await checkInPage({
      request: {
        ...other,
        headers: other.headers.map(([name, value]) =>
          name === 'signature' ? [name, 'sig1=:AAAA:'] : [name, value],
        ),
      },
    });

    expect(result.code).toBe('response_signature_invalid');
  });

  it('rejects a response signed under another key id', async () => {
    const result = await checkInPage({ keyid: 'session-9' });

    expect(result.code).toBe('response_signature_invalid');
  });

  it('rejects an unsigned success', async () => {
    const result = await checkInPage({ unsigned: true });

    expect(result.code).toBe('response_signature_invalid');
  });

  it('passes an unsigned rejection through as unverified', async () => {
    const result = await checkInPage({
      unsigned: true,
      status: 401,
      body: '{"code":"token_expired"}',
    });

    expect(result).toEqual({ verified: false, text: '{"code":"token_expired"}' });
  });
});
