import { randomBytes } from 'node:crypto';

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { RampartError } from '../../src/errors.js';
import { hmacKey } from '../../src/signature/algorithms.js';
import {
  parseAcceptSignature,
  serializeAcceptSignature,
} from '../../src/signature/accept-signature.js';
import { component, componentValue } from '../../src/signature/components.js';
import { checkContentDigest, parseContentDigest } from '../../src/signature/content-digest.js';
import type { HeaderFields, SignableRequest } from '../../src/signature/message.js';
import { signMessage } from '../../src/signature/sign.js';
import { parseSignatures, serializeSignatureParams } from '../../src/signature/signature-input.js';
import { verifyMessage, type VerificationPolicy } from '../../src/signature/verify.js';
import {
  parseWantContentDigest,
  serializeWantContentDigest,
} from '../../src/signature/want-content-digest.js';

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
});

// Strings that reach deep into the structured field grammar, next to plain arbitrary strings.
const FRAGMENTS = [
  'sig1',
  'a',
  '*',
  '=',
  '(',
  ')',
  ' ',
  '  ',
  '\t',
  ',',
  ';',
  '"',
  '\\',
  ':',
  '?',
  '?0',
  '?1',
  '-',
  '0',
  '1',
  '12',
  '1.5',
  '1.0',
  '999999999999999',
  '1234567890123.4',
  '"@method"',
  '"@query-param";name="q"',
  '"content-digest";sf',
  '"x";key="a"',
  'created=1',
  'created',
  'expires',
  'keyid="k"',
  'nonce="n"',
  'alg="hmac-sha256"',
  'tag="t"',
  ':AAAA:',
  ':AA=:',
  ':A:',
  'sha-256',
  'sha-512',
  '@1',
  '%"x"',
  'é',
  '\u0000',
  '\r\n',
  'tok/en:x',
];
// Well-formed dictionaries with component names, parameters and every bare item type, so that
// parsers get past the first character, plus copies with one character replaced.
const sfKey = fc.stringMatching(/^[a-z*][a-z0-9_.*-]{0,5}$/);
const sfString = fc.oneof(
  fc.constantFrom('"@method"', '"@path"', '"@query-param"', '"content-digest"', '""', '"a\\"b"'),
  fc.stringMatching(/^[ !#-[\]-~]{0,8}$/).map((text) => `"${text}"`),
);
const bareItem = fc.oneof(
  fc.integer({ min: -999, max: 2_000_000_000 }).map(String),
  fc.constantFrom('1.5', '-0.25', '12.125', 'tok', '*t/x:y', '?0', '?1'),
  sfString,
  fc.base64String({ maxLength: 12 }).map((encoded) => `:${encoded}:`),
);
const sfParams = fc
  .array(fc.tuple(sfKey, fc.option(bareItem)), { maxLength: 4 })
  .map((params) =>
    params.map(([key, value]) => (value === null ? `;${key}` : `;${key}=${value}`)).join(''),
  );
const sfItem = fc.tuple(bareItem, sfParams).map(([value, params]) => value + params);
const sfInnerList = fc
  .tuple(fc.array(sfItem, { maxLength: 5 }), sfParams)
  .map(([items, params]) => `(${items.join(' ')})${params}`);
// Member keys are often the labels that the Signature field of the properties below carries.
const memberKey = fc.oneof(fc.constantFrom('sig1', 'a', 'sha-256', 'sha-512'), sfKey);
const sfDictionary = fc
  .array(
    fc
      .tuple(memberKey, fc.option(fc.oneof(sfItem, sfInnerList)))
      .map(([key, value]) => (value === null ? key : `${key}=${value}`)),
    { minLength: 1, maxLength: 4 },
  )
  .map((members) => members.join(', '));
const mutatedDictionary = fc
  .tuple(sfDictionary, fc.nat(), fc.string({ unit: 'binary', maxLength: 1 }))
  .map(([text, at, replacement]) => {
    const index = at % (text.length + 1);
    return text.slice(0, index) + replacement + text.slice(index + 1);
  });
const fieldValue = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 120 }),
  fc.string({ maxLength: 120 }),
  fc.array(fc.constantFrom(...FRAGMENTS), { maxLength: 30 }).map((parts) => parts.join('')),
  { arbitrary: sfDictionary, weight: 3 },
  { arbitrary: mutatedDictionary, weight: 3 },
);
const PARSER_RUNS = { numRuns: 10_000 };

