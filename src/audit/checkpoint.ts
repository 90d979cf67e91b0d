import { createHash, createPublicKey, KeyObject, sign, verify } from 'node:crypto';

/**
 * A signed statement that the audit chain held `seq` entries ending in `hash` at `createdAt`.
 * Without the audit private key, nobody can rewrite the chain up to `seq` and keep the
 * signature valid.
 */
export interface AuditCheckpoint {
  /** Sequence number of the entry the checkpoint covers, which is also the entry count. */
  seq: number;
  /** Hash of that entry: the head of the chain when the checkpoint was written. */
  hash: string;
  /** Id of the Ed25519 key that made the signature. */
  keyId: string;
  /** Ed25519 signature over `checkpointPayload`, as base64. */
  signature: string;
  /** Time the checkpoint was written, as ISO 8601 in UTC with milliseconds. */
  createdAt: string;
  /**
   * Payload version the signature covers: 2 signs `seq`, `hash` and `createdAt`; 1, written
   * before checkpoint times were signed, signs `seq` and `hash` only.
   */
  version: CheckpointVersion;
}

/** Payload version of a checkpoint signature. */
export type CheckpointVersion = 1 | 2;

/** Version tag on the first line of a version 1 checkpoint payload. */
export const CHECKPOINT_VERSION = 'rampart-audit-checkpoint/v1';

/** Version tag on the first line of a version 2 checkpoint payload, which signs the time too. */
export const CHECKPOINT_VERSION_2 = 'rampart-audit-checkpoint/v2';

/**
 * Builds the bytes a checkpoint signs, in UTF-8. Without `createdAt` it is the version 1
 * payload `rampart-audit-checkpoint/v1\n<seq>\n<hash>`; with it, the version 2 payload
 * `rampart-audit-checkpoint/v2\n<seq>\n<hash>\n<createdAt>`.
 */
export function checkpointPayload(seq: number, hash: string, createdAt?: string): Buffer {
  if (createdAt === undefined) return Buffer.from(`${CHECKPOINT_VERSION}\n${seq}\n${hash}`, 'utf8');
  return Buffer.from(`${CHECKPOINT_VERSION_2}\n${seq}\n${hash}\n${createdAt}`, 'utf8');
}

/**
 * Signs the checkpoint for entry `seq` with an Ed25519 private key and returns it as base64:
 * the version 2 payload when `createdAt` is given, version 1 otherwise.
 */
export function signCheckpoint(
  seq: number,
  hash: string,
  privateKey: KeyObject,
  createdAt?: string,
): string {
  // Ed25519 hashes internally, so Node takes `null` as the digest algorithm (RFC 8032).
  return sign(null, checkpointPayload(seq, hash, createdAt), privateKey).toString('base64');
}

/**
 * Returns whether `signature` (base64) is a valid Ed25519 signature by `publicKey` over the
 * checkpoint for entry `seq`: the version 2 payload when `createdAt` is given, version 1
 * otherwise. A malformed signature returns false.
 */
export function verifyCheckpointSignature(
  seq: number,
  hash: string,
  signature: string,
  publicKey: KeyObject,
  createdAt?: string,
): boolean {
  try {
    return verify(
      null,
      checkpointPayload(seq, hash, createdAt),
      publicKey,
      Buffer.from(signature, 'base64'),
    );
  } catch {
    return false;
  }
}

/**
 * Creates a version 2 checkpoint for the chain head (`seq`, `hash`) at `now`, signed with
 * `privateKey`. Both stores write their checkpoints with it.
 */
export function createCheckpoint(
  seq: number,
  hash: string,
  signer: { privateKey: KeyObject; keyId: string },
  now: Date = new Date(),
): AuditCheckpoint {
  const createdAt = now.toISOString();
  return {
    seq,
    hash,
    keyId: signer.keyId,
    signature: signCheckpoint(seq, hash, signer.privateKey, createdAt),
    createdAt,
    version: 2,
  };
}

/** Returns whether the checkpoint's signature verifies with `publicKey`, by its version. */
export function checkpointSignatureValid(
  checkpoint: AuditCheckpoint,
  publicKey: KeyObject,
): boolean {
  const createdAt = checkpoint.version === 2 ? checkpoint.createdAt : undefined;
  return verifyCheckpointSignature(
    checkpoint.seq,
    checkpoint.hash,
    checkpoint.signature,
    publicKey,
    createdAt,
  );
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
