import { randomBytes } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import { RampartError } from '../../src/errors.js';
import {
  parseAcceptSignature,
  serializeAcceptSignature,
} from '../../src/signature/accept-signature.js';
import { hmacKey } from '../../src/signature/algorithms.js';
import { component } from '../../src/signature/components.js';
import { parseContentDigest } from '../../src/signature/content-digest.js';
import type { HeaderFields, SignableRequest } from '../../src/signature/message.js';
import { signMessage } from '../../src/signature/sign.js';
import {
  MAX_FIELD_LENGTH,
  parseSignature,
  parseSignatures,
} from '../../src/signature/signature-input.js';
import { verifyMessage } from '../../src/signature/verify.js';
import {
  parseWantContentDigest,
  serializeWantContentDigest,
} from '../../src/signature/want-content-digest.js';
import { parsers, type ParserCase } from './vectors.js';

const VALID_INPUT = 'sig1=("@method");created=1;keyid="k"';
const VALID_SIGNATURE = 'sig1=:AAAA:';

function withSignatureFields(input: string, signature: string): HeaderFields {
  return [
    ['Signature-Input', input],
    ['Signature', signature],
  ];
}

const PARSERS: Record<keyof typeof parsers, (value: string) => unknown> = {
  signatureInput: (value) => parseSignatures(withSignatureFields(value, VALID_SIGNATURE)),
  signature: (value) => parseSignature(withSignatureFields(VALID_INPUT, value)),
  contentDigest: parseContentDigest,
  wantContentDigest: parseWantContentDigest,
  acceptSignature: parseAcceptSignature,
};

describe('parser vectors', () => {
  for (const [field, parse] of Object.entries(PARSERS) as Array<
    [keyof typeof parsers, (value: string) => unknown]
  >) {
    for (const testCase of parsers[field] as ParserCase[]) {
      const label = `${field}: ${testCase.title ?? testCase.value}`;
      if (testCase.error === undefined) {
        it(`${label} parses`, () => {
          expect(() => parse(testCase.value)).not.toThrow();
        });
      } else {
        it(`${label} fails with ${testCase.error}`, () => {
          expect(() => parse(testCase.value)).toThrow(RampartError);
          expect(() => parse(testCase.value)).toThrow(
            expect.objectContaining({ code: testCase.error }),
          );
        });
      }
    }
  }

  it('rejects every field longer than the limit before parsing', () => {
    const long = `a=${'1'.repeat(MAX_FIELD_LENGTH)}`;
    const codes = [
      ['signatureInput', 'signature_malformed'],
      ['signature', 'signature_malformed'],
      ['contentDigest', 'digest_malformed'],
      ['wantContentDigest', 'want_content_digest_malformed'],
      ['acceptSignature', 'accept_signature_malformed'],
    ] as const;
    for (const [field, code] of codes) {
      expect(() => PARSERS[field](long)).toThrow(expect.objectContaining({ code }));
    }
  });
});

describe('Accept-Signature', () => {
  it('reads the RFC 9421 section 5.1 example', () => {
    const [request, ...rest] = parseAcceptSignature(
      'sig1=("@method" "@target-uri" "@authority" "content-digest" "cache-control");keyid="test-key-rsa-pss";created;tag="app-123"',
    );

    expect(rest).toEqual([]);
    expect(request?.label).toBe('sig1');
    expect(request?.components.map((id) => id.name)).toEqual([
      '@method',
      '@target-uri',
      '@authority',
      'content-digest',
      'cache-control',
    ]);
    expect(request?.created).toBe(true);
    expect(request?.expires).toBe(false);
    expect(request?.keyid).toBe('test-key-rsa-pss');
    expect(request?.tag).toBe('app-123');
    expect(request?.nonce).toBeUndefined();
  });

  it('round-trips several requests with component parameters', () => {
    const value =
      'a=("@method" "@query-param";name="id" "example-dict";key="k");created;expires;nonce="n-1";alg="hmac-sha256";keyid="s1";tag="t", b=()';

    const requests = parseAcceptSignature(value);

    expect(requests).toHaveLength(2);
    expect(serializeAcceptSignature(requests)).toBe(value);
  });

  it('signs what a request asks for', () => {
    const [request] = parseAcceptSignature('resp=("@status" "content-type");created;keyid="k1"');
    const signed = signMessage(
      { status: 200, headers: [['Content-Type', 'application/json']] },
      {
        key: hmacKey(randomBytes(32)),
        keyid: request!.keyid!,
        label: request!.label,
        components: request!.components,
        created: 1_700_000_000,
        includeAlg: false,
      },
    );

    expect(signed.signatureInput).toBe(
      'resp=("@status" "content-type");created=1700000000;keyid="k1"',
    );
  });

  it('rejects a label that is not a key', () => {
    expect(() =>
      serializeAcceptSignature([
        { label: 'Upper', components: [component('@method')], created: false, expires: false },
      ]),
    ).toThrow(TypeError);
  });
});

