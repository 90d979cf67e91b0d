import { MemoryReplayStore } from '../../src/replay/memory-replay-store.js';
import type { ReplayStore } from '../../src/replay/replay-store.js';
import type { SignatureKey } from '../../src/signature/algorithms.js';
import { signMessage } from '../../src/signature/sign.js';
import {
  HOP_LABEL,
  HOP_TAG,
  HOP_VALIDITY_SECONDS,
  hopComponents,
} from '../../src/service/hop-signature.js';
import { encodeIdentity, IDENTITY_HEADER, type Identity } from '../../src/service/identity.js';
import type { WireRequest } from './helpers.js';

/** A replay store that counts the nonce claims it receives. */
export class CountingReplayStore extends MemoryReplayStore implements ReplayStore {
  claims = 0;

  override async claimNonce(scope: string, nonce: string, ttlSeconds: number): Promise<boolean> {
    this.claims += 1;
    return super.claimNonce(scope, nonce, ttlSeconds);
  }
}

/** Options of {@link signRawHop}. */
export interface RawHopOptions {
  method: string;
  origin: string;
  target: string;
  identity: Identity;
  keyid: string;
  key: SignatureKey;
  /** Headers sent and, when listed in `components`, signed; sent exactly as given. */
  headers?: Record<string, string>;
  body?: Uint8Array;
  /** Covered components. Default: the hop components for the given headers. */
  components?: string[];
  /** Creation time in seconds. Default: now. */
  created?: number;
}

/**
 * Signs a hop by hand, without `signHopRequest`, so that a test can sign headers that the kit
 * would never produce, such as a malformed `Content-Digest`.
 */
export function signRawHop(options: RawHopOptions): WireRequest {
  const headers: Record<string, string> = {
    [IDENTITY_HEADER]: encodeIdentity(options.identity),
    ...options.headers,
  };
  const hasBody = options.body !== undefined;
  const components =
    options.components ??
    hopComponents({ hasBody, hasIdempotencyKey: 'idempotency-key' in headers });
  const origin = new URL(options.origin);
  const signed = signMessage(
    {
      method: options.method,
      scheme: 'http',
      authority: origin.host,
      target: options.target,
      headers: Object.entries(headers),
    },
    {
      key: options.key,
      keyid: options.keyid,
      label: HOP_LABEL,
      tag: HOP_TAG,
      nonce: true,
      expiresIn: HOP_VALIDITY_SECONDS,
      components,
      ...(options.created === undefined ? {} : { created: options.created }),
    },
  );
  headers['signature-input'] = signed.signatureInput;
  headers['signature'] = signed.signature;
  return {
    method: options.method,
    url: `${options.origin}${options.target}`,
    headers,
    ...(options.body ? { body: options.body } : {}),
  };
}
