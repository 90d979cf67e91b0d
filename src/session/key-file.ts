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
import { KeyRing, type KeyVersion } from './key-ring.js';

/** Token sealing keys; `current` seals, every key in `byKid` opens. */
export interface TokenKeyRing {
  readonly current: { kid: string; key: Uint8Array };
  byKid: Map<string, Uint8Array>;
}

/** Every key a Rampart deployment uses, loaded and checked. */
export interface RampartKeys {
  /** Token sealing keys, newest version first. */
  tokens: KeyRing;
  /**
   * Every version of every hop key by key id, such as `gateway-accounts`: what a service that
   * verifies hops needs.
   */
  hop: Map<string, Uint8Array>;
  /** Hop keys by name, with their versions: what the gateway signs hops with. */
  hopRings: Map<string, KeyRing>;
  audit: { kid: string; privateKey: KeyObject; publicKey: KeyObject };
}

const base64url = z.string().regex(/^[A-Za-z0-9_-]+$/, 'must be base64url');

const keyVersionSchema = z.object({
  kid: z.string().min(1),
  key: base64url,
  /** ISO 8601 time from which this version signs; absent means at once. */
  activeFrom: z.iso.datetime().optional(),
});

const keyFileSchema = z.object({
  version: z.literal(1),
  tokenKeys: z.array(keyVersionSchema).min(1),
  /**
   * A hop key is either one base64url key, whose key id is its name, or its versions, newest
   * first, after `rampart keygen --rotate`.
   */
  hopKeys: z.record(z.string().min(1), z.union([base64url, z.array(keyVersionSchema).min(1)])),
  auditKey: z.object({
    kid: z.string().min(1),
    privateKeyPem: z.string(),
    publicKeyPem: z.string(),
  }),
});

/**
 * The JSON layout of a key file. Versions are listed newest first; the first token key whose
 * `activeFrom` has passed seals new tokens, and likewise for each hop key.
 */
export type KeyFile = z.infer<typeof keyFileSchema>;

/** One stored version of a token or hop key. */
export type KeyFileVersion = z.infer<typeof keyVersionSchema>;

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
  const file = readKeyFile(path);

  const tokenVersions = file.tokenKeys.map((version) => {
    const loaded = loadVersion(version);
    if (loaded.key.length !== 32) {
      throw new Error(
        `key file ${path}: token key ${version.kid} must be 32 bytes, has ${loaded.key.length}`,
      );
    }
    return loaded;
  });
  assertUniqueKids(path, 'token key', tokenVersions);
  const tokens = new KeyRing('tokens', tokenVersions);

  const hop = new Map<string, Uint8Array>();
  const hopRings = new Map<string, KeyRing>();
  for (const [name, value] of Object.entries(file.hopKeys)) {
    const versions = hopKeyVersions(name, value).map(loadVersion);
    for (const version of versions) {
      if (version.key.length < MIN_HMAC_KEY_BYTES) {
        throw new Error(
          `key file ${path}: hop key ${version.kid} must be at least ${MIN_HMAC_KEY_BYTES} bytes, has ${version.key.length}`,
        );
      }
      if (hop.has(version.kid)) {
        throw new Error(`key file ${path}: hop key id ${version.kid} appears more than once`);
      }
      hop.set(version.kid, version.key);
    }
    hopRings.set(name, new KeyRing(name, versions));
  }

  const privateKey = createPrivateKey(file.auditKey.privateKeyPem);
  const publicKey = createPublicKey(file.auditKey.publicKeyPem);
  if (privateKey.asymmetricKeyType !== 'ed25519' || publicKey.asymmetricKeyType !== 'ed25519') {
    throw new Error(`key file ${path}: audit key must be an Ed25519 key pair`);
  }

  return { tokens, hop, hopRings, audit: { kid: file.auditKey.kid, privateKey, publicKey } };
}

/**
 * Reads a key file and checks its JSON layout, without decoding the keys. Rotation edits the
 * result and writes it back with `replaceKeyFile`.
 *
 * @throws Error when the file is missing, readable by others, not JSON or invalid.
 */
export function readKeyFile(path: string): KeyFile {
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
  return parsed.data;
}

/** Returns the versions of a hop key, newest first; a single key is one version named `name`. */
export function hopKeyVersions(name: string, value: KeyFile['hopKeys'][string]): KeyFileVersion[] {
  return typeof value === 'string' ? [{ kid: name, key: value }] : value;
}

function loadVersion(version: KeyFileVersion): KeyVersion {
  const loaded: KeyVersion = { kid: version.kid, key: Buffer.from(version.key, 'base64url') };
  if (version.activeFrom !== undefined) loaded.activeFrom = Date.parse(version.activeFrom);
  return loaded;
}

function assertUniqueKids(path: string, what: string, versions: KeyVersion[]): void {
  const seen = new Set<string>();
  for (const { kid } of versions) {
    if (seen.has(kid))
      throw new Error(`key file ${path}: ${what} id ${kid} appears more than once`);
    seen.add(kid);
  }
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
