-- The hash-chained audit trail. Columns match the SQLite store, so both stores hash and verify
-- the same way. time and created_at stay text: the hash covers the exact ISO 8601 string.
CREATE TABLE audit_entries (
  seq bigint PRIMARY KEY,
  time text NOT NULL,
  event text NOT NULL,
  outcome text NOT NULL,
  code text,
  subject text,
  session_id text,
  request_id text,
  method text,
  path text,
  body_digest text,
  client_address text,
  service text,
  upstream_status integer,
  latency_ms double precision,
  prev_hash text NOT NULL,
  hash text NOT NULL
);

-- Finds the entries of one request, such as the one a client reports by its request id.
CREATE INDEX audit_entries_request_id ON audit_entries (request_id);

-- Signed checkpoints. version 2 signs seq, hash and created_at.
CREATE TABLE audit_checkpoints (
  seq bigint PRIMARY KEY,
  hash text NOT NULL,
  key_id text NOT NULL,
  signature text NOT NULL,
  created_at text NOT NULL,
  version integer NOT NULL
);

-- The chain head, in exactly one row. Every append locks it (SELECT ... FOR UPDATE), so
-- appends from all gateway instances are serialized into one chain. pending_since is the time
-- of the first entry after the last checkpoint, for time-based checkpoints.
CREATE TABLE audit_head (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  seq bigint NOT NULL,
  hash text NOT NULL,
  checkpoint_seq bigint NOT NULL,
  pending_since timestamptz
);

INSERT INTO audit_head (seq, hash, checkpoint_seq) VALUES (0, repeat('0', 64), 0);
