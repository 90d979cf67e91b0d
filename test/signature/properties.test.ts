import { randomBytes } from 'node:crypto';

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { RampartError } from '../../src/errors.js';
import { hmacKey } from '../../src/signature/algorithms.js';
import { checkContentDigest } from '../../src/signature/content-digest.js';
import type { SignableRequest } from '../../src/signature/message.js';
import { signMessage } from '../../src/signature/sign.js';
import { verifyMessage, type VerificationPolicy } from '../../src/signature/verify.js';

const key = hmacKey(randomBytes(32));
const NOW = 1_800_000_000;
const POLICY: VerificationPolicy = {
  algorithms: ['hmac-sha256'],
  requiredComponents: ['@method', '@authority', '@path', '@query', 'x-amount'],
};

const segment = fc.stringMatching(/^[A-Za-z0-9._~-]{1,12}$/);
const requestArbitrary = fc.record({
  method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH'),
  authority: fc.constantFrom('bank.example', 'bank.example:8443', '127.0.0.1:8080'),
  path: fc.array(segment, { minLength: 1, maxLength: 4 }).map((parts) => `/${parts.join('/')}`),
  query: fc.option(fc.stringMatching(/^[A-Za-z0-9=&%+._-]{0,20}$/), { nil: undefined }),
  amount: fc.stringMatching(/^[0-9]{1,6}\.[0-9]{2}$/),
});

type RequestSpec = typeof requestArbitrary extends fc.Arbitrary<infer T> ? T : never;

function toMessage(spec: RequestSpec): SignableRequest {
  return {
    method: spec.method,
    scheme: 'https',
    authority: spec.authority,
    target: spec.query === undefined ? spec.path : `${spec.path}?${spec.query}`,
    headers: [['x-amount', spec.amount]],
  };
}

function signed(message: SignableRequest): SignableRequest {
  const fields = signMessage(message, {
    key,
    keyid: 'session-1',
    components: ['@method', '@authority', '@path', '@query', 'x-amount'],
    created: NOW,
    expiresIn: 30,
    nonce: true,
  });
  return {
    ...message,
    headers: [
      ...message.headers,
      ['signature-input', fields.signatureInput],
      ['signature', fields.signature],
    ],
  };
}

function verify(message: SignableRequest): unknown {
  return verifyMessage(message, { policy: POLICY, resolveKey: () => key, nowSeconds: NOW + 1 });
}

describe('signature properties', () => {
  it('verifies every request it signed', () => {
    fc.assert(
      fc.property(requestArbitrary, (spec) => {
        expect(() => verify(signed(toMessage(spec)))).not.toThrow();
      }),
      { numRuns: 300 },
    );
  });

  it('rejects any change to a covered component', () => {
    fc.assert(
      fc.property(
        requestArbitrary,
        fc.constantFrom('method', 'authority', 'target', 'amount'),
        (spec, part) => {
          const message = signed(toMessage(spec));
          const changed = { ...message, headers: [...message.headers] };
          if (part === 'method') changed.method = message.method === 'GET' ? 'POST' : 'GET';
          if (part === 'authority') changed.authority = `x${message.authority}`;
          if (part === 'target')
            changed.target = `${message.target}${message.target.includes('?') ? '&' : '?'}x=1`;
          if (part === 'amount') changed.headers[0] = ['x-amount', `1${spec.amount}`];

          expect(() => verify(changed)).toThrow(
            expect.objectContaining({ code: 'signature_invalid' }),
          );
        },
      ),
      { numRuns: 300 },
    );
  });

  it('throws only coded errors for arbitrary signature headers', () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 200 }),
        fc.string({ maxLength: 200 }),
        (input, signature) => {
          const message: SignableRequest = {
            method: 'GET',
            scheme: 'https',
            authority: 'bank.example',
            target: '/a',
            headers: [
              ['signature-input', input],
              ['signature', signature],
              ['x-amount', '1.00'],
            ],
          };
          try {
            verify(message);
          } catch (error) {
            expect(error).toBeInstanceOf(RampartError);
          }
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('throws only coded errors for arbitrary Content-Digest values', () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 200 }),
        fc.uint8Array({ maxLength: 64 }),
        (value, body) => {
          try {
            checkContentDigest(value, body);
          } catch (error) {
            expect(error).toBeInstanceOf(RampartError);
          }
        },
      ),
      { numRuns: 1000 },
    );
  });
});
