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

/** One benchmark case: a factory of fresh inputs and the operation timed on each. */
export interface BenchCase<T> {
  name: string;
  input: (index: number) => T;
  run: (input: T) => unknown;
  /** Cap on timed calls per round, for slow operations. Default: no cap. */
  maxCount?: number;
}

/** Builds a {@link BenchCase}, with the input type inferred from the factory. */
export function benchCase<T>(
  name: string,
  input: (index: number) => T,
  run: (input: T) => unknown,
  options: { maxCount?: number } = {},
): BenchCase<T> {
  return { name, input, run, ...options };
}

/**
 * Times every case in `rounds` rounds, the cases taking turns within each round, so a change in
 * machine speed during the run falls on all of them. Each round gets fresh inputs and `count`
 * calls (split evenly over the rounds). Reports each case's fastest round, the one least
 * disturbed by other work on the machine.
 */
export async function measureRounds(
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each case has its own input type
  cases: ReadonlyArray<BenchCase<any>>,
  count: number,
  rounds: number,
): Promise<Measurement[]> {
  const best = new Map<string, Measurement>();
  for (let round = 0; round < rounds; round += 1) {
    for (const benchmark of cases) {
      const perRound = Math.max(
        1,
        Math.floor(Math.min(count, benchmark.maxCount ?? count) / rounds),
      );
      const inputs = inputsOf(perRound, benchmark.input);
      // Only the first round warms up. Later rounds time all their inputs.
      const timed = round === 0 ? inputs : { warmup: [], timed: inputs.timed };
      const result = await measure(benchmark.name, timed, benchmark.run);
      const previous = best.get(benchmark.name);
      if (previous === undefined || result.microsecondsPerOp < previous.microsecondsPerOp)
        best.set(benchmark.name, result);
    }
  }
  return cases.map((benchmark) => best.get(benchmark.name) as Measurement);
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
