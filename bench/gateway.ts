/**
 * Gateway throughput and latency with autocannon, all in one run so the ratios share a machine
 * state: (a) the upstream directly, (b) a plain Fastify proxy with no security, (c) Rampart with
 * its embedded stores, (d) Rampart with Redis and PostgreSQL. The load client signs every request with a fresh nonce before the timed
 * window, so signing does not limit the load.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

import autocannon from 'autocannon';

import { RampartClient } from '../src/client/rampart-client.js';
import { BENCH_USER } from './servers.js';

/** One autocannon run. */
export interface LoadResult {
  name: string;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  non2xx: number;
  /**
   * CPU time of the server process per request, in microseconds, read from `/proc` (Linux
   * only, else NaN). Unlike req/s it shows the cost per request when the machine is shared.
   */
  serverCpuMicroseconds: number;
}

async function startServer(
  kind: string,
  ...args: string[]
): Promise<{ url: string; child: ChildProcess }> {
  // Node itself with the tsx loader, not the tsx command, so the server is this one process
  // and its CPU time can be read.
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/servers.ts', kind, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  for await (const line of lines) {
    const { port } = JSON.parse(line) as { port: number };
    return { url: `http://127.0.0.1:${port}`, child };
  }
  throw new Error(`${kind} server exited before it listened`);
}

// utime plus stime of a process, in clock ticks, from /proc/<pid>/stat (fields 14 and 15).
function cpuTicks(pid: number | undefined): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name in field 2 may contain spaces, so fields are counted after its `)`.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return NaN;
  }
}

// Linux reports /proc CPU times in USER_HZ ticks, which are 1/100 s on x86-64 and arm64.
const MICROSECONDS_PER_TICK = 10_000;

async function load(
  name: string,
  url: string,
  server: ChildProcess,
  options: {
    seconds: number;
    connections: number;
    rate?: number;
    headers?: () => Record<string, string>;
  },
): Promise<LoadResult> {
  const ticksBefore = cpuTicks(server.pid);
  const result = await autocannon({
    url,
    connections: options.connections,
    duration: options.seconds,
    overallRate: options.rate,
    requests: [
      {
        method: 'GET',
        path: '/api/accounts',
        setupRequest: (request: { headers?: Record<string, string> }) => {
          if (options.headers !== undefined) request.headers = options.headers();
          return request;
        },
      },
    ],
  });
  const ticks = cpuTicks(server.pid) - ticksBefore;
  return {
    name,
    serverCpuMicroseconds: (ticks * MICROSECONDS_PER_TICK) / Math.max(1, result.requests.total),
    requestsPerSecond: result.requests.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    errors: result.errors,
    non2xx: result.non2xx,
  };
}

/** Runs the gateway benchmarks; `seconds` per load level. */
export async function runGatewayBenchmarks(seconds: number): Promise<LoadResult[]> {
  const upstream = await startServer('upstream');
  const plainProxy = await startServer('proxy', upstream.url);
  const rampart = await startServer('rampart', upstream.url);
  const shared = await startServer('rampart-shared', upstream.url);
  const children = [upstream.child, plainProxy.child, rampart.child, shared.child];
  try {
    const client = new RampartClient({ baseUrl: rampart.url });
    await client.login(BENCH_USER.username, BENCH_USER.password);
    const sharedClient = new RampartClient({ baseUrl: shared.url });
    await sharedClient.login(BENCH_USER.username, BENCH_USER.password);
    // Pre-sign more requests than the fastest run can send; each is used once.
    const presignFor = (signer: RampartClient, count: number) => {
      const signed = Array.from(
        { length: count },
        () => signer.sign('/api/accounts').init.headers as Record<string, string>,
      );
      let next = 0;
      return () => signed[next++ % signed.length] as Record<string, string>;
    };
    const presign = (count: number) => presignFor(client, count);
    const connections = 32;
    const results: LoadResult[] = [];

    results.push(
      await load('(a) upstream directly', upstream.url, upstream.child, { seconds, connections }),
    );
    const proxyMax = await load('(b) plain Fastify proxy', plainProxy.url, plainProxy.child, {
      seconds,
      connections,
    });
    results.push(proxyMax);
    const budget = Math.ceil(proxyMax.requestsPerSecond * seconds * 1.2);
    results.push(
      await load('(c) Rampart, embedded stores', rampart.url, rampart.child, {
        seconds,
        connections,
        headers: presign(budget),
      }),
    );

    results.push(
      await load('(d) Rampart, Redis and PostgreSQL', shared.url, shared.child, {
        seconds,
        connections,
        headers: presignFor(sharedClient, budget),
      }),
    );

    const halfRate = Math.floor(proxyMax.requestsPerSecond / 2);
    results.push(
      await load(`(b) at half of (b)'s max, ${halfRate}/s`, plainProxy.url, plainProxy.child, {
        seconds,
        connections,
        rate: halfRate,
      }),
    );
    results.push(
      await load(`(c) at half of (b)'s max, ${halfRate}/s`, rampart.url, rampart.child, {
        seconds,
        connections,
        rate: halfRate,
        // autocannon can send more than the rate in a short run, and a reused signature would
        // count as a nonce_replayed rejection, so the margin is wide.
        headers: presign(Math.ceil(halfRate * seconds * 2)),
      }),
    );
    return results;
  } finally {
    await Promise.all(
      children.map((child) => {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        return exited;
      }),
    );
  }
}
