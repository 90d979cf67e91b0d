/**
 * The parts of an HTTP message that RFC 9421 signs. The request target is kept exactly as it
 * appeared on the wire, because the signature covers the path and query as received, never a
 * decoded or normalised form (a WHATWG `URL` would resolve dot segments and re-escape).
 */
export interface SignableRequest {
  /** Method as sent; RFC 9421 section 2.2.1 applies no case change. */
  method: string;
  /** `http` or `https`, from configuration or a trusted proxy, never from the client. */
  scheme: string;
  /** Host and optional port, as in the Host header. */
  authority: string;
  /** The origin-form request target: path plus optional `?query`, as received. */
  target: string;
  headers: HeaderFields;
}

/** A response to be signed or verified, with the request it answers for `;req` components. */
export interface SignableResponse {
  status: number;
  headers: HeaderFields;
  request?: SignableRequest;
}

/**
 * Header field lines in arrival order. Each entry is one field line; a name may repeat.
 * Names are compared case-insensitively.
 */
export type HeaderFields = ReadonlyArray<readonly [name: string, value: string]>;

/**
 * Converts Node's `rawHeaders` (a flat name, value, name, value list) into field lines. Node's
 * `headers` object silently drops duplicates of some fields, so verification reads the raw list.
 */
export function fieldsFromRawHeaders(rawHeaders: readonly string[]): HeaderFields {
  const fields: Array<[string, string]> = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    fields.push([rawHeaders[i] as string, rawHeaders[i + 1] as string]);
  }
  return fields;
}

/** Converts a plain record (or a `Headers`-like iterable) into field lines. */
export function fieldsFromRecord(
  headers: Record<string, string | readonly string[] | undefined> | Iterable<[string, string]>,
): HeaderFields {
  const fields: Array<[string, string]> = [];
  const entries: Iterable<[string, unknown]> =
    Symbol.iterator in headers
      ? (headers as Iterable<[string, string]>)
      : Object.entries(headers as Record<string, unknown>);
  for (const [name, value] of entries) {
    if (value === undefined) continue;
    if (Array.isArray(value)) {
      for (const item of value) fields.push([name, String(item)]);
    } else {
      fields.push([name, String(value)]);
    }
  }
  return fields;
}

/**
 * Canonicalizes one field line value per RFC 9421 section 2.1: each obsolete line folding
 * (`OWS CRLF RWS`, RFC 9112 section 5.2) becomes a single space, and leading and trailing spaces
 * and tabs are removed. Other whitespace, such as U+00A0, stays part of the value. Runs in time
 * linear in the value length.
 */
export function canonicalFieldLine(value: string): string {
  // Almost every line has no folding, so only its ends need trimming.
  if (!value.includes('\n')) return trimWhitespace(trimWhitespace(value, 'start'), 'end');
  const pieces: string[] = [];
  for (const [index, line] of value.split('\n').entries()) {
    if (index > 0 && (line.startsWith(' ') || line.startsWith('\t'))) {
      const previous = pieces.pop() ?? '';
      const withoutCr = previous.endsWith('\r') ? previous.slice(0, -1) : previous;
      pieces.push(trimWhitespace(withoutCr, 'end'), ' ', trimWhitespace(line, 'start'));
    } else {
      if (index > 0) pieces.push('\n');
      pieces.push(line);
    }
  }
  return trimWhitespace(trimWhitespace(pieces.join(''), 'start'), 'end');
}

// A loop instead of a regular expression: `/[ \t]+$/` backtracks quadratically on long runs.
function trimWhitespace(text: string, side: 'start' | 'end'): string {
  let start = 0;
  let end = text.length;
  if (side === 'start') {
    while (start < end && isSpaceOrTab(text.charCodeAt(start))) start += 1;
  } else {
    while (end > start && isSpaceOrTab(text.charCodeAt(end - 1))) end -= 1;
  }
  return start === 0 && end === text.length ? text : text.slice(start, end);
}

function isSpaceOrTab(code: number): boolean {
  return code === 0x20 || code === 0x09;
}

/**
 * Returns the field value per RFC 9421 section 2.1: each field line canonicalized by
 * {@link canonicalFieldLine}, and the lines joined with `, ` in order. Returns `undefined` when the
 * field is absent.
 */
export function combinedFieldValue(fields: HeaderFields, name: string): string | undefined {
  const lines = fieldLines(fields, name);
  if (lines.length === 0) return undefined;
  if (lines.length === 1) return canonicalFieldLine(lines[0] as string);
  return lines.map(canonicalFieldLine).join(', ');
}

/** Returns each field line's value for `name`, in order, as received. */
export function fieldLines(fields: HeaderFields, name: string): string[] {
  const wanted = name.toLowerCase();
  const values: string[] = [];
  for (const [fieldName, value] of fields) {
    // The length test skips most lines without lowercasing their names.
    if (fieldName.length === wanted.length && fieldName.toLowerCase() === wanted)
      values.push(value);
  }
  return values;
}
