import {
  Token,
  type BareItem,
  type Dictionary,
  type InnerList,
  type Item,
  type List,
  type Parameters,
} from 'structured-headers';

import { RampartError, type ErrorCode } from '../errors.js';

// Why a parser of our own, while serialization and the value types still come from
// structured-headers 2.1: that library's parser returns a JavaScript number for both Integer
// and Decimal, so `created=1.0` would pass where RFC 9421 demands an Integer and a signed
// header could be rewritten without breaking the signature; it also accepts the RFC 9651 Date
// and Display String, which RFC 9421 (built on RFC 8941) does not allow, and it cannot reject
// a duplicate dictionary key. The tests run it against the RFC 8941 rules and fuzz it.

/**
 * Maximum length, in characters, of any structured field value this module parses (Signature-Input,
 * Signature, Accept-Signature, Content-Digest, Want-Content-Digest and fields covered with `sf` or
 * `key`). Longer values are rejected before parsing starts.
 */
export const MAX_FIELD_LENGTH = 4096;

/** Error reporting and strictness of one structured field parse. */
export interface StructuredFieldContext {
  /** Error code raised for any syntax error or for a value over `maxLength`. */
  code: ErrorCode;
  /** Field or component name sent in the problem's `field` member. */
  field: string;
  /** Maximum input length in characters. Default {@link MAX_FIELD_LENGTH}. */
  maxLength?: number;
  /**
   * Rejects a dictionary key or parameter key that occurs twice. Default false, which applies
   * RFC 8941 sections 4.2.2 and 4.2.3.2: the later value overwrites the earlier one.
   */
  rejectDuplicateKeys?: boolean;
}

/**
 * Parses `value` as an RFC 8941 Dictionary.
 *
 * @throws RampartError `context.code` when the value is too long or not a valid Dictionary.
 */
export function parseDictionaryField(value: string, context: StructuredFieldContext): Dictionary {
  const parser = new Parser(value, context);
  const dictionary = parser.dictionary();
  parser.finish();
  return dictionary;
}

/**
 * Parses `value` as an RFC 8941 List.
 *
 * @throws RampartError `context.code` when the value is too long or not a valid List.
 */
export function parseListField(value: string, context: StructuredFieldContext): List {
  const parser = new Parser(value, context);
  const list = parser.list();
  parser.finish();
  return list;
}

/**
 * Parses `value` as an RFC 8941 Item.
 *
 * @throws RampartError `context.code` when the value is too long or not a valid Item.
 */
export function parseItemField(value: string, context: StructuredFieldContext): Item {
  const parser = new Parser(value, context);
  const item = parser.item();
  parser.finish();
  return item;
}

/**
 * A recursive-descent parser for RFC 8941 section 4.2. It accepts only RFC 8941 types, so the RFC
 * 9651 Date and Display String are rejected, as RFC 9421 builds on RFC 8941. The position only
 * moves forward and inner lists cannot nest, so time and memory are linear in the input length.
 */
class Parser {
  private pos = 0;
  private readonly rejectDuplicates: boolean;

  constructor(
    private readonly input: string,
    private readonly context: StructuredFieldContext,
  ) {
    this.rejectDuplicates = context.rejectDuplicateKeys ?? false;
    if (input.length > (context.maxLength ?? MAX_FIELD_LENGTH)) this.fail();
    // Section 4.2: input that is not ASCII fails.
    if (!isAscii(input)) this.fail();
    this.skipSpaces();
  }

  fail(): never {
    throw new RampartError(this.context.code, { field: this.context.field });
  }

  finish(): void {
    this.skipSpaces();
    if (this.pos < this.input.length) this.fail();
  }

  // Section 4.2.2.
  dictionary(): Dictionary {
    const output: Dictionary = new Map();
    while (this.pos < this.input.length) {
      const key = this.key();
      let member: Item | InnerList;
      if (this.peek() === '=') {
        this.pos += 1;
        member = this.itemOrInnerList();
      } else {
        member = [true, this.parameters()];
      }
      if (this.rejectDuplicates && output.has(key)) this.fail();
      output.set(key, member);
      if (this.endOfMember()) return output;
    }
    return output;
  }

