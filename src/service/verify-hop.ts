import { RampartError } from '../errors.js';
import { StoreUnavailableError, type ReplayStore } from '../replay/replay-store.js';
import type { SignatureKey } from '../signature/algorithms.js';
import { checkContentDigest } from '../signature/content-digest.js';
import {
  combinedFieldValue,
  fieldsFromRawHeaders,
  type HeaderFields,
  type SignableRequest,
} from '../signature/message.js';
import type { ParsedSignature } from '../signature/signature-input.js';
import { checkParsedSignature, parseAndCheckSignature } from '../signature/verify.js';
import { hopPolicy } from './hop-signature.js';
import { decodeIdentity, IDENTITY_HEADER, type Identity } from './identity.js';
import { checkOriginForm } from './origin-form.js';

/** A received hop request, read straight from the server's request object. */
export interface HopRequestMessage {
  method: string;
  /** Path and query exactly as received (Node's `req.url`), never decoded or normalised. */
  target: string;
  /** Node's `rawHeaders`: name, value, name, value, in arrival order. */
  rawHeaders: readonly string[];
  /** Body bytes as received; undefined when the request has no body. */
  body: Uint8Array | undefined;
}

/** A calling service this service accepts, and the hop key it shares with it. */
export interface HopCaller {
  /** Service name, such as `gateway` or `payments`. */
  caller: string;
  key: SignatureKey;
}

/** Options of {@link verifyHop}. Every field comes from configuration, never from the request. */
export interface VerifyHopOptions {
  /** This service's own `host:port`, as its callers address it. Never read from `Host`. */
  authority: string;
  /** Scheme the callers use to reach this service. Default `http`. */
  scheme?: 'http' | 'https';
  /** Accepted callers by signature key id. Any other key id is rejected. */
  callers: Readonly<Record<string, HopCaller>>;
  /** Nonce store; each key id is its own scope. */
  replayStore: ReplayStore;
  /** Clock in milliseconds since the epoch. Default `Date.now`. */
  now?: () => number;
}

/** The authenticated result of a hop: who called, with which key, on behalf of which user. */
export interface VerifiedHop {
  caller: string;
  keyid: string;
  identity: Identity;
}

/**
 * A hop whose signature is valid but whose body, nonce and identity are still unchecked. It
 * lets an adapter reject unsigned traffic before it reads the body.
 */
export interface SignedHop {
  caller: string;
  keyid: string;
  /** Whether the headers announce a body (`Content-Length` or `Transfer-Encoding`). */
  hasBody: boolean;
  signature: ParsedSignature;
  headers: HeaderFields;
}

/**
 * Verifies a hop request from another Rampart component: signature, body digest, nonce and
 * identity, in that order. The order puts the cheap, stateless checks first, so traffic
 * without a valid signature never reaches the replay store.
 *
 * @throws RampartError `path_invalid`, any code of `parseAndCheckSignature` and
 *   `checkParsedSignature`, `caller_unknown`, `digest_missing`, `digest_unexpected`,
 *   `digest_malformed`, `digest_algorithm_unsupported`, `digest_mismatch`, `request_malformed`
 *   (headers announce a body that the adapter did not read), `nonce_replayed`,
 *   `store_unavailable`, `store_full` or `identity_invalid`.
 */
export async function verifyHop(
  request: HopRequestMessage,
  options: VerifyHopOptions,
): Promise<VerifiedHop> {
  const signed = checkHopSignature(request, options);
  return completeHopVerification(signed, request.body, options);
}

/**
 * Runs the stateless first stage of {@link verifyHop}: target form, signature parameters and
 * time window, caller allow-list and MAC. It needs no body, because the signature covers the
 * `Content-Digest` field, not the body itself.
 *
 * @throws RampartError `path_invalid`, any code of `parseAndCheckSignature` and
 *   `checkParsedSignature`, or `caller_unknown`.
 */