function onlyCodedErrors(parse: (value: string) => unknown): fc.IPropertyWithHooks<[string]> {
  return fc.property(fieldValue, (value) => {
    try {
      parse(value);
    } catch (error) {
      expect(error).toBeInstanceOf(RampartError);
    }
  });
}

function withFields(input: string, signature: string): HeaderFields {
  return [
    ['signature-input', input],
    ['signature', signature],
  ];
}

describe('parser properties', () => {
  it('Signature-Input parses or throws a RampartError', () => {
    fc.assert(
      onlyCodedErrors((value) => {
        for (const parsed of parseSignatures(withFields(value, 'sig1=:AAAA:, a=:AAAA:'))) {
          // What parses re-serializes to a value that parses to the same signature.
          const again = `${parsed.label}=${serializeSignatureParams(parsed.components, parsed.rawParams)}`;
          const [reparsed] = parseSignatures(withFields(again, `${parsed.label}=:AAAA:`));
          expect(reparsed?.components).toEqual(parsed.components);
          expect(reparsed?.rawParams).toEqual(parsed.rawParams);
        }
      }),
      PARSER_RUNS,
    );
  });

  it('Signature parses or throws a RampartError', () => {
    fc.assert(
      onlyCodedErrors((value) => parseSignatures(withFields('sig1=("@method")', value))),
      PARSER_RUNS,
    );
  });

  it('Content-Digest parses or throws a RampartError', () => {
    fc.assert(onlyCodedErrors(parseContentDigest), PARSER_RUNS);
  });

  it('Want-Content-Digest parses or throws a RampartError', () => {
    fc.assert(
      onlyCodedErrors((value) => {
        const preferences = parseWantContentDigest(value);
        expect(parseWantContentDigest(serializeWantContentDigest(preferences))).toEqual(
          preferences,
        );
      }),
      PARSER_RUNS,
    );
  });

  it('Accept-Signature parses or throws a RampartError', () => {
    fc.assert(
      onlyCodedErrors((value) => {
        const requests = parseAcceptSignature(value);
        expect(parseAcceptSignature(serializeAcceptSignature(requests))).toEqual(requests);
      }),
      PARSER_RUNS,
    );
  });

  it('Content-Digest checks throw only coded errors for any body', () => {
    fc.assert(
      fc.property(fieldValue, fc.uint8Array({ maxLength: 64 }), (value, body) => {
        try {
          checkContentDigest(value, body);
        } catch (error) {
          expect(error).toBeInstanceOf(RampartError);
        }
      }),
      { numRuns: 2_000 },
    );
  });

  it('verification throws only coded errors for arbitrary signature fields', () => {
    fc.assert(
      fc.property(fieldValue, fieldValue, (input, signature) => {
        const message: SignableRequest = {
          method: 'GET',
          scheme: 'https',
          authority: 'bank.example',
          target: '/a?x=1',
          headers: [...withFields(input, signature), ['x-amount', '1.00']],
        };
        try {
          verify(message);
        } catch (error) {
          expect(error).toBeInstanceOf(RampartError);
        }
      }),
      { numRuns: 2_000 },
    );
  });

  it('@query-param throws only coded errors for arbitrary queries and names', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), fc.string({ maxLength: 12 }), (query, name) => {
        const request: SignableRequest = {
          method: 'GET',
          scheme: 'https',
          authority: 'bank.example',
          target: `/a?${query}`,
          headers: [],
        };
        try {
          componentValue(component('@query-param', { name }), request);
        } catch (error) {
          expect(error).toBeInstanceOf(RampartError);
        }
      }),
      { numRuns: 2_000 },
    );
  });
});
