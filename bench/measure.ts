/** Result of timing one operation. */
export interface Measurement {
  name: string;
  operations: number;
  opsPerSecond: number;
  microsecondsPerOp: number;
}

/**
 * Times `operation` over `inputs` (one input per call, so stateful checks such as a nonce insert
 * never see the same value twice), after a warm-up on separate inputs.
 */
export async function measure<T>(
  name: string,
  inputs: { warmup: T[]; timed: T[] },
  operation: (input: T) => unknown,
): Promise<Measurement> {
  for (const input of inputs.warmup) await operation(input);
  const start = process.hrtime.bigint();
  for (const input of inputs.timed) await operation(input);
  const elapsedNs = Number(process.hrtime.bigint() - start);
  const operations = inputs.timed.length;
  return {
    name,
    operations,
    opsPerSecond: (operations * 1e9) / elapsedNs,
    microsecondsPerOp: elapsedNs / 1000 / operations,
  };
}

/** Builds `count` inputs for warm-up and timing from a factory called with the index. */
export function inputsOf<T>(
  count: number,
  make: (index: number) => T,
): { warmup: T[]; timed: T[] } {
  const warmupCount = Math.max(100, Math.floor(count / 10));
  return {
    warmup: Array.from({ length: warmupCount }, (_, i) => make(i)),
    timed: Array.from({ length: count }, (_, i) => make(warmupCount + i)),
  };
}

/** Formats a number with a fixed number of significant digits for the tables. */
export function format(value: number, digits = 3): string {
  return value >= 100 ? value.toFixed(0) : value.toPrecision(digits);
}
