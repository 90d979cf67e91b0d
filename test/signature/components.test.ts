import { describe, expect, it } from 'vitest';

import { RampartError } from '../../src/errors.js';
import {
  component,
  componentKey,
  componentValue,
  parseComponentIdentifier,
  serializeComponent,
} from '../../src/signature/components.js';
import { canonicalFieldLine, combinedFieldValue } from '../../src/signature/message.js';
import { formUrlEncode, parseFormUrlEncoded } from '../../src/signature/query-param.js';
import { buildSignatureBase } from '../../src/signature/signature-base.js';
import {
  canonicalization,
  caseMessage,
  rfcComponents,
  type ComponentCase,
  type VectorMessage,
} from './vectors.js';

function runCase(testCase: ComponentCase, messages: Record<string, VectorMessage> = {}): void {
  const message = caseMessage(testCase, messages);
  const components = testCase.components.map(parseComponentIdentifier);
  const build = () =>
    buildSignatureBase(message, components, new Map(), {
      structuredFields: testCase.structuredFields,
    });

  if (testCase.error !== undefined) {
    expect(build).toThrow(RampartError);
    expect(build).toThrow(expect.objectContaining({ code: testCase.error }));
    return;
  }
  const lines = build().split('\n');
  expect(lines.slice(0, -1)).toEqual(testCase.baseLines);
  expect(lines.at(-1)).toBe(`"@signature-params": (${testCase.components.join(' ')})`);
}

describe('RFC 9421 section 2 component examples', () => {
  for (const testCase of rfcComponents.cases) {
    it(`${testCase.id}: ${testCase.title}`, () => runCase(testCase, rfcComponents.messages));
  }
});

describe('canonicalization cases', () => {
  for (const testCase of canonicalization.cases) {
    it(`${testCase.id}: ${testCase.title}`, () => runCase(testCase));
  }
});

describe('component identifiers', () => {
  it('parses a serialized identifier with parameters', () => {
    const id = parseComponentIdentifier('"@query-param";name="Pet";req');

    expect(id.name).toBe('@query-param');
    expect([...id.params]).toEqual([
      ['name', 'Pet'],
      ['req', true],
    ]);
    expect(serializeComponent(id)).toBe('"@query-param";name="Pet";req');
  });

  it('treats a bare name as a name without parameters', () => {
    expect(parseComponentIdentifier('content-digest')).toEqual(component('content-digest'));
  });

  it('rejects a quoted identifier that does not parse', () => {
    expect(() => parseComponentIdentifier('"@method')).toThrow(TypeError);
  });

  it('compares identifiers without regard to parameter order', () => {
    const a = component('example-dict', { key: 'a', req: true });
    const b = component('example-dict', { req: true, key: 'a' });

    expect(componentKey(a)).toBe(componentKey(b));
    expect(componentKey(a)).not.toBe(componentKey(component('example-dict', { key: 'b' })));
  });
});

describe('field canonicalization', () => {
  it('replaces obsolete line folding with one space', () => {
    expect(canonicalFieldLine('a \r\n \t b')).toBe('a b');
    expect(canonicalFieldLine('a\n\tb\n c')).toBe('a b c');
  });

  it('keeps a newline that is not line folding', () => {
    expect(canonicalFieldLine('a\nb')).toBe('a\nb');
  });

  it('trims only spaces and tabs', () => {
    expect(canonicalFieldLine(' \t\u00a0x\u00a0 ')).toBe('\u00a0x\u00a0');
  });

  it('runs in linear time on long runs of whitespace', () => {
    const value = `${' '.repeat(200_000)}x${' \t'.repeat(200_000)}`;
    const started = performance.now();

    expect(canonicalFieldLine(value)).toBe('x');
    expect(performance.now() - started).toBeLessThan(500);
  });

  it('returns undefined for an absent field', () => {
    expect(combinedFieldValue([['a', '1']], 'b')).toBeUndefined();
  });
});

describe('application/x-www-form-urlencoded helpers', () => {
  it('parses names and values as the WHATWG URL Standard does', () => {
    expect(parseFormUrlEncoded('a=1&&b=x+y&c&=v&d=%zz&e=%41')).toEqual([
      ['a', '1'],
      ['b', 'x y'],
      ['c', ''],
      ['', 'v'],
      ['d', '%zz'],
      ['e', 'A'],
    ]);
  });

  it('encodes every byte outside A-Z a-z 0-9 * - . _', () => {
    expect(formUrlEncode(' !"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~')).toBe(
      '%20%21%22%23%24%25%26%27%28%29*%2B%2C-.%2F%3A%3B%3C%3D%3E%3F%40%5B%5C%5D%5E_%60%7B%7C%7D%7E',
    );
    expect(formUrlEncode('façade ✓')).toBe('fa%C3%A7ade%20%E2%9C%93');
  });

  it('agrees with URLSearchParams when the query has no leading ?', () => {
    const query = 'a=1&b=%E2%9C%93&c=x+y&d=%FF&e';
    expect(parseFormUrlEncoded(query)).toEqual([...new URLSearchParams(query)]);
  });

  it('computes @query-param through componentValue', () => {
    const request = {
      method: 'GET',
      scheme: 'https',
      authority: 'api.example',
      target: '/s?q=a+b',
      headers: [],
    };
    expect(componentValue(component('@query-param', { name: 'q' }), request)).toBe('a%20b');
  });
});
