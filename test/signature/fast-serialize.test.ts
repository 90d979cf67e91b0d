import fc from 'fast-check';
import {
  serializeItem,
  serializeParameters,
  type BareItem,
  type Parameters,
} from 'structured-headers';
import { describe, expect, it } from 'vitest';

import {
  serializeParametersFast,
  serializeStringItemFast,
  serializeStringFast,
} from '../../src/signature/fast-serialize.js';

// Printable ASCII, the only strings RFC 8941 can serialize, with quotes and backslashes common.
const sfString = fc.string({
  unit: fc.constantFrom(...' !"#\\az09-_.:;/@'.split('')),
  maxLength: 20,
});
const paramKey = fc.stringMatching(/^[a-z*][a-z0-9_\-.*]{0,8}$/);
const paramValue: fc.Arbitrary<BareItem> = fc.oneof(
  fc.constant(true),
  fc.integer({ min: -999_999_999_999_999, max: 999_999_999_999_999 }),
  sfString,
);
const params = fc
  .uniqueArray(fc.tuple(paramKey, paramValue), { selector: ([key]) => key, maxLength: 6 })
  .map((entries) => new Map(entries) as Parameters);

describe('fast structured field serialization', () => {
  it('serializes strings exactly as structured-headers', () => {
    fc.assert(
      fc.property(sfString, (value) => {
        expect(serializeStringFast(value)).toBe(serializeItem(value));
      }),
      { numRuns: 10_000 },
    );
  });

  it('serializes parameters exactly as structured-headers', () => {
    fc.assert(
      fc.property(params, (value) => {
        expect(serializeParametersFast(value)).toBe(serializeParameters(value));
      }),
      { numRuns: 10_000 },
    );
  });

  it('serializes string items exactly as structured-headers', () => {
    fc.assert(
      fc.property(sfString, params, (name, value) => {
        expect(serializeStringItemFast(name, value)).toBe(serializeItem(name, value));
      }),
      { numRuns: 10_000 },
    );
  });
});
