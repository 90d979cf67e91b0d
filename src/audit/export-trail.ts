import { once } from 'node:events';
import type { Writable } from 'node:stream';

import type pg from 'pg';

import type { AuditEntry } from './audit-entry.js';
import type { AuditCheckpoint } from './checkpoint.js';
import { readPostgresTrail } from './postgres-trail.js';
import { readSqliteTrail } from './sqlite-trail.js';

/** Source of the trail: a SQLite file, or a PostgreSQL pool that is not closed. */
export type AuditTrailSource = { file: string } | { pool: pg.Pool };

/** One line of an export: an entry, or the checkpoint that covers the entry before it. */
export type AuditExportLine =
  ({ type: 'entry' } & AuditEntry) | ({ type: 'checkpoint' } & AuditCheckpoint);

/** Counts of what {@link exportAuditTrail} wrote. */
export interface AuditExportSummary {
  entries: number;
  checkpoints: number;
}

/**
 * Writes the trail to `out` as JSON Lines. Each entry is written as `{"type":"entry", ...}` in
 * `seq` order, and each checkpoint as `{"type":"checkpoint", ...}` right after the entry it
 * covers. A checkpoint that covers no exported entry comes at the end, so an export hides
 * nothing a verifier would flag. All reads come from one snapshot, as in `verifyAuditTrail`. The export
 * is not verified; run `rampart audit verify` for that.
 *
 * Waits for `out` to drain when its buffer is full, and does not end it.
 */
export async function exportAuditTrail(
  source: AuditTrailSource,
  out: Writable,
): Promise<AuditExportSummary> {
  if ('pool' in source) {
    return readPostgresTrail(source.pool, (trail) =>
      writeTrail(trail.checkpoints, trail.entries, out),
    );
  }

  // The SQLite snapshot lives in a synchronous transaction, so the lines are collected there
  // and written afterwards. NOTE: this keeps the whole SQLite export in memory.
  const lines: string[] = [];
  const summary = readSqliteTrail(source.file, (trail) =>
    collectTrail(trail.checkpoints, trail.entries, (line) => lines.push(line)),
  );
  for (const line of lines) await writeLine(out, line);
  return summary;
}

async function writeTrail(
  checkpoints: AuditCheckpoint[],
  entries: AsyncIterable<AuditEntry>,
  out: Writable,
): Promise<AuditExportSummary> {
  const order = new ExportOrder(checkpoints);
  for await (const entry of entries) {
    for (const line of order.linesFor(entry)) await writeLine(out, line);
  }
  for (const line of order.remainingLines()) await writeLine(out, line);
  return order.summary();
}

function collectTrail(
  checkpoints: AuditCheckpoint[],
  entries: Iterable<AuditEntry>,
  push: (line: string) => void,
): AuditExportSummary {
  const order = new ExportOrder(checkpoints);
  for (const entry of entries) order.linesFor(entry).forEach(push);
  order.remainingLines().forEach(push);
  return order.summary();
}

/** Places each checkpoint after the entry it covers. */
class ExportOrder {
  readonly #pending: Map<number, AuditCheckpoint>;
  readonly #checkpointCount: number;
  #entryCount = 0;

  constructor(checkpoints: AuditCheckpoint[]) {
    this.#pending = new Map(checkpoints.map((checkpoint) => [checkpoint.seq, checkpoint]));
    this.#checkpointCount = checkpoints.length;
  }

  /** Lines for `entry`: the entry, then its checkpoint if it has one. */
  linesFor(entry: AuditEntry): string[] {
    this.#entryCount += 1;
    const lines = [serialize({ type: 'entry', ...entry })];
    const checkpoint = this.#pending.get(entry.seq);
    if (checkpoint !== undefined) {
      lines.push(serialize({ type: 'checkpoint', ...checkpoint }));
      this.#pending.delete(entry.seq);
    }
    return lines;
  }

  /** Lines for the checkpoints that covered no entry, in `seq` order. */
  remainingLines(): string[] {
    return [...this.#pending.values()].map((checkpoint) =>
      serialize({ type: 'checkpoint', ...checkpoint }),
    );
  }

  summary(): AuditExportSummary {
    return { entries: this.#entryCount, checkpoints: this.#checkpointCount };
  }
}

function serialize(line: AuditExportLine): string {
  return `${JSON.stringify(line)}\n`;
}

async function writeLine(out: Writable, line: string): Promise<void> {
  if (!out.write(line)) await once(out, 'drain');
}
