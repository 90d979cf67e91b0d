import { createHash, createPublicKey, KeyObject, sign, verify } from 'node:crypto';

/**
 * A signed statement that the audit chain at entry `seq` ended in `hash`. Without the audit
 * private key, nobody can rewrite the chain up to `seq` and keep the signature valid.
 */
export interface AuditCheckpoint {
  /** Sequence number of the entry the checkpoint covers. */
  seq: number;
  /** Hash of that entry. */
  hash: string;
  /** Id of the Ed25519 key that made the signature. */
  keyId: string;
  /** Ed25519 signature over `checkpointPayload(seq, hash)`, as base64. */
  signature: string;
  /** Time the checkpoint was written, as ISO 8601 in UTC with milliseconds. */
  createdAt: string;
}

/** Version tag on the first line of every signed checkpoint payload. */
export const CHECKPOINT_VERSION = 'rampart-audit-checkpoint/v1';

/** Builds the bytes a checkpoint signs: `rampart-audit-checkpoint/v1\n<seq>\n<hash>` in UTF-8. */
export function checkpointPayload(seq: number, hash: string): Buffer {
  return Buffer.from(`${CHECKPOINT_VERSION}\n${seq}\n${hash}`, 'utf8');
}

/** Signs the checkpoint for entry `seq` with an Ed25519 private key and returns it as base64. */
export function signCheckpoint(seq: number, hash: string, privateKey: KeyObject): string {
  // Ed25519 hashes internally, so Node takes `null` as the digest algorithm (RFC 8032).
  return sign(null, checkpointPayload(seq, hash), privateKey).toString('base64');
}

/**
 * Returns whether `signature` (base64) is a valid Ed25519 signature by `publicKey` over the
 * checkpoint for entry `seq`. A malformed signature returns false.
 */
export function verifyCheckpointSignature(
  seq: number,
  hash: string,
  signature: string,
  publicKey: KeyObject,
): boolean {
  try {
    return verify(null, checkpointPayload(seq, hash), publicKey, Buffer.from(signature, 'base64'));
  } catch {
    return false;
  }
}

/**
 * Derives a key id from an Ed25519 key: the first 16 hex digits of the SHA-256 of its public
 * key in SPKI DER form. A private key and its public key give the same id.
 */
export function deriveAuditKeyId(key: KeyObject): string {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  const der = publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('hex').slice(0, 16);
}

/**
 * Throws a `TypeError` naming `option` unless `key` is an Ed25519 `KeyObject` of type
 * `expectedType`.
 */
export function assertEd25519Key(
  key: unknown,
  expectedType: 'private' | 'public',
  option: string,
): asserts key is KeyObject {
  if (!(key instanceof KeyObject)) {
    throw new TypeError(
      `Option "${option}" must be an Ed25519 ${expectedType} KeyObject; received ${typeof key}.`,
    );
  }

  if (key.type !== expectedType || key.asymmetricKeyType !== 'ed25519') {
    const received =
      key.type === 'secret' ? 'secret key' : `${key.asymmetricKeyType} ${key.type} key`;
    throw new TypeError(
      `Option "${option}" must be an Ed25519 ${expectedType} KeyObject; received: ${received}.`,
    );
  }
}
