import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  type KeyObject,
} from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

import { z } from 'zod';

import { MIN_HMAC_KEY_BYTES } from '../signature/algorithms.js';

/** Token sealing keys; `current` seals, every key in `byKid` opens. */
export interface TokenKeyRing {
  current: { kid: string; key: Uint8Array };
  byKid: Map<string, Uint8Array>;
}

/** Every key a Rampart deployment uses, loaded and checked. */
export interface RampartKeys {
  tokens: TokenKeyRing;
  /** Hop keys by key id, such as `gateway-accounts`. */
  hop: Map<string, Uint8Array>;
  audit: { kid: string; privateKey: KeyObject; publicKey: KeyObject };
}

const base64url = z.string().regex(/^[A-Za-z0-9_-]+$/, 'must be base64url');

const keyFileSchema = z.object({
  version: z.literal(1),
  tokenKeys: z.array(z.object({ kid: z.string().min(1), key: base64url })).min(1),
  hopKeys: z.record(z.string().min(1), base64url),
  auditKey: z.object({
    kid: z.string().min(1),
    privateKeyPem: z.string(),
    publicKeyPem: z.string(),
  }),
});

/** The JSON layout of a key file. The first token key is the one that seals new tokens. */
export type KeyFile = z.infer<typeof keyFileSchema>;

/** Creates fresh keys: one token key, one hop key per id, and an Ed25519 audit key pair. */
export function generateKeyFile(hopKeyIds: readonly string[]): KeyFile {
  const stamp = new Date().toISOString().slice(0, 10);
  const audit = generateKeyPairSync('ed25519');
  return {
    version: 1,
    tokenKeys: [
      {
        kid: `token-${stamp}-${randomBytes(3).toString('hex')}`,
        key: randomBytes(32).toString('base64url'),
      },
    ],
    hopKeys: Object.fromEntries(hopKeyIds.map((id) => [id, randomBytes(32).toString('base64url')])),
    auditKey: {
      kid: `audit-${stamp}-${randomBytes(3).toString('hex')}`,
      privateKeyPem: audit.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      publicKeyPem: audit.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    },
  };
}

/** Writes `keys` to `path` with mode 0600, creating the folder. Never overwrites a file. */
export function writeKeyFile(path: string, keys: KeyFile): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(keys, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
}

/**
 * Reads and checks a key file: token keys must be 32 bytes (A256GCM), hop keys at least 32
 * bytes, the audit key an Ed25519 pair. Errors name the key, never its value.
 *
 * @throws Error when the file is missing, readable by others, or invalid.
 */
export function loadKeyFile(path: string): RampartKeys {
  const mode = statSync(path).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    throw new Error(`key file ${path} has mode ${mode.toString(8)}; run chmod 600 on it`);
  }
  const parsed = keyFileSchema.safeParse(JSON.parse(readFileSync(path, 'utf8')));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(
      `key file ${path}: ${issue?.path.join('.') ?? ''} ${issue?.message ?? 'is invalid'}`,
    );
  }
  const file = parsed.data;

  const byKid = new Map<string, Uint8Array>();
  for (const { kid, key } of file.tokenKeys) {
    const bytes = Buffer.from(key, 'base64url');
    if (bytes.length !== 32)
      throw new Error(`key file ${path}: token key ${kid} must be 32 bytes, has ${bytes.length}`);
    byKid.set(kid, bytes);
  }
  const first = file.tokenKeys[0] as { kid: string };

  const hop = new Map<string, Uint8Array>();
  for (const [id, key] of Object.entries(file.hopKeys)) {
    const bytes = Buffer.from(key, 'base64url');
    if (bytes.length < MIN_HMAC_KEY_BYTES) {
      throw new Error(
        `key file ${path}: hop key ${id} must be at least ${MIN_HMAC_KEY_BYTES} bytes, has ${bytes.length}`,
      );
    }
    hop.set(id, bytes);
  }

  const privateKey = createPrivateKey(file.auditKey.privateKeyPem);
  const publicKey = createPublicKey(file.auditKey.publicKeyPem);
  if (privateKey.asymmetricKeyType !== 'ed25519' || publicKey.asymmetricKeyType !== 'ed25519') {
    throw new Error(`key file ${path}: audit key must be an Ed25519 key pair`);
  }

  return {
    tokens: { current: { kid: first.kid, key: byKid.get(first.kid) as Uint8Array }, byKid },
    hop,
    audit: { kid: file.auditKey.kid, privateKey, publicKey },
  };
}

/**
 * Loads the key file at `path`, or in development mode creates it first (the caller logs a
 * warning when `created` is true). Production mode never creates keys.
 *
 * @throws Error in production mode when the file is missing.
 */
export function ensureKeyFile(
  path: string,
  options: { production: boolean; hopKeyIds: readonly string[] },
): { keys: RampartKeys; created: boolean } {
  if (existsSync(path)) return { keys: loadKeyFile(path), created: false };
  if (options.production) {
    throw new Error(
      `key file ${path} does not exist; create it with "rampart keygen --out ${path}"`,
    );
  }
  writeKeyFile(path, generateKeyFile(options.hopKeyIds));
  return { keys: loadKeyFile(path), created: true };
}
