import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { main } from '../../src/cli/main.js';
import { sendRaw } from '../helpers/raw-http.js';

const TSX = join(process.cwd(), 'node_modules', '.bin', 'tsx');

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

function run(
  file: string,
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn(TSX, [file], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.on('close', (code) => resolve({ code, stdout }));
  });
}

let dir: string;
let configFile: string;
let gatewayUrl: string;
let demo: ChildProcess;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rampart-demo-'));
  const [gatewayPort, accountsPort, paymentsPort, ledgerPort, auditPort] = [
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
  ];
  const config = JSON.parse(readFileSync('rampart.config.json', 'utf8')) as {
    keysFile: string;
    dataDir: string;
    services: Record<string, { url: string }>;
  };
  config.keysFile = join(dir, 'keys.json');
  config.dataDir = dir;
  config.services.accounts = {
    ...config.services.accounts,
    url: `http://127.0.0.1:${accountsPort}`,
  };
  config.services.payments = {
    ...config.services.payments,
    url: `http://127.0.0.1:${paymentsPort}`,
  };
  config.services.audit = { ...config.services.audit, url: `http://127.0.0.1:${auditPort}` };
  configFile = join(dir, 'rampart.config.json');
  writeFileSync(configFile, JSON.stringify(config));
  gatewayUrl = `http://127.0.0.1:${gatewayPort}`;

  demo = spawn(TSX, ['examples/bank/start.ts'], {
    env: {
      ...process.env,
      PORT: String(gatewayPort),
      RAMPART_CONFIG: configFile,
      RAMPART_LEDGER_PORT: String(ledgerPort),
      LOG_LEVEL: 'warn',
    },
    stdio: 'inherit',
  });
  for (let attempt = 0; attempt < 100; attempt += 1) {
    const ready = await sendRaw(gatewayUrl, { method: 'GET', target: '/readyz' }).catch(
      () => undefined,
    );
    if (ready?.status === 200) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error('the demo did not become ready within 20 s');
}, 60_000);

afterAll(async () => {
  if (demo.exitCode === null) {
    const exited = new Promise((resolve) => demo.once('exit', resolve));
    demo.kill('SIGTERM');
    await exited;
  }
  rmSync(dir, { recursive: true, force: true });
});

describe('demo bank end to end', () => {
  it('answers healthz and rejects an unsigned call', async () => {
    const health = await sendRaw(gatewayUrl, { method: 'GET', target: '/healthz' });
    const unsigned = await sendRaw(gatewayUrl, { method: 'GET', target: '/api/accounts' });

    expect(health.status).toBe(200);
    expect(unsigned.status).toBe(401);
    expect(unsigned.headers['content-type']).toBe('application/problem+json');
    expect(unsigned.json.code).toBe('signature_missing');
  });

  it('rejects a direct unsigned call to a service port', async () => {
    const config = JSON.parse(readFileSync(configFile, 'utf8')) as {
      services: Record<string, { url: string }>;
    };
    for (const service of Object.values(config.services)) {
      const response = await sendRaw(service.url, { method: 'GET', target: '/api/accounts' });
      expect(response.status).toBe(401);
      expect(response.json.code).toBe('signature_missing');
    }
  });

  it('runs the demo client to a clean exit', async () => {
    const result = await run('examples/bank/demo-client.ts', { RAMPART_URL: gatewayUrl });

    expect(result.stdout).not.toContain('FAIL');
    expect(result.stdout).toMatch(/transfer 25\.00 to bob\s+201/);
    expect(result.stdout).toMatch(/replayed request is rejected\s+401 nonce_replayed/);
    expect(result.stdout).toMatch(/amount changed after signing is rejected\s+400 digest_mismatch/);
    expect(result.stdout).toMatch(/stale created is rejected\s+401 clock_skew/);
    expect(result.stdout).toMatch(/reading bob's account is rejected\s+403 resource_forbidden/);
    expect(result.code).toBe(0);
  }, 60_000);

  it('verifies the audit trail and names a changed entry', async () => {
    const intact = await main(['node', 'rampart', 'audit', 'verify', '--config', configFile]);
    expect(intact).toBe(0);

    const db = new Database(join(dir, 'audit.sqlite'));
    db.prepare("UPDATE audit_entries SET subject = 'u-mallory' WHERE seq = 2").run();
    db.close();

    const output: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string) =>
      output.push(chunk) > 0) as typeof process.stdout.write;
    let broken: number;
    try {
      broken = await main(['node', 'rampart', 'audit', 'verify', '--config', configFile]);
    } finally {
      process.stdout.write = write;
    }
    expect(broken).toBe(1);
    expect(output.join('')).toContain('BROKEN at entry 2');
  });
});
