import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { build } from 'vite';

const TSX = join(process.cwd(), 'node_modules', '.bin', 'tsx');

/** A demo bank started for one test file, on free loopback ports and in a temporary folder. */
export interface RunningDemo {
  /** Gateway origin, such as `http://127.0.0.1:40123`. */
  url: string;
  /** The gateway port, also reachable as `http://localhost:<port>`. */
  port: number;
  /** Folder of the keys, users, ledger and audit files. */
  dataDir: string;
  /** The configuration file the demo runs with. */
  configFile: string;
  /** Stops the demo and removes its folder. */
  stop(): Promise<void>;
}

/** Options of {@link startDemo}. */
export interface DemoOptions {
  /** Changes the demo configuration before it is written, such as the token lifetime. */
  configure?: (config: Record<string, unknown>) => void;
}

/** Returns a TCP port that was free on 127.0.0.1 a moment ago. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/**
 * Builds the web app with Vite into a new temporary folder and returns it, so each test file
 * serves the current sources rather than whatever `npm run build:web` left in dist/web.
 */
export async function buildWebApp(): Promise<{ dir: string; remove: () => void }> {
  const dir = mkdtempSync(join(tmpdir(), 'rampart-web-'));
  await build({
    configFile: join(process.cwd(), 'examples', 'bank', 'web', 'vite.config.ts'),
    build: { outDir: dir, emptyOutDir: true },
    logLevel: 'warn',
  });
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Starts `examples/bank/start.ts` as `npm start` does, but with every port free and chosen
 * here, the data in a temporary folder and the web app from `webDir`, and waits until the
 * gateway responds to `/readyz`.
 */
export async function startDemo(webDir: string, options: DemoOptions = {}): Promise<RunningDemo> {
  const dataDir = mkdtempSync(join(tmpdir(), 'rampart-browser-'));
  const config = JSON.parse(readFileSync('rampart.config.json', 'utf8')) as Record<string, unknown>;
  const services = config.services as Record<string, { url: string; hopKeyId: string }>;
  for (const service of Object.values(services)) {
    service.url = `http://127.0.0.1:${await freePort()}`;
  }
  config.keysFile = join(dataDir, 'keys.json');
  config.dataDir = dataDir;
  options.configure?.(config);
  const configFile = join(dataDir, 'rampart.config.json');
  writeFileSync(configFile, JSON.stringify(config));

  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(TSX, ['examples/bank/start.ts'], {
    env: {
      ...process.env,
      PORT: String(port),
      RAMPART_CONFIG: configFile,
      RAMPART_LEDGER_PORT: String(await freePort()),
      RAMPART_WEB_DIR: webDir,
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });

  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dataDir, { recursive: true, force: true });
  };

  for (let attempt = 0; attempt < 150; attempt += 1) {
    if (child.exitCode !== null) break;
    const ready = await fetch(`${url}/readyz`).catch(() => undefined);
    if (ready?.status === 200) return { url, port, dataDir, configFile, stop };
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  await stop();
  throw new Error(`the demo at ${url} did not become ready within 30 s`);
}
