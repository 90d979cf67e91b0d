import {
  constants,
  createPrivateKey,
  createPublicKey,
  verify as cryptoVerify,
  type KeyObject,
} from 'node:crypto';

import { describe, expect, it } from 'vitest';

import { hmacKey, type SignatureKey } from '../../src/signature/algorithms.js';
import { checkContentDigest, createContentDigest } from '../../src/signature/content-digest.js';
import type { SignableRequest, SignableResponse } from '../../src/signature/message.js';
import { signMessage } from '../../src/signature/sign.js';
import { buildSignatureBase } from '../../src/signature/signature-base.js';
import { parseSignature, type ParsedSignature } from '../../src/signature/signature-input.js';
import { checkParsedSignature, verifyMessage } from '../../src/signature/verify.js';
import {
  parseWantContentDigest,
  selectDigestAlgorithm,
} from '../../src/signature/want-content-digest.js';
import { appendixB, digests, toSignable } from './vectors.js';

type AppendixCase = (typeof appendixB.cases)[number];

function keyEntry(name: string) {
  const entry = appendixB.keys[name];
  if (entry === undefined) throw new Error(`unknown vector key ${name}`);
  return entry;
}

/** Builds the Rampart key for the two algorithms Rampart implements. */
function rampartKey(name: string): SignatureKey {
  const entry = keyEntry(name);
  if (entry.algorithm === 'hmac-sha256') {
    return hmacKey(Buffer.from(entry.secretBase64 ?? '', 'base64'));
  }
  if (entry.algorithm === 'ed25519') {
    return {
      algorithm: 'ed25519',
      privateKey: createPrivateKey(entry.privateKeyPem ?? ''),
      publicKey: createPublicKey(entry.publicKeyPem ?? ''),
    };
  }
  throw new Error(`Rampart does not implement ${entry.algorithm}`);
}

function labelOf(testCase: AppendixCase): string {
  return testCase.signatureInput.slice(0, testCase.signatureInput.indexOf('='));
}

/** Returns the vector message with the case's Signature-Input and Signature fields added. */
function signedMessage(testCase: AppendixCase): SignableRequest | SignableResponse {
  const message = appendixB.messages[testCase.message];
  if (message === undefined) throw new Error(`unknown vector message ${testCase.message}`);
  const signable = toSignable(message, appendixB.messages);
  return {
    ...signable,
    headers: [
      ...signable.headers,
      ['Signature-Input', testCase.signatureInput],
      ['Signature', testCase.signature],
    ],
  };
}

/** RSA-PSS and ECDSA are checked with node:crypto directly; Rampart does not implement them. */
function verifyWithNodeCrypto(
  algorithm: string,
  publicKey: KeyObject,
  base: string,
  signature: Uint8Array,
): boolean {
  const data = Buffer.from(base, 'ascii');
  if (algorithm === 'rsa-pss-sha512') {
    return cryptoVerify(
      'sha512',
      data,
      { key: publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 64 },
      signature,
    );
  }
  if (algorithm === 'ecdsa-p256-sha256') {
    return cryptoVerify('sha256', data, { key: publicKey, dsaEncoding: 'ieee-p1363' }, signature);
  }
  throw new Error(`no node:crypto check for ${algorithm}`);
}

