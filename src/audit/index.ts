/** Tamper-evident audit trail: entry types, the hash chain, signed checkpoints, the SQLite store and the verifier. */

export type {
  AuditEntry,
  AuditEntryInput,
  AuditEvent,
  AuditLog,
  AuditOutcome,
} from './audit-entry.js';
export { AUDIT_EVENTS, AUDIT_OUTCOMES, normalizeAuditEntryInput } from './audit-entry.js';
export { computeEntryHash, ENTRY_HASH_VERSION, GENESIS_HASH } from './entry-hash.js';
export type { AuditCheckpoint } from './checkpoint.js';
export {
  CHECKPOINT_VERSION,
  checkpointPayload,
  deriveAuditKeyId,
  signCheckpoint,
  verifyCheckpointSignature,
} from './checkpoint.js';
export type { SqliteAuditLogOptions } from './audit-log-sqlite.js';
export { SqliteAuditLog } from './audit-log-sqlite.js';
export type { AuditVerifyResult, VerifyAuditTrailOptions } from './verify-trail.js';
export { verifyAuditTrail } from './verify-trail.js';
