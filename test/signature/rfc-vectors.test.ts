import { createPrivateKey, createPublicKey } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import { hmacKey } from '../../src/signature/algorithms.js';
import { checkContentDigest, createContentDigest } from '../../src/signature/content-digest.js';
import { fieldsFromRecord, type SignableRequest } from '../../src/signature/message.js';
import { signMessage } from '../../src/signature/sign.js';
import { verifyMessage } from '../../src/signature/verify.js';

// RFC 9421 appendix B.1.5: the shared secret "test-shared-secret", 64 bytes in base64.
const TEST_SHARED_SECRET = Buffer.from(
  'uzvJfB4u3N0Jy4T7NZ75MDVcr8zSTInedJtkgcu46YW4XByzNJjxBdtjUkdJPBtbmHhIDi6pcl8jsasjlTMtDQ==',
  'base64',
);

// RFC 9421 appendix B.1.4: test-key-ed25519.
const ED25519_PRIVATE = `-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIJ+DYvh6SEqVTm50DFtMDoQikTmiCqirVv9mWG9qfSnF
-----END PRIVATE KEY-----`;
const ED25519_PUBLIC = `-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAJrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D0bs=
-----END PUBLIC KEY-----`;

// RFC 9421 appendix B.2: the test request.
const TEST_REQUEST: SignableRequest = {
  method: 'POST',
  scheme: 'https',
  authority: 'example.com',
  target: '/foo?param=Value&Pet=dog',
  headers: fieldsFromRecord({
    host: 'example.com',
    date: 'Tue, 20 Apr 2021 02:07:55 GMT',
    'content-type': 'application/json',
    'content-digest':
      'sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:',
    'content-length': '18',
  }),
};
const TEST_BODY = Buffer.from('{"hello": "world"}');

