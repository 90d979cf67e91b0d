import {
  componentKey,
  parseComponentIdentifier,
  type ComponentIdentifier,
  type ComponentOptions,
  type StructuredFieldType,
} from './components.js';
import { checkSignature, type AlgorithmName, type SignatureKey } from './algorithms.js';
import { RampartError } from '../errors.js';
import type { SignableRequest, SignableResponse } from './message.js';
import { buildSignatureBase } from './signature-base.js';
import {
  parseSignature,
  type ParsedSignature,
  type SignatureParams,
  type SignatureSelector,
} from './signature-input.js';

/** Verifier settings. Every field comes from configuration, never from the message. */
export interface VerificationPolicy {
  /** Allowed algorithms. */
  algorithms: readonly AlgorithmName[];
  /**
   * Components that must be covered, as bare names (`@method`) or serialized identifiers
   * (`"@query-param";name="id"`). Parameter order does not matter.
   */
  requiredComponents: readonly string[];
  /** Maximum age of `created`, in seconds. Default 30. */
  maxAgeSeconds?: number;
  /** Maximum amount `created` may lie in the future, in seconds. Default 5. */
  maxFutureSeconds?: number;
  /** Maximum `expires - created`, in seconds. Default 60. */
  maxValiditySeconds?: number;
  /** Require `expires`. Default true. */
  requireExpires?: boolean;
  /** Require a `nonce`. Default true. */
  requireNonce?: boolean;
  /** Selector of the signature to check. */
  selector?: SignatureSelector;
  /** Field types for the `sf` parameter beyond the built-in ones. Default: none. */
  structuredFields?: Readonly<Record<string, StructuredFieldType>>;
}

/**
 * Parses the signature that `policy.selector` names and checks everything that needs no key
 * and no state: parameters, algorithm allow-list, time window and coverage. This is the first,
 * cheap stage of verification.
 *
 * @throws RampartError `signature_missing`, `signature_malformed`, `signature_params_invalid`,
 *   `algorithm_unsupported`, `clock_skew` (with `serverTime`), `signature_expired` or
 *   `signature_coverage_insufficient`.
 */
export function parseAndCheckSignature(
  message: SignableRequest | SignableResponse,
  policy: VerificationPolicy,
  nowSeconds: number,
): ParsedSignature {
  const parsed = parseSignature(message.headers, policy.selector);
  checkSignatureParams(parsed, policy, nowSeconds);
  return parsed;
}

/**
 * Checks a parsed signature against `policy` without a key: parameters, algorithm allow-list,
 * time window and coverage.
 *
 * @throws RampartError as {@link parseAndCheckSignature}, except the parsing codes.
 */
export function checkSignatureParams(
  parsed: ParsedSignature,
  policy: VerificationPolicy,
  nowSeconds: number,
): void {
  const { params } = parsed;

  if (params.keyid === undefined || params.keyid === '') {
    throw new RampartError('signature_params_invalid', { field: 'keyid' });
  }
  if (params.alg !== undefined && !policy.algorithms.includes(params.alg as AlgorithmName)) {
    throw new RampartError('algorithm_unsupported');
  }
  if (
    (policy.requireNonce ?? true) &&
    (params.nonce === undefined || !isValidNonce(params.nonce))
  ) {
    throw new RampartError('signature_params_invalid', { field: 'nonce' });
  }

  checkTimeWindow(params, policy, nowSeconds);
  checkCoverage(parsed.components, policy.requiredComponents);
}

// A nonce of 16 to 128 visible ASCII characters: long enough to carry 96 bits of randomness,
// short enough to bound the replay store's memory per entry.
function isValidNonce(nonce: string): boolean {
  return /^[\x21-\x7e]{16,128}$/.test(nonce);
}

function checkTimeWindow(params: SignatureParams, policy: VerificationPolicy, now: number): void {
  const maxAge = policy.maxAgeSeconds ?? 30;
  const maxFuture = policy.maxFutureSeconds ?? 5;
  const maxValidity = policy.maxValiditySeconds ?? 60;

  if (params.created === undefined)
    throw new RampartError('signature_params_invalid', { field: 'created' });
  if (params.created > now + maxFuture || params.created < now - maxAge) {
    throw new RampartError('clock_skew', { serverTime: now });
  }

  if (params.expires === undefined) {
    if (policy.requireExpires ?? true)
      throw new RampartError('signature_params_invalid', { field: 'expires' });
    return;
  }
  if (params.expires <= params.created || params.expires - params.created > maxValidity) {
    throw new RampartError('signature_params_invalid', { field: 'expires' });
  }
  if (params.expires < now) throw new RampartError('signature_expired', { serverTime: now });
}

// Required components come from policy, a small fixed set, so their keys are computed once.
const requiredKeys = new Map<string, string>();

function requiredKey(name: string): string {
  let key = requiredKeys.get(name);
  if (key === undefined) {
    key = componentKey(parseComponentIdentifier(name));
    if (requiredKeys.size < 256) requiredKeys.set(name, key);
  }
  return key;
}

function checkCoverage(components: ComponentIdentifier[], required: readonly string[]): void {
  const covered = new Set(components.map(componentKey));
  for (const name of required) {
    if (!covered.has(requiredKey(name))) {
      throw new RampartError('signature_coverage_insufficient', { field: name });
    }
  }
}

/**
 * Recomputes the signature base from `message` and checks the signature with `key`. The key's
 * own algorithm is used; an `alg` parameter that names another algorithm is rejected.
 *
 * @param options.structuredFields field types for `sf` beyond the built-in ones; default none.
 * @throws RampartError `algorithm_unsupported`, `signature_malformed`, a
 *   `signature_component_*` code or `signature_invalid`.
 */
export function checkParsedSignature(
  message: SignableRequest | SignableResponse,
  parsed: ParsedSignature,
  key: SignatureKey,
  options: ComponentOptions = {},
): void {
  if (parsed.params.alg !== undefined && parsed.params.alg !== key.algorithm) {
    throw new RampartError('algorithm_unsupported');
  }
  const base = buildSignatureBase(message, parsed.components, parsed.rawParams, options);
  checkSignature(key, base, parsed.signature);
}

/** Options for {@link verifyMessage}. */
export interface VerifyOptions {
  policy: VerificationPolicy;
  /** Returns the key for a key id, or undefined when the id is unknown. */
  resolveKey: (keyid: string) => SignatureKey | undefined;
  /** Current time in seconds. Default: the system clock. */
  nowSeconds?: number;
}

/**
 * Verifies one signature on `message`: parse, time window, coverage, key, MAC. The caller
 * checks the nonce afterwards, against its own replay store, so that only authenticated
 * requests reach that store.
 *
 * @throws RampartError any code of {@link parseAndCheckSignature} and
 *   {@link checkParsedSignature}, and `key_unknown`.
 */
export function verifyMessage(
  message: SignableRequest | SignableResponse,
  options: VerifyOptions,
): ParsedSignature {
  const now = options.nowSeconds ?? Math.floor(Date.now() / 1000);
  const parsed = parseAndCheckSignature(message, options.policy, now);

  const key = options.resolveKey(parsed.params.keyid as string);
  if (key === undefined) throw new RampartError('key_unknown');
  if (!options.policy.algorithms.includes(key.algorithm))
    throw new RampartError('algorithm_unsupported');

  checkParsedSignature(message, parsed, key, {
    structuredFields: options.policy.structuredFields,
  });
  return parsed;
}