export function checkHopSignature(
  request: Omit<HopRequestMessage, 'body'>,
  options: VerifyHopOptions,
): SignedHop {
  checkOriginForm(request.target);
  const headers = fieldsFromRawHeaders(request.rawHeaders);
  const message: SignableRequest = {
    method: request.method,
    scheme: options.scheme ?? 'http',
    authority: options.authority,
    target: request.target,
    headers,
  };

  // An empty body with `Content-Length: 0` is still a body, so only the framing headers decide.
  const hasBody = hasField(headers, 'content-length') || hasField(headers, 'transfer-encoding');
  const policy = hopPolicy({ hasBody, hasIdempotencyKey: hasField(headers, 'idempotency-key') });
  const signature = parseAndCheckSignature(message, policy, nowSeconds(options));

  // parseAndCheckSignature guarantees a non-empty keyid.
  const keyid = signature.params.keyid as string;
  const entry = Object.hasOwn(options.callers, keyid) ? options.callers[keyid] : undefined;
  if (entry === undefined) throw new RampartError('caller_unknown');

  checkParsedSignature(message, signature, entry.key);
  return { caller: entry.caller, keyid, hasBody, signature, headers };
}

/**
 * Runs the second stage of {@link verifyHop} on a hop that passed {@link checkHopSignature}:
 * body digest, nonce claim, then identity.
 *
 * @param body the bytes read; an adapter that read no body passes undefined.
 * @throws RampartError `digest_missing`, `digest_unexpected`, `digest_malformed`,
 *   `digest_algorithm_unsupported`, `digest_mismatch`, `request_malformed`, `nonce_replayed`,
 *   `store_unavailable`, `store_full` or `identity_invalid`.
 */
export async function completeHopVerification(
  signed: SignedHop,
  body: Uint8Array | undefined,
  options: VerifyHopOptions,
): Promise<VerifiedHop> {
  const digest = combinedFieldValue(signed.headers, 'content-digest');
  if (signed.hasBody) {
    if (digest === undefined) throw new RampartError('digest_missing');
    // The framing headers announce a body that the adapter did not read, so there is nothing
    // to check the digest against. Fastify, for one, never reads the body of a GET.
    if (body === undefined) throw new RampartError('request_malformed', { field: 'body' });
    checkContentDigest(digest, body);
  } else if (digest !== undefined) {
    // HTTP clients differ on whether an empty DELETE or PATCH body sends Content-Length: 0, so
    // a digest without a body is accepted when it is the digest of zero bytes, as the gateway
    // does. Such a digest proves that no content was removed.
    checkContentDigest(digest, new Uint8Array(0));
  }

  await claimNonce(signed, options);

  const identity = decodeIdentity(combinedFieldValue(signed.headers, IDENTITY_HEADER));
  return { caller: signed.caller, keyid: signed.keyid, identity };
}

async function claimNonce(signed: SignedHop, options: VerifyHopOptions): Promise<void> {
  const policy = hopPolicy({ hasBody: false, hasIdempotencyKey: false });
  // A signature stays acceptable while `created` is within maxAge of the clock, and `created`
  // may lie up to maxFuture ahead, so the nonce must outlive both. One more second covers
  // the rounding of the clock to whole seconds.
  const ttlSeconds = (policy.maxAgeSeconds ?? 30) + (policy.maxFutureSeconds ?? 5) + 1;
  // parseAndCheckSignature guarantees a nonce, because hopPolicy sets requireNonce.
  const nonce = signed.signature.params.nonce as string;

  let claimed: boolean;
  try {
    claimed = await options.replayStore.claimNonce(signed.keyid, nonce, ttlSeconds);
  } catch (error) {
    if (!(error instanceof StoreUnavailableError)) throw error;
    const rejection = new RampartError(
      error.reason === 'full' ? 'store_full' : 'store_unavailable',
    );
    rejection.cause = error;
    throw rejection;
  }
  if (!claimed) throw new RampartError('nonce_replayed');
}

function hasField(headers: HeaderFields, name: string): boolean {
  return headers.some(([fieldName]) => fieldName.toLowerCase() === name);
}

function nowSeconds(options: VerifyHopOptions): number {
  return Math.floor((options.now ?? Date.now)() / 1000);
}
