/** The members of a gateway problem response (RFC 9457) that a page may act on. */
export interface GatewayProblem {
  status: number;
  /** Stable error code, such as `nonce_replayed`; undefined when the body is not a problem. */
  code?: string;
  /** Fixed short message of the code. */
  title?: string;
  /** Seconds to wait before trying again, sent with rate limits. */
  retryAfter?: number;
  /** Gateway time in seconds, sent with `clock_skew`. */
  serverTime?: number;
  /** Name of the offending field, never its value. */
  field?: string;
  requestId?: string;
}

/** Reads the problem members from a response without consuming it. */
export async function readProblem(response: Response): Promise<GatewayProblem> {
  const body = await readJsonObject(response.clone());
  const problem: GatewayProblem = { status: response.status };
  if (typeof body.code === 'string') problem.code = body.code;
  if (typeof body.title === 'string') problem.title = body.title;
  if (typeof body.retryAfter === 'number') problem.retryAfter = body.retryAfter;
  if (typeof body.serverTime === 'number') problem.serverTime = body.serverTime;
  if (typeof body.field === 'string') problem.field = body.field;
  if (typeof body.requestId === 'string') problem.requestId = body.requestId;
  return problem;
}

/** Reads a JSON object body, or returns an empty object for any other body. */
export async function readJsonObject(response: Response): Promise<Record<string, unknown>> {
  try {
    const value: unknown = await response.json();
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : {};
  } catch {
    return {};
  }
}