  // Section 4.2.1.
  list(): List {
    const output: List = [];
    while (this.pos < this.input.length) {
      output.push(this.itemOrInnerList());
      if (this.endOfMember()) return output;
    }
    return output;
  }

  // Section 4.2.3.
  item(): Item {
    return [this.bareItem(), this.parameters()];
  }

  /** Consumes the separator after a list or dictionary member; returns true at the end. */
  private endOfMember(): boolean {
    this.skipOptionalWhitespace();
    if (this.pos >= this.input.length) return true;
    if (this.peek() !== ',') this.fail();
    this.pos += 1;
    this.skipOptionalWhitespace();
    // A trailing comma fails.
    if (this.pos >= this.input.length) this.fail();
    return false;
  }

  private itemOrInnerList(): Item | InnerList {
    return this.peek() === '(' ? this.innerList() : this.item();
  }

  // Section 4.2.1.2.
  private innerList(): InnerList {
    this.pos += 1;
    const items: Item[] = [];
    while (this.pos < this.input.length) {
      this.skipSpaces();
      if (this.peek() === ')') {
        this.pos += 1;
        return [items, this.parameters()];
      }
      items.push(this.item());
      const next = this.peek();
      if (next !== ' ' && next !== ')') this.fail();
    }
    return this.fail();
  }

  // Section 4.2.3.2.
  private parameters(): Parameters {
    const parameters: Parameters = new Map();
    while (this.peek() === ';') {
      this.pos += 1;
      this.skipSpaces();
      const key = this.key();
      let value: BareItem = true;
      if (this.peek() === '=') {
        this.pos += 1;
        value = this.bareItem();
      }
      if (this.rejectDuplicates && parameters.has(key)) this.fail();
      parameters.set(key, value);
    }
    return parameters;
  }

  // Section 4.2.3.3: lcalpha or "*", then lcalpha, DIGIT, "_", "-", "." or "*".
  private key(): string {
    const start = this.pos;
    const first = this.input.charCodeAt(start);
    if (!(isLowerAlpha(first) || first === STAR)) this.fail();
    this.pos += 1;
    while (isKeyChar(this.input.charCodeAt(this.pos))) this.pos += 1;
    return this.input.slice(start, this.pos);
  }

  // Section 4.2.3.1.
  private bareItem(): BareItem {
    const next = this.peek() ?? '';
    if (next === '-' || isDigit(next)) return this.number();
    if (next === '"') return this.string();
    if (next === '*' || /[A-Za-z]/.test(next)) return this.token();
    if (next === ':') return this.byteSequence();
    if (next === '?') return this.boolean();
    return this.fail();
  }

  // Section 4.2.4.
  private number(): number {
    let sign = 1;
    if (this.peek() === '-') {
      sign = -1;
      this.pos += 1;
    }
    if (!isDigit(this.peek() ?? '')) this.fail();

    const start = this.pos;
    let decimalPoint = -1;
    while (this.pos < this.input.length) {
      const char = this.input[this.pos] as string;
      if (isDigit(char)) {
        this.pos += 1;
      } else if (decimalPoint === -1 && char === '.') {
        if (this.pos - start > 12) this.fail();
        decimalPoint = this.pos;
        this.pos += 1;
      } else {
        break;
      }
      const length = this.pos - start;
      if (decimalPoint === -1 ? length > 15 : length > 16) this.fail();
    }

    const digits = this.input.slice(start, this.pos);
    if (decimalPoint === -1) return sign * Number.parseInt(digits, 10);
    const fractionDigits = this.pos - decimalPoint - 1;
    if (fractionDigits < 1 || fractionDigits > 3) this.fail();
    const value = sign * Number.parseFloat(digits);
    // NOTE: a Decimal with a zero fraction (`1.0`) is rejected. A JavaScript number cannot tell it
    // from the Integer 1, so the serializer would write `1` and change the signed bytes.
    if (Number.isInteger(value)) this.fail();
    return value;
  }

