/**
 * Tamper-evident audit trail: entry types, the hash chain, signed checkpoints, the SQLite and
 * PostgreSQL stores, the verifier and the JSON Lines export.
 */

export type {
  AuditEntry,
  AuditEntryInput,
  AuditEvent,
  AuditLog,
  AuditOutcome,
} from './audit-entry.js';
export { AUDIT_EVENTS, AUDIT_OUTCOMES, normalizeAuditEntryInput } from './audit-entry.js';
export { computeEntryHash, ENTRY_HASH_VERSION, GENESIS_HASH } from './entry-hash.js';
export type { AuditCheckpoint, CheckpointVersion } from './checkpoint.js';
export {
  CHECKPOINT_VERSION,
  CHECKPOINT_VERSION_2,
  checkpointPayload,
  checkpointSignatureValid,
  createCheckpoint,
  deriveAuditKeyId,
  signCheckpoint,
  verifyCheckpointSignature,
} from './checkpoint.js';
export type { CheckpointPolicy, CheckpointState } from './checkpoint-policy.js';
export { isCheckpointDue } from './checkpoint-policy.js';
export type { SqliteAuditLogOptions } from './audit-log-sqlite.js';
export { SqliteAuditLog } from './audit-log-sqlite.js';
export type { PostgresAuditLogOptions } from './audit-log-postgres.js';
export { PostgresAuditLog } from './audit-log-postgres.js';
export type { AuditVerifyFailure, AuditVerifyResult, ChainHead } from './chain-verifier.js';
export { ChainVerifier } from './chain-verifier.js';
export type { VerifyAuditTrailOptions, VerifyPostgresAuditTrailOptions } from './verify-trail.js';
export { verifyAuditTrail } from './verify-trail.js';
export type { AuditExportLine, AuditExportSummary, AuditTrailSource } from './export-trail.js';
export { exportAuditTrail } from './export-trail.js';
