import { readProblem, type RampartBrowserClient } from '../../../../src/client/browser/index.js';

/** An account as the accounts service returns it. */
export interface Account {
  id: string;
  ownerId: string;
  name: string;
  type: 'checking' | 'savings';
  currency: string;
  balance: string;
}

/** One transfer in an account's history; a debit has a negative amount. */
export interface Transaction {
  transferId: string;
  amount: string;
  currency: string;
  counterparty: string;
  counterpartyName?: string;
  reference?: string;
  postedAt: string;
}

/** A transfer to post. */
export interface TransferRequest {
  fromAccount: string;
  toAccount: string;
  amount: string;
  reference?: string;
}

/** A posted transfer. */
export interface TransferResult {
  transferId: string;
  fromAccount: string;
  toAccount: string;
  amount: string;
  status: string;
}

/** An audit entry as the audit service lists it. */
export interface AuditEntry {
  seq: number;
  time: string;
  event: string;
  outcome: string;
  code?: string;
  subject?: string;
  sessionId?: string;
  requestId?: string;
  method?: string;
  path?: string;
  service?: string;
  upstreamStatus?: number;
}

/** The outcome of verifying the audit chain. */
export type AuditVerification =
  | { ok: true; entries: number; checkpoints: number; lastHash: string }
  | { ok: false; seq: number; reason: string; entries: number };

/** Allowed and rejected calls in one minute. */
export interface ActivityBucket {
  start: string;
  allowed: number;
  rejected: number;
}

/** A rejection the bank sent, with its stable code. */
export class BankRejection extends Error {
  readonly code: string;
  readonly status: number;

  constructor(code: string, status: number, title: string | undefined) {
    super(title ?? `The bank rejected the request with status ${status}.`);
    this.name = 'BankRejection';
    this.code = code;
    this.status = status;
  }
}

/** The bank's API as the web app uses it; every call is signed by the SDK. */
export class BankApi {
  readonly #client: RampartBrowserClient;

  constructor(client: RampartBrowserClient) {
    this.#client = client;
  }

  async accounts(): Promise<Account[]> {
    return (await this.#get<{ accounts: Account[] }>('/api/accounts')).accounts;
  }

  async transactions(accountId: string): Promise<Transaction[]> {
    const path = `/api/accounts/${encodeURIComponent(accountId)}/transactions?limit=20`;
    return (await this.#get<{ transactions: Transaction[] }>(path)).transactions;
  }

  /** Posts a transfer. Reuse `idempotencyKey` when retrying, so the bank posts it at most once. */
  async transfer(transfer: TransferRequest, idempotencyKey: string): Promise<TransferResult> {
    const response = await this.#client.fetch('/api/transfers', {
      method: 'POST',
      body: transfer,
      idempotencyKey,
    });
    return this.#read<TransferResult>(response);
  }

  async auditEntries(limit: number): Promise<AuditEntry[]> {
    return (await this.#get<{ entries: AuditEntry[] }>(`/api/audit/entries?limit=${limit}`))
      .entries;
  }

  async auditVerification(): Promise<AuditVerification> {
    return this.#get<AuditVerification>('/api/audit/verify');
  }

  async auditActivity(minutes: number): Promise<ActivityBucket[]> {
    const path = `/api/audit/activity?minutes=${minutes}`;
    return (await this.#get<{ buckets: ActivityBucket[] }>(path)).buckets;
  }

  async #get<T>(path: string): Promise<T> {
    return this.#read<T>(await this.#client.fetch(path));
  }

  async #read<T>(response: Response): Promise<T> {
    if (!response.ok) {
      const problem = await readProblem(response);
      throw new BankRejection(problem.code ?? 'unknown', response.status, problem.title);
    }
    return (await response.json()) as T;
  }
}
