/**
 * When a store writes a signed checkpoint: after `every` entries, or once the oldest entry
 * without a checkpoint is `intervalSeconds` old, whichever comes first.
 */
export interface CheckpointPolicy {
  /** Number of entries after which a checkpoint is written. */
  every: number;
  /** Longest time an entry waits for a checkpoint, in seconds. Undefined: no time limit. */
  intervalSeconds?: number;
}

/** Where the chain stands relative to its last checkpoint. */
export interface CheckpointState {
  /** Sequence number of the last entry. */
  tailSeq: number;
  /** Sequence number of the last checkpoint, 0 when there is none. */
  checkpointSeq: number;
  /** Time of the first entry after the last checkpoint, in epoch milliseconds. */
  pendingSinceMs?: number;
}

/** Returns whether a checkpoint is due under `policy` at `nowMs` (epoch milliseconds). */
export function isCheckpointDue(
  policy: CheckpointPolicy,
  state: CheckpointState,
  nowMs: number,
): boolean {
  const pending = state.tailSeq - state.checkpointSeq;
  if (pending <= 0) return false;
  if (pending >= policy.every) return true;
  if (policy.intervalSeconds === undefined || state.pendingSinceMs === undefined) return false;
  return nowMs - state.pendingSinceMs >= policy.intervalSeconds * 1000;
}

/**
 * Validates `checkpointEvery` and `checkpointIntervalSeconds` store options and returns the
 * policy, with `every` defaulting to 100. Throws a `TypeError` naming the option.
 */
export function checkpointPolicyFromOptions(options: {
  checkpointEvery?: number;
  checkpointIntervalSeconds?: number;
}): CheckpointPolicy {
  const { checkpointEvery, checkpointIntervalSeconds } = options;
  if (
    checkpointEvery !== undefined &&
    !(Number.isSafeInteger(checkpointEvery) && checkpointEvery >= 1)
  ) {
    throw new TypeError(
      `Option "checkpointEvery" must be a whole number of entries, 1 or more; received ${String(checkpointEvery)}.`,
    );
  }

  if (
    checkpointIntervalSeconds !== undefined &&
    !(Number.isFinite(checkpointIntervalSeconds) && checkpointIntervalSeconds > 0)
  ) {
    throw new TypeError(
      `Option "checkpointIntervalSeconds" must be a positive number of seconds; received ${String(checkpointIntervalSeconds)}.`,
    );
  }

  const policy: CheckpointPolicy = { every: checkpointEvery ?? 100 };
  if (checkpointIntervalSeconds !== undefined) policy.intervalSeconds = checkpointIntervalSeconds;
  return policy;
}

/**
 * Period of the timer that writes time-based checkpoints when no entry arrives: a quarter of
 * the interval, at least one second, so a checkpoint is at most that much late.
 */
export function checkpointTimerMs(policy: CheckpointPolicy): number | undefined {
  if (policy.intervalSeconds === undefined) return undefined;
  return Math.max(1000, Math.floor((policy.intervalSeconds * 1000) / 4));
}