describe('Want-Content-Digest', () => {
  it('serializes preferences in order', () => {
    expect(
      serializeWantContentDigest([
        { algorithm: 'sha-512', weight: 3 },
        { algorithm: 'sha-256', weight: 10 },
      ]),
    ).toBe('sha-512=3, sha-256=10');
  });

  it('rejects a weight out of range when serializing', () => {
    expect(() => serializeWantContentDigest([{ algorithm: 'sha-256', weight: 11 }])).toThrow(
      TypeError,
    );
  });

  it('ignores member parameters', () => {
    expect(parseWantContentDigest('sha-256=5;x=1')).toEqual([{ algorithm: 'sha-256', weight: 5 }]);
  });
});

describe('several signatures in one message', () => {
  const NOW = 1_800_000_000;
  const clientKey = hmacKey(randomBytes(32));
  const proxyKey = hmacKey(randomBytes(32));
  const keys = new Map([
    ['client', clientKey],
    ['proxy', proxyKey],
  ]);
  const request: SignableRequest = {
    method: 'POST',
    scheme: 'https',
    authority: 'api.example',
    target: '/transfers?id=7',
    headers: [['Content-Type', 'application/json']],
  };

  function doublySigned(): SignableRequest {
    const client = signMessage(request, {
      key: clientKey,
      keyid: 'client',
      label: 'client',
      components: ['@method', '@authority', '@path', '"@query-param";name="id"'],
      created: NOW,
      expiresIn: 30,
      tag: 'app',
    });
    const withClient: SignableRequest = {
      ...request,
      headers: [
        ...request.headers,
        ['Signature-Input', client.signatureInput],
        ['Signature', client.signature],
      ],
    };
    // The proxy covers the client's signature by its dictionary key (RFC 9421 section 4.3).
    const proxy = signMessage(withClient, {
      key: proxyKey,
      keyid: 'proxy',
      label: 'proxy',
      components: ['"signature";key="client"', '@authority'],
      created: NOW,
      expiresIn: 30,
      tag: 'proxy',
    });
    return {
      ...withClient,
      headers: [
        ...withClient.headers,
        ['Signature-Input', proxy.signatureInput],
        ['Signature', proxy.signature],
      ],
    };
  }

  function verifyLabel(message: SignableRequest, label: string) {
    return verifyMessage(message, {
      policy: {
        algorithms: ['hmac-sha256'],
        requiredComponents: ['@authority'],
        requireNonce: false,
        selector: { label },
      },
      resolveKey: (keyid) => keys.get(keyid),
      nowSeconds: NOW + 1,
    });
  }

  it('lists every signature in field order', () => {
    expect(parseSignatures(doublySigned().headers).map((parsed) => parsed.label)).toEqual([
      'client',
      'proxy',
    ]);
  });

  it('verifies each signature selected by label', () => {
    const message = doublySigned();

    expect(verifyLabel(message, 'client').params.keyid).toBe('client');
    expect(verifyLabel(message, 'proxy').params.keyid).toBe('proxy');
  });

  it('selects by tag when no label is given', () => {
    expect(parseSignature(doublySigned().headers, { tag: 'proxy' }).label).toBe('proxy');
  });

  it('rejects an unlabelled selection among several signatures', () => {
    expect(() => parseSignature(doublySigned().headers)).toThrow(
      expect.objectContaining({ code: 'signature_malformed' }),
    );
  });

  it('rejects a label that is not present', () => {
    expect(() => parseSignature(doublySigned().headers, { label: 'other' })).toThrow(
      expect.objectContaining({ code: 'signature_missing' }),
    );
  });

  it('fails the proxy signature when the client signature changes', () => {
    const message = doublySigned();
    const tampered: SignableRequest = {
      ...message,
      headers: message.headers.map(([name, value]): [string, string] =>
        name === 'Signature' && value.startsWith('client=')
          ? [
              name,
              value.replace(/client=:[^:]+:/, `client=:${randomBytes(32).toString('base64')}:`),
            ]
          : [name, value],
      ),
    };

    expect(() => verifyLabel(tampered, 'proxy')).toThrow(
      expect.objectContaining({ code: 'signature_invalid' }),
    );
    expect(() => verifyLabel(tampered, 'client')).toThrow(
      expect.objectContaining({ code: 'signature_invalid' }),
    );
  });
});