describe('RFC 9421 appendix B vectors', () => {
  for (const testCase of appendixB.cases) {
    const name = `${testCase.id} ${testCase.title}`;
    const message = signedMessage(testCase);
    const parsed: ParsedSignature = parseSignature(message.headers, { label: labelOf(testCase) });
    const base = buildSignatureBase(message, parsed.components, parsed.rawParams);

    if (testCase.base !== null) {
      it(`${name}: reproduces the signature base`, () => {
        expect(base).toBe(testCase.base);
      });
    }

    const algorithm = keyEntry(testCase.key).algorithm;
    it(`${name}: ${testCase.valid ? 'verifies' : 'rejects'} the published signature`, () => {
      if (algorithm === 'hmac-sha256' || algorithm === 'ed25519') {
        const check = () => checkParsedSignature(message, parsed, rampartKey(testCase.key));
        if (testCase.valid) expect(check).not.toThrow();
        else expect(check).toThrow(expect.objectContaining({ code: 'signature_invalid' }));
      } else {
        const publicKey = createPublicKey(keyEntry(testCase.key).publicKeyPem ?? '');
        const valid = verifyWithNodeCrypto(algorithm, publicKey, base, parsed.signature);
        expect(valid).toBe(testCase.valid);
      }
    });

    if (testCase.deterministic && testCase.valid) {
      it(`${name}: signs to the published Signature-Input and Signature`, () => {
        const signed = signMessage(toSignable(appendixB.messages[testCase.message]!), {
          key: rampartKey(testCase.key),
          keyid: parsed.params.keyid ?? '',
          label: parsed.label,
          components: parsed.components,
          created: parsed.params.created,
          includeAlg: false,
        });

        expect(signed.base).toBe(testCase.base);
        expect(signed.signatureInput).toBe(testCase.signatureInput);
        expect(signed.signature).toBe(testCase.signature);
      });
    }
  }

  it('verifies B.2.5 end to end with verifyMessage', () => {
    const testCase = appendixB.cases.find((entry) => entry.id === 'B.2.5')!;

    const parsed = verifyMessage(signedMessage(testCase), {
      policy: {
        algorithms: ['hmac-sha256'],
        requiredComponents: ['@authority', '"date"'],
        requireExpires: false,
        requireNonce: false,
      },
      resolveKey: (keyid) => (keyid === 'test-shared-secret' ? rampartKey(keyid) : undefined),
      nowSeconds: 1618884480,
    });

    expect(parsed.label).toBe('sig-b25');
  });

  it('verifies B.2.6 end to end with verifyMessage', () => {
    const testCase = appendixB.cases.find((entry) => entry.id === 'B.2.6')!;

    const parsed = verifyMessage(signedMessage(testCase), {
      policy: {
        algorithms: ['ed25519'],
        requiredComponents: ['@method', '@path', '@authority'],
        requireExpires: false,
        requireNonce: false,
      },
      resolveKey: (keyid) => (keyid === 'test-key-ed25519' ? rampartKey(keyid) : undefined),
      nowSeconds: 1618884480,
    });

    expect(parsed.label).toBe('sig-b26');
  });

  it('finds each test message digest matching its body', () => {
    for (const name of ['test-request', 'test-response', 'busy-response']) {
      const message = appendixB.messages[name]!;
      const digest = message.headers.find(([field]) => field === 'Content-Digest')![1];
      expect(() => checkContentDigest(digest, Buffer.from(message.body ?? ''))).not.toThrow();
    }
  });
});

describe('RFC 9530 digest vectors', () => {
  for (const testCase of digests.digests) {
    const body =
      testCase.bodyBase64 === undefined
        ? Buffer.from(testCase.body ?? '', 'utf8')
        : Buffer.from(testCase.bodyBase64, 'base64');

    it(`${testCase.id} ${testCase.title}: computes the published digest`, () => {
      expect(createContentDigest(body, [testCase.algorithm])).toBe(testCase.fieldValue);
    });

    it(`${testCase.id} ${testCase.title}: accepts the published digest`, () => {
      expect(() => checkContentDigest(testCase.fieldValue, body)).not.toThrow();
    });
  }

  it('rejects a digest of other content', () => {
    const empty = digests.digests.find((entry) => entry.id === 'empty-content')!;
    expect(() => checkContentDigest(empty.fieldValue, Buffer.from(' '))).toThrow(
      expect.objectContaining({ code: 'digest_mismatch' }),
    );
  });

  it('rejects when any supported digest does not match', () => {
    const body = Buffer.from('{"hello": "world"}');
    const mixed = `${createContentDigest(body, ['sha-256'])}, ${createContentDigest(Buffer.from('other'), ['sha-512'])}`;
    expect(() => checkContentDigest(mixed, body)).toThrow(
      expect.objectContaining({ code: 'digest_mismatch' }),
    );
  });

  it('ignores algorithms it does not implement', () => {
    const body = Buffer.from('{"hello": "world"}');
    const value = `unixsum=:AAB3rQ==:, ${createContentDigest(body, ['sha-512'])}`;
    expect(() => checkContentDigest(value, body)).not.toThrow();
  });

  for (const testCase of digests.wantContentDigest) {
    it(`Want-Content-Digest ${testCase.id}: parses and selects an algorithm`, () => {
      const preferences = parseWantContentDigest(testCase.fieldValue);

      expect(preferences).toEqual(testCase.preferences);
      expect(selectDigestAlgorithm(preferences) ?? null).toBe(testCase.selected);
    });
  }
});
