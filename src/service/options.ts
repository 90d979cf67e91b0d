import type { HopCaller, VerifyHopOptions } from './verify-hop.js';

/** Default maximum request body size of the service adapters: 1 MiB. */
export const DEFAULT_BODY_LIMIT_BYTES = 1024 * 1024;

/** Hop verification settings of an adapter, whose authority may be resolved per request. */
export interface AdapterHopOptions extends Omit<VerifyHopOptions, 'authority'> {
  /**
   * This service's own `host:port` as its callers address it, or a function that returns it
   * (useful when the port is chosen at listen time). Never read from the `Host` header.
   */
  authority: string | (() => string);
}

/**
 * Checks adapter options once, at construction, so that a configuration mistake fails at
 * start-up and not on the first request.
 *
 * @param owner the adapter's name, quoted in messages.
 * @throws TypeError naming the option, what was expected and the type received.
 */
export function assertAdapterHopOptions(options: AdapterHopOptions, owner: string): void {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`${owner} options must be an object, received ${describe(options)}`);
  }
  const { authority, scheme, callers, replayStore, now } = options;
  if (typeof authority !== 'function' && (typeof authority !== 'string' || authority === '')) {
    throw new TypeError(
      `${owner} option authority must be a non-empty host:port string or a function, received ${describe(authority)}`,
    );
  }
  if (scheme !== undefined && scheme !== 'http' && scheme !== 'https') {
    throw new TypeError(
      `${owner} option scheme must be 'http' or 'https', received ${describe(scheme)}`,
    );
  }
  if (typeof callers !== 'object' || callers === null) {
    throw new TypeError(
      `${owner} option callers must be an object keyed by key id, received ${describe(callers)}`,
    );
  }
  for (const [keyid, entry] of Object.entries(callers)) assertCaller(owner, keyid, entry);
  if (typeof replayStore?.claimNonce !== 'function') {
    throw new TypeError(
      `${owner} option replayStore must be a ReplayStore, received ${describe(replayStore)}`,
    );
  }
  if (now !== undefined && typeof now !== 'function') {
    throw new TypeError(`${owner} option now must be a function, received ${describe(now)}`);
  }
}

/** Resolves the adapter options into the options of `verifyHop` for one request. */
export function resolveHopOptions(options: AdapterHopOptions): VerifyHopOptions {
  const authority =
    typeof options.authority === 'function' ? options.authority() : options.authority;
  return { ...options, authority };
}

/**
 * Checks a byte limit option.
 *
 * @throws TypeError when `value` is not a positive safe integer.
 */
export function assertByteLimit(value: number, owner: string, name: string): void {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new TypeError(
      `${owner} option ${name} must be a positive integer of bytes, received ${describe(value)}`,
    );
  }
}

function assertCaller(owner: string, keyid: string, entry: HopCaller): void {
  if (typeof entry !== 'object' || entry === null) {
    throw new TypeError(
      `${owner} option callers.${keyid} must be { caller, key }, received ${describe(entry)}`,
    );
  }
  if (typeof entry.caller !== 'string' || entry.caller === '') {
    throw new TypeError(
      `${owner} option callers.${keyid}.caller must be a non-empty string, received ${describe(entry.caller)}`,
    );
  }
  const algorithm = (entry.key as { algorithm?: unknown } | undefined)?.algorithm;
  if (algorithm !== 'hmac-sha256' && algorithm !== 'ed25519') {
    throw new TypeError(
      `${owner} option callers.${keyid}.key must be a SignatureKey (use hmacKey()), received ${describe(entry.key)}`,
    );
  }
}

// Names the type only, so that a misplaced secret never ends up in a message.
function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}
