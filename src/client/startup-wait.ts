// Longest Retry-After of a store_starting response that the SDKs wait out by themselves.
const MAX_STARTUP_WAIT_SECONDS = 10;
// Added to the wait, so the new signature's created second is past the gateway's guard.
const STARTUP_WAIT_SLACK_MS = 200;

/**
 * Returns how long to wait, in milliseconds, before signing a request again after a gateway
 * problem, or undefined when the problem is not a `store_starting` with a short Retry-After.
 * A gateway that restarted moments ago sends that problem before the request has any effect.
 */
export function startupWaitMs(problem: {
  code?: unknown;
  retryAfter?: unknown;
}): number | undefined {
  const wait = problem.retryAfter;
  if (problem.code !== 'store_starting' || typeof wait !== 'number') return undefined;
  if (wait < 0 || wait > MAX_STARTUP_WAIT_SECONDS) return undefined;
  return wait * 1000 + STARTUP_WAIT_SLACK_MS;
}
