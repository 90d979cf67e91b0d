/**
 * Tables of the demo ledger. Amounts are integer minor units. `postings` is append-only: a
 * correction is a new transfer, never an update. Idempotency results are kept without expiry.
 */
export const LEDGER_SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS accounts (
  id TEXT PRIMARY KEY,
  currency TEXT NOT NULL,
  allow_negative INTEGER NOT NULL CHECK (allow_negative IN (0, 1))
) STRICT;

CREATE TABLE IF NOT EXISTS transfers (
  id TEXT PRIMARY KEY,
  from_account TEXT NOT NULL REFERENCES accounts (id),
  to_account TEXT NOT NULL REFERENCES accounts (id),
  amount_minor INTEGER NOT NULL CHECK (amount_minor > 0),
  currency TEXT NOT NULL,
  reference TEXT,
  posted_at TEXT NOT NULL,
  CHECK (from_account <> to_account)
) STRICT;

CREATE TABLE IF NOT EXISTS postings (
  id INTEGER PRIMARY KEY,
  transfer_id TEXT NOT NULL REFERENCES transfers (id),
  account_id TEXT NOT NULL REFERENCES accounts (id),
  amount_minor INTEGER NOT NULL CHECK (amount_minor <> 0)
) STRICT;

CREATE INDEX IF NOT EXISTS postings_by_account ON postings (account_id);

CREATE TABLE IF NOT EXISTS idempotency_keys (
  scope TEXT NOT NULL,
  key TEXT NOT NULL,
  request_hash TEXT NOT NULL,
  status INTEGER NOT NULL,
  response TEXT NOT NULL,
  created_at TEXT NOT NULL,
  PRIMARY KEY (scope, key)
) STRICT;
`;