  // Section 4.2.5.
  private string(): string {
    this.pos += 1;
    // Fast path: a string without escapes is one slice of the input.
    const start = this.pos;
    for (let i = start; i < this.input.length; i += 1) {
      const code = this.input.charCodeAt(i);
      if (code === QUOTE) {
        this.pos = i + 1;
        return this.input.slice(start, i);
      }
      if (code === BACKSLASH) break;
      if (code < 0x20 || code > 0x7e) this.fail();
    }
    let output = '';
    while (this.pos < this.input.length) {
      const char = this.input[this.pos] as string;
      this.pos += 1;
      if (char === '\\') {
        const escaped = this.input[this.pos];
        if (escaped !== '"' && escaped !== '\\') this.fail();
        output += escaped;
        this.pos += 1;
      } else if (char === '"') {
        return output;
      } else if (char < ' ' || char > '~') {
        this.fail();
      } else {
        output += char;
      }
    }
    return this.fail();
  }

  // Section 4.2.6: tchar, ":" or "/" after the first character.
  private token(): Token {
    const start = this.pos;
    this.pos += 1;
    while (isTokenChar(this.input.charCodeAt(this.pos))) this.pos += 1;
    return new Token(this.input.slice(start, this.pos));
  }

  // Section 4.2.7: padding may be missing, but any other invalid base64 fails.
  private byteSequence(): ArrayBuffer {
    this.pos += 1;
    const end = this.input.indexOf(':', this.pos);
    if (end === -1) this.fail();
    const encoded = this.input.slice(this.pos, end);
    this.pos = end + 1;
    let unpadded = encoded.length;
    while (unpadded > 0 && encoded.charCodeAt(unpadded - 1) === EQUALS) unpadded -= 1;
    if (encoded.length - unpadded > 2 || unpadded % 4 === 1) this.fail();
    // Padding may be left out, but padding that is present must complete the last quantum.
    if (unpadded !== encoded.length && encoded.length % 4 !== 0) this.fail();
    for (let i = 0; i < unpadded; i += 1) {
      if (!isBase64Char(encoded.charCodeAt(i))) this.fail();
    }

    let binary: string;
    try {
      binary = atob(encoded);
    } catch {
      return this.fail();
    }
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i += 1) bytes[i] = binary.charCodeAt(i);
    return bytes.buffer;
  }

  // Section 4.2.8.
  private boolean(): boolean {
    const value = this.input[this.pos + 1];
    this.pos += 2;
    if (value === '1') return true;
    if (value === '0') return false;
    return this.fail();
  }

  private peek(): string | undefined {
    return this.input[this.pos];
  }

  private skipSpaces(): void {
    while (this.input[this.pos] === ' ') this.pos += 1;
  }

  private skipOptionalWhitespace(): void {
    while (this.input[this.pos] === ' ' || this.input[this.pos] === '\t') this.pos += 1;
  }
}

const STAR = 0x2a;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const EQUALS = 0x3d;

function isLowerAlpha(code: number): boolean {
  return code >= 0x61 && code <= 0x7a;
}

// Section 4.2.3.3: lcalpha, DIGIT, "_", "-", "." or "*".
function isKeyChar(code: number): boolean {
  return (
    isLowerAlpha(code) ||
    (code >= 0x30 && code <= 0x39) ||
    code === 0x5f ||
    code === 0x2d ||
    code === 0x2e ||
    code === STAR
  );
}

/** Returns a test for membership of a character code in `chars`, a set of ASCII characters. */
function asciiSet(chars: string): (code: number) => boolean {
  const table = new Uint8Array(128);
  for (const char of chars) table[char.charCodeAt(0)] = 1;
  return (code) => code < 128 && table[code] === 1;
}

// RFC 9110 tchar, plus ":" and "/" (section 4.2.6).
const isTokenChar = asciiSet(
  "!#$%&'*+-.^_`|~:/0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
);

// RFC 4648 section 4: the base64 alphabet without padding. atob skips ASCII whitespace, which
// RFC 8941 does not allow, so each character is checked before decoding.
const isBase64Char = asciiSet('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/');

function isDigit(char: string): boolean {
  return char >= '0' && char <= '9' && char.length === 1;
}

function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i += 1) {
    if (text.charCodeAt(i) > 0x7f) return false;
  }
  return true;
}
