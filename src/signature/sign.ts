import { randomFillSync } from 'node:crypto';

import { serializeByteSequence } from 'structured-headers';

import { computeSignature, type SignatureKey } from './algorithms.js';
import {
  parseComponentIdentifier,
  type ComponentIdentifier,
  type StructuredFieldType,
} from './components.js';
import type { SignableRequest, SignableResponse } from './message.js';
import { buildSignatureBase } from './signature-base.js';
import { serializeSignatureParams, toParameters, type SignatureParams } from './signature-input.js';

/** Options for {@link signMessage}. */
export interface SignOptions {
  key: SignatureKey;
  keyid: string;
  /**
   * Covered components, as bare names (`@method`, `content-digest`), serialized identifiers
   * (`"@query-param";name="Pet"`) or identifier objects.
   */
  components: ReadonlyArray<string | ComponentIdentifier>;
  /** Dictionary label for the signature. Default `sig1`. */
  label?: string;
  /** Creation time in seconds since the epoch. Default: now. */
  created?: number;
  /** Seconds of validity after `created`; sets `expires`. Default: no `expires`. */
  expiresIn?: number;
  /** Nonce value; `true` makes a random 128-bit one. Default: no nonce. */
  nonce?: string | true;
  /** Application tag that tells verifiers what the signature is for. */
  tag?: string;
  /** Emit the `alg` parameter. Default `true`. */
  includeAlg?: boolean;
  /** Field types for the `sf` parameter beyond the built-in ones. Default: none. */
  structuredFields?: Readonly<Record<string, StructuredFieldType>>;
}

/** The two dictionary members a signature adds to a message. */
export interface SignatureFields {
  label: string;
  /** `label=(...);params`: append to `Signature-Input`. */
  signatureInput: string;
  /** `label=:base64:`: append to `Signature`. */
  signature: string;
  /** The signature base that was signed, for diagnostics and tests. */
  base: string;
  params: SignatureParams;
}

/**
 * Signs `message` per RFC 9421 section 3.1 and returns the `Signature-Input` and `Signature`
 * members to add to it.
 *
 * @throws RampartError any code of {@link buildSignatureBase} when a component cannot be signed.
 * @throws TypeError when a component string is not a valid identifier.
 */
export function signMessage(
  message: SignableRequest | SignableResponse,
  options: SignOptions,
): SignatureFields {
  const label = options.label ?? 'sig1';
  const created = options.created ?? Math.floor(Date.now() / 1000);
  const params: SignatureParams = {
    created,
    keyid: options.keyid,
  };
  if (options.expiresIn !== undefined) params.expires = created + options.expiresIn;
  if (options.nonce !== undefined) {
    params.nonce = options.nonce === true ? randomNonce() : options.nonce;
  }
  if (options.includeAlg !== false) params.alg = options.key.algorithm;
  if (options.tag !== undefined) params.tag = options.tag;

  const components = options.components.map((id) =>
    typeof id === 'string' ? parseComponentIdentifier(id) : id,
  );
  const parameters = toParameters(params);
  const base = buildSignatureBase(message, components, parameters, {
    structuredFields: options.structuredFields,
  });
  const signature = computeSignature(options.key, base);

  return {
    label,
    signatureInput: `${label}=${serializeSignatureParams(components, parameters)}`,
    signature: `${label}=${serializeByteSequence(signature)}`,
    base,
    params,
  };
}

// Random bytes are drawn from the CSPRNG 4 KiB at a time, because one call per 16-byte nonce
// showed as about 2 % of the gateway's CPU under load (it signs every hop). Node's randomUUID
// buffers the same way. Each byte is handed out once.
const NONCE_BYTES = 16;
const nonceBuffer = Buffer.alloc(4096);
let nonceOffset = nonceBuffer.length;

/** Returns a new 128-bit random nonce in base64url (22 characters). */
export function randomNonce(): string {
  if (nonceOffset + NONCE_BYTES > nonceBuffer.length) {
    randomFillSync(nonceBuffer);
    nonceOffset = 0;
  }
  const nonce = nonceBuffer.toString('base64url', nonceOffset, nonceOffset + NONCE_BYTES);
  nonceOffset += NONCE_BYTES;
  return nonce;
}
