/**
 * `npm run bench` entry point. `--quick` runs a few hundred operations per case as a smoke test;
 * the full run uses enough operations for stable ratios. Prints tables with ratios measured in
 * this same run, never absolute targets.
 */
import { format, type Measurement } from './measure.js';
import { runGatewayBenchmarks, type LoadResult } from './gateway.js';
import { boundHolds, gcExposed, runGrowthBenchmarks } from './growth.js';
import { runMicroBenchmarks } from './micro.js';

const quick = process.argv.includes('--quick');

function printMicro(results: Measurement[]): void {
  const floor = results.find((result) => result.name.startsWith('floor'));
  const rampart = results.find((result) => result.name === 'Rampart: whole verification step');
  process.stdout.write(
    '\n| case | ops/s | µs/op | × floor | Rampart speed-up over it |\n| --- | ---: | ---: | ---: | ---: |\n',
  );
  for (const result of results) {
    const toFloor = floor === undefined ? NaN : result.microsecondsPerOp / floor.microsecondsPerOp;
    const speedUp =
      rampart === undefined ? NaN : result.microsecondsPerOp / rampart.microsecondsPerOp;
    process.stdout.write(
      `| ${result.name} | ${format(result.opsPerSecond)} | ${format(result.microsecondsPerOp)} | ${format(toFloor)} | ${format(speedUp)} |\n`,
    );
  }
}

process.stdout.write(
  `Rampart benchmarks${quick ? ' (quick)' : ''}: node ${process.version}, ${process.platform} ${process.arch}\n`,
);
printMicro(await runMicroBenchmarks(quick ? 300 : 20_000));

function printGateway(results: LoadResult[]): void {
  const baseline = results.find((result) => result.name.startsWith('(b) plain'));
  process.stdout.write(
    '\n| server | req/s | p50 ms | p99 ms | req/s ÷ (b) | server CPU µs/req | errors | non-2xx |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n',
  );
  for (const result of results) {
    const ratio =
      baseline === undefined ? NaN : result.requestsPerSecond / baseline.requestsPerSecond;
    process.stdout.write(
      `| ${result.name} | ${format(result.requestsPerSecond)} | ${result.p50Ms} | ${result.p99Ms} | ${format(ratio)} | ${format(result.serverCpuMicroseconds)} | ${result.errors} | ${result.non2xx} |\n`,
    );
  }
}

printGateway(await runGatewayBenchmarks(quick ? 2 : 10));

const growth = await runGrowthBenchmarks(
  quick ? [1000, 10_000] : [1000, 10_000, 100_000, 1_000_000],
);
process.stdout.write(
  `\n| stored nonces | heap bytes per nonce${gcExposed ? '' : ' (no --expose-gc: high)'} | µs per claim |\n| ---: | ---: | ---: |\n`,
);
for (const row of growth) {
  process.stdout.write(
    `| ${row.nonces} | ${format(row.bytesPerNonce)} | ${format(row.claimMicroseconds)} |\n`,
  );
}
process.stdout.write(
  `\nbound of 1000 entries holds (full store rejects, keeps live nonces): ${await boundHolds()}\n`,
);
