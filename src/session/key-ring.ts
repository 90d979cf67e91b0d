/** One version of a rotating symmetric key. */
export interface KeyVersion {
  /** Key id, sent as JWE `kid` or RFC 9421 `keyid`; unique within the key file. */
  kid: string;
  key: Uint8Array;
  /** Time from which this version signs, in epoch milliseconds. Undefined: at once. */
  activeFrom?: number;
}

/**
 * Versions of one key, newest first. The newest version whose `activeFrom` has passed signs;
 * every version verifies until it is removed from the key file. A future `activeFrom` lets
 * every instance load the new version before any instance signs with it.
 */
export class KeyRing {
  /** Name of the key: `tokens`, or a hop key name such as `gateway-accounts`. */
  readonly name: string;
  /** Every version, newest first. */
  readonly versions: readonly KeyVersion[];
  /** Every version's key by key id. */
  readonly byKid: Map<string, Uint8Array>;
  readonly #now: () => number;

  /**
   * @param versions newest first; at least one.
   * @param now clock in epoch milliseconds, for tests. Default `Date.now`.
   * @throws TypeError when `versions` is empty.
   */
  constructor(name: string, versions: readonly KeyVersion[], now: () => number = Date.now) {
    if (versions.length === 0) throw new TypeError(`Key ${name} needs at least one version.`);
    this.name = name;
    this.versions = versions;
    this.byKid = new Map(versions.map((version) => [version.kid, version.key]));
    this.#now = now;
  }

  /**
   * The version that signs now: the first active one, or the oldest when none is active yet,
   * because something must sign.
   */
  get current(): { kid: string; key: Uint8Array } {
    const now = this.#now();
    const active = this.versions.find(
      (version) => version.activeFrom === undefined || version.activeFrom <= now,
    );
    const chosen = active ?? (this.versions.at(-1) as KeyVersion);
    return { kid: chosen.kid, key: chosen.key };
  }
}
