/** The session a browser login establishes, as the page may see it. */
export interface BrowserSession {
  /** Session id; it is also the signature `keyid`. */
  sessionId: string;
  subject: string;
  username: string;
  roles: string[];
  permissions: string[];
  /** Token expiry, in seconds on the gateway's clock. */
  expiresAt: number;
  /** Absolute session expiry, in seconds on the gateway's clock. */
  sessionExpiresAt: number;
}

/** Session record the SDK stores between page loads. */
export interface StoredSession extends BrowserSession {
  /** The gateway origin the session belongs to. */
  origin: string;
  /** The HMAC session key: non-extractable, usable only to sign and verify. */
  key: CryptoKey;
  /** Token expiry on the local clock, in milliseconds. */
  localExpiresAt: number;
  /** Absolute session expiry on the local clock, in milliseconds. */
  localSessionExpiresAt: number;
  /** Seconds to add to the local clock to match the gateway's, from signed `clock_skew` only. */
  clockOffset: number;
}

/** Storage for the SDK's session between page loads. */
export interface SessionStore {
  load(origin: string): Promise<StoredSession | undefined>;
  save(session: StoredSession): Promise<void>;
  clear(origin: string): Promise<void>;
}

/** IndexedDB database the default store uses. */
export const SESSION_DATABASE = 'rampart';
/** Object store inside {@link SESSION_DATABASE}; records are keyed by gateway origin. */
export const SESSION_OBJECT_STORE = 'sessions';

/**
 * Keeps the session in IndexedDB, keyed by gateway origin. IndexedDB stores a `CryptoKey` by
 * structured clone, which keeps it non-extractable, so the key survives a reload and still
 * cannot be read by page script.
 */
export class IndexedDbSessionStore implements SessionStore {
  #database: Promise<IDBDatabase> | undefined;

  async load(origin: string): Promise<StoredSession | undefined> {
    const record = await this.#run('readonly', (store) => store.get(origin));
    return isStoredSession(record) ? record : undefined;
  }

  async save(session: StoredSession): Promise<void> {
    await this.#run('readwrite', (store) => store.put(session, session.origin));
  }

  async clear(origin: string): Promise<void> {
    await this.#run('readwrite', (store) => store.delete(origin));
  }

  async #run(
    mode: IDBTransactionMode,
    operation: (store: IDBObjectStore) => IDBRequest,
  ): Promise<unknown> {
    const database = await this.#open();
    return new Promise((resolve, reject) => {
      const transaction = database.transaction(SESSION_OBJECT_STORE, mode);
      const request = operation(transaction.objectStore(SESSION_OBJECT_STORE));
      // Resolve on commit, so a save is durable before the caller goes on.
      transaction.oncomplete = () => resolve(request.result);
      transaction.onerror = () =>
        reject(transaction.error ?? new Error('IndexedDB transaction failed'));
      transaction.onabort = () =>
        reject(transaction.error ?? new Error('IndexedDB transaction aborted'));
    });
  }

  #open(): Promise<IDBDatabase> {
    this.#database ??= new Promise((resolve, reject) => {
      const request = globalThis.indexedDB.open(SESSION_DATABASE, 1);
      request.onupgradeneeded = () => request.result.createObjectStore(SESSION_OBJECT_STORE);
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error ?? new Error('IndexedDB open failed'));
    });
    return this.#database;
  }
}

/** Keeps the session in memory only, so a reload ends it. For tests and private modes. */
export class MemorySessionStore implements SessionStore {
  readonly #sessions = new Map<string, StoredSession>();

  async load(origin: string): Promise<StoredSession | undefined> {
    return this.#sessions.get(origin);
  }

  async save(session: StoredSession): Promise<void> {
    this.#sessions.set(session.origin, session);
  }

  async clear(origin: string): Promise<void> {
    this.#sessions.delete(origin);
  }
}

function isStoredSession(value: unknown): value is StoredSession {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as Partial<StoredSession>;
  return (
    typeof record.sessionId === 'string' &&
    record.key instanceof CryptoKey &&
    typeof record.localExpiresAt === 'number' &&
    typeof record.clockOffset === 'number'
  );
}
