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
 * Returns the field value per RFC 9421 section 2.1: each field line's value stripped of
 * leading and trailing whitespace, obsolete line folding replaced by a space, and the lines
 * joined with `, ` in order. Returns `undefined` when the field is absent.
 */
export function combinedFieldValue(fields: HeaderFields, name: string): string | undefined {
  const wanted = name.toLowerCase();
  let combined: string | undefined;
  for (const [fieldName, value] of fields) {
    if (fieldName.toLowerCase() !== wanted) continue;
    const canonical = value.replace(/\r?\n[ \t]+/g, ' ').trim();
    combined = combined === undefined ? canonical : `${combined}, ${canonical}`;
  }
  return combined;
}

/** Returns each field line's value for `name`, in order. */
export function fieldLines(fields: HeaderFields, name: string): string[] {
  const wanted = name.toLowerCase();
  const values: string[] = [];
  for (const [fieldName, value] of fields) {
    if (fieldName.toLowerCase() === wanted) values.push(value);
  }
  return values;
}
