import { createSigner, createVerifier, httpbis } from 'http-message-signatures';
import { describe, expect, it } from 'vitest';

import { RampartError } from '../../src/errors.js';
import { hmacKey } from '../../src/signature/algorithms.js';
import { parseComponentIdentifier } from '../../src/signature/components.js';
import { createContentDigest } from '../../src/signature/content-digest.js';
import type { HeaderFields, SignableRequest } from '../../src/signature/message.js';
import { signMessage } from '../../src/signature/sign.js';
import { buildSignatureBase } from '../../src/signature/signature-base.js';
import { verifyMessage } from '../../src/signature/verify.js';
import { interop } from './vectors.js';

// Interoperability with http-message-signatures 1.0.6 from npm, hmac-sha256 in both directions.
// Where that library departs from RFC 9421, the case carries a `difference` naming the section,
// the signature fails both ways, and Rampart's own base follows the RFC.

type InteropCase = (typeof interop.cases)[number];

const SECRET = Buffer.from(
  'uzvJfB4u3N0Jy4T7NZ75MDVcr8zSTInedJtkgcu46YW4XByzNJjxBdtjUkdJPBtbmHhIDi6pcl8jsasjlTMtDQ==',
  'base64',
);
const KEY_ID = 'interop-key';
const key = hmacKey(SECRET);

function rampartRequest(testCase: InteropCase): SignableRequest {
  const headers: Array<[string, string]> = [...testCase.request.headers];
  if (testCase.digest !== null) {
    headers.push([
      'Content-Digest',
      createContentDigest(Buffer.from(testCase.body ?? '', 'utf8'), [testCase.digest]),
    ]);
  }
  if (testCase.body !== null) {
    headers.push(['Content-Length', String(Buffer.byteLength(testCase.body, 'utf8'))]);
  }
  const { method, scheme, authority, target } = testCase.request;
  return { method, scheme, authority, target, headers };
}

/** Converts a request to the library's shape: an absolute URL and one entry per field name. */
function libraryRequest(request: SignableRequest, extra: HeaderFields = []) {
  const headers: Record<string, string | string[]> = {};
  const names = new Map<string, string>();
  for (const [name, value] of [...request.headers, ...extra]) {
    const existing = names.get(name.toLowerCase());
    if (existing === undefined) {
      names.set(name.toLowerCase(), name);
      headers[name] = value;
    } else {
      const current = headers[existing] as string | string[];
      headers[existing] = [...(Array.isArray(current) ? current : [current]), value];
    }
  }
  return {
    method: request.method,
    url: `${request.scheme}://${request.authority}${request.target}`,
    headers,
  };
}

function headerValue(headers: Record<string, string | string[]>, name: string): string {
  const entry = Object.entries(headers).find(([field]) => field.toLowerCase() === name);
  if (entry === undefined) throw new Error(`library output has no ${name}`);
  return Array.isArray(entry[1]) ? entry[1].join(', ') : entry[1];
}

async function libraryVerifies(request: SignableRequest, fields: HeaderFields): Promise<boolean> {
  const result = await httpbis.verifyMessage(
    {
      keyLookup: async () => ({
        id: KEY_ID,
        algs: ['hmac-sha256'],
        verify: createVerifier(SECRET, 'hmac-sha256'),
      }),
    },
    libraryRequest(request, fields),
  );
  return result === true;
}

async function librarySigns(request: SignableRequest, testCase: InteropCase, now: number) {
  const signed = await httpbis.signMessage(
    {
      key: createSigner(SECRET, 'hmac-sha256', KEY_ID),
      name: 'sig1',
      fields: testCase.components,
      params: ['created', 'expires', 'keyid', 'alg'],
      paramValues: { created: new Date(now * 1000), expires: new Date((now + 30) * 1000) },
    },
    libraryRequest(request),
  );
  const fields: HeaderFields = [
    ['Signature-Input', headerValue(signed.headers, 'signature-input')],
    ['Signature', headerValue(signed.headers, 'signature')],
  ];
  return fields;
}

function rampartVerifies(request: SignableRequest, fields: HeaderFields, now: number) {
  return verifyMessage(
    { ...request, headers: [...request.headers, ...fields] },
    {
      policy: { algorithms: ['hmac-sha256'], requiredComponents: [], requireNonce: false },
      resolveKey: (keyid) => (keyid === KEY_ID ? key : undefined),
      nowSeconds: now,
    },
  );
}

function rampartSigns(request: SignableRequest, testCase: InteropCase, now: number): HeaderFields {
  const signed = signMessage(request, {
    key,
    keyid: KEY_ID,
    label: 'sig1',
    components: testCase.components,
    created: now,
    expiresIn: 30,
  });
  return [
    ['Signature-Input', signed.signatureInput],
    ['Signature', signed.signature],
  ];
}

describe('interoperability with http-message-signatures', () => {
  it('has at least 30 cases where both sides agree', () => {
    expect(interop.cases.filter((entry) => entry.difference === undefined).length).toBeGreaterThan(
      30,
    );
  });

  for (const testCase of interop.cases.filter((entry) => entry.difference === undefined)) {
    const request = rampartRequest(testCase);

    it(`${testCase.id}: Rampart signs, the library verifies (${testCase.title})`, async () => {
      const now = Math.floor(Date.now() / 1000);
      expect(await libraryVerifies(request, rampartSigns(request, testCase, now))).toBe(true);
    });

    it(`${testCase.id}: the library signs, Rampart verifies (${testCase.title})`, async () => {
      const now = Math.floor(Date.now() / 1000);
      const fields = await librarySigns(request, testCase, now);
      expect(rampartVerifies(request, fields, now).label).toBe('sig1');
    });
  }
});

describe('where http-message-signatures departs from RFC 9421', () => {
  for (const testCase of interop.cases.filter((entry) => entry.difference !== undefined)) {
    const request = rampartRequest(testCase);
    const components = testCase.components.map(parseComponentIdentifier);

    // The difference itself is stated in the vector file, next to the case.
    it(`${testCase.id}: Rampart follows the RFC (${testCase.title})`, () => {
      const build = () => buildSignatureBase(request, components, new Map());
      if (testCase.rampartError !== undefined) {
        expect(build).toThrow(expect.objectContaining({ code: testCase.rampartError }));
      } else {
        expect(build().split('\n').slice(0, -1)).toEqual(testCase.rampartBaseLines);
      }
    });

    it(`${testCase.id}: a library signature fails in Rampart`, async () => {
      const now = Math.floor(Date.now() / 1000);
      const fields = await librarySigns(request, testCase, now);
      const verify = () => rampartVerifies(request, fields, now);

      expect(verify).toThrow(RampartError);
      expect(verify).toThrow(
        expect.objectContaining({ code: testCase.rampartError ?? 'signature_invalid' }),
      );
    });

    if (testCase.rampartError === undefined) {
      it(`${testCase.id}: a Rampart signature fails in the library`, async () => {
        const now = Math.floor(Date.now() / 1000);
        expect(await libraryVerifies(request, rampartSigns(request, testCase, now))).toBe(false);
      });
    }
  }
});