describe('RFC 9421 appendix B vectors', () => {
  it('reproduces B.2.5 hmac-sha256 base and signature', () => {
    const signed = signMessage(TEST_REQUEST, {
      key: hmacKey(TEST_SHARED_SECRET),
      keyid: 'test-shared-secret',
      label: 'sig-b25',
      components: ['date', '@authority', 'content-type'],
      created: 1618884473,
      includeAlg: false,
    });

    expect(signed.base).toBe(
      [
        '"date": Tue, 20 Apr 2021 02:07:55 GMT',
        '"@authority": example.com',
        '"content-type": application/json',
        '"@signature-params": ("date" "@authority" "content-type");created=1618884473;keyid="test-shared-secret"',
      ].join('\n'),
    );
    expect(signed.signatureInput).toBe(
      'sig-b25=("date" "@authority" "content-type");created=1618884473;keyid="test-shared-secret"',
    );
    expect(signed.signature).toBe('sig-b25=:pxcQw6G3AjtMBQjwo8XzkZf/bws5LelbaMk5rGIGtE8=:');
  });

  it('verifies the published B.2.5 signature', () => {
    const request: SignableRequest = {
      ...TEST_REQUEST,
      headers: [
        ...TEST_REQUEST.headers,
        [
          'signature-input',
          'sig-b25=("date" "@authority" "content-type");created=1618884473;keyid="test-shared-secret"',
        ],
        ['signature', 'sig-b25=:pxcQw6G3AjtMBQjwo8XzkZf/bws5LelbaMk5rGIGtE8=:'],
      ],
    };

    const parsed = verifyMessage(request, {
      policy: {
        algorithms: ['hmac-sha256'],
        requiredComponents: ['@authority'],
        requireExpires: false,
        requireNonce: false,
        maxAgeSeconds: 60,
      },
      resolveKey: (keyid) =>
        keyid === 'test-shared-secret' ? hmacKey(TEST_SHARED_SECRET) : undefined,
      nowSeconds: 1618884480,
    });

    expect(parsed.label).toBe('sig-b25');
  });

  it('reproduces B.2.6 ed25519 signature', () => {
    const signed = signMessage(TEST_REQUEST, {
      key: {
        algorithm: 'ed25519',
        privateKey: createPrivateKey(ED25519_PRIVATE),
        publicKey: createPublicKey(ED25519_PUBLIC),
      },
      keyid: 'test-key-ed25519',
      label: 'sig-b26',
      components: ['date', '@method', '@path', '@authority', 'content-type', 'content-length'],
      created: 1618884473,
      includeAlg: false,
    });

    expect(signed.signature).toBe(
      'sig-b26=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==:',
    );
  });

  it('derives @target-uri, @scheme, @request-target and @query as in section 2.2', () => {
    const signed = signMessage(
      {
        method: 'POST',
        scheme: 'https',
        authority: 'WWW.Example.com:443',
        target: '/path?param=value',
        headers: [],
      },
      {
        key: hmacKey(TEST_SHARED_SECRET),
        keyid: 'k',
        components: ['@target-uri', '@authority', '@scheme', '@request-target', '@path', '@query'],
        created: 1,
        includeAlg: false,
      },
    );

    expect(signed.base.split('\n').slice(0, 6)).toEqual([
      '"@target-uri": https://www.example.com/path?param=value',
      '"@authority": www.example.com',
      '"@scheme": https',
      '"@request-target": /path?param=value',
      '"@path": /path',
      '"@query": ?param=value',
    ]);
  });

  it('uses a lone ? for an absent query', () => {
    const signed = signMessage(
      { method: 'GET', scheme: 'http', authority: 'example.com', target: '/path', headers: [] },
      { key: hmacKey(TEST_SHARED_SECRET), keyid: 'k', components: ['@query'], created: 1 },
    );

    expect(signed.base.split('\n')[0]).toBe('"@query": ?');
  });

  it('combines repeated field lines as section 2.1 says', () => {
    const signed = signMessage(
      {
        method: 'GET',
        scheme: 'http',
        authority: 'example.com',
        target: '/',
        headers: [
          ['X-OWS-Header', '   Leading and trailing whitespace.   '],
          ['X-Obs-Fold-Header', 'Obsolete\n    line folding.'],
          ['Example-Dict', ' a=1,    b=2;x=1;y=2,   c=(a   b   c)'],
          ['Example-Dict', ' d'],
          ['X-Empty-Header', ''],
        ],
      },
      {
        key: hmacKey(TEST_SHARED_SECRET),
        keyid: 'k',
        components: ['x-ows-header', 'x-obs-fold-header', 'example-dict', 'x-empty-header'],
        created: 1,
      },
    );

    expect(signed.base.split('\n').slice(0, 4)).toEqual([
      '"x-ows-header": Leading and trailing whitespace.',
      '"x-obs-fold-header": Obsolete line folding.',
      '"example-dict": a=1,    b=2;x=1;y=2,   c=(a   b   c), d',
      '"x-empty-header": ',
    ]);
  });
});

describe('RFC 9530 Content-Digest', () => {
  it('matches the section 2 examples for sha-256 and sha-512', () => {
    expect(createContentDigest(TEST_BODY, ['sha-256'])).toBe(
      'sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:',
    );
    expect(createContentDigest(TEST_BODY, ['sha-512'])).toBe(
      'sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:',
    );
  });

  it('accepts a matching digest and ignores unknown algorithms', () => {
    expect(() =>
      checkContentDigest(
        `unixsum=30637, ${createContentDigest(TEST_BODY, ['sha-512'])}`,
        TEST_BODY,
      ),
    ).not.toThrow();
  });

  it('tells an empty body from another body', () => {
    const empty = createContentDigest(new Uint8Array(0));
    expect(empty).toBe('sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:');
    expect(() => checkContentDigest(empty, Buffer.from(' '))).toThrow(
      expect.objectContaining({ code: 'digest_mismatch' }),
    );
  });

  it('rejects when any supported digest does not match', () => {
    const mixed = `${createContentDigest(TEST_BODY, ['sha-256'])}, ${createContentDigest(Buffer.from('other'), ['sha-512'])}`;
    expect(() => checkContentDigest(mixed, TEST_BODY)).toThrow(
      expect.objectContaining({ code: 'digest_mismatch' }),
    );
  });
});
