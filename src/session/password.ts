import argon2 from 'argon2';

/**
 * argon2id parameters: 19 MiB, 2 passes, 1 lane, the first configuration that the OWASP
 * Password Storage Cheat Sheet lists for argon2id.
 */
const ARGON2_OPTIONS = {
  type: argon2.argon2id,
  memoryCost: 19_456,
  timeCost: 2,
  parallelism: 1,
} as const;

/** Hashes `password` with argon2id; the result is a PHC string that embeds salt and parameters. */
export function hashPassword(password: string): Promise<string> {
  return argon2.hash(password, ARGON2_OPTIONS);
}

let dummyHash: Promise<string> | undefined;

/**
 * Verifies `password` against a stored PHC hash. With no stored hash (unknown user) it still
 * runs one argon2id verification against a dummy, so response time does not reveal whether the
 * user exists.
 */
export async function verifyPassword(
  storedHash: string | undefined,
  password: string,
): Promise<boolean> {
  if (storedHash === undefined) {
    dummyHash ??= hashPassword('rampart-dummy-password');
    await argon2.verify(await dummyHash, password).catch(() => false);
    return false;
  }
  try {
    return await argon2.verify(storedHash, password);
  } catch {
    return false;
  }
}
