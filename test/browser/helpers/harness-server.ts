import { createServer, type Server } from 'node:http';
import { join } from 'node:path';

import { build, type Rolldown } from 'vite';

/** A local page that loads the SDK harness, for tests that need no gateway. */
export interface HarnessServer {
  /** Origin of the page, such as `http://127.0.0.1:40123`. */
  url: string;
  close(): Promise<void>;
}

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>SDK harness</title>
<script type="module" src="/harness.js"></script></head><body></body></html>`;

/**
 * Bundles test/browser/harness/sdk-harness.ts for the browser with Vite and serves it on a free
 * port of 127.0.0.1, a secure context, with a CSP that allows only same-origin script.
 */
export async function startHarnessServer(): Promise<HarnessServer> {
  const output = (await build({
    configFile: false,
    logLevel: 'warn',
    build: {
      write: false,
      minify: false,
      target: 'es2022',
      lib: {
        entry: join(process.cwd(), 'test', 'browser', 'harness', 'sdk-harness.ts'),
        formats: ['es'],
        fileName: 'harness',
      },
    },
  })) as Rolldown.RolldownOutput[];
  const chunk = output[0]?.output.find((item) => item.type === 'chunk');
  if (chunk === undefined || chunk.type !== 'chunk') throw new Error('Vite built no harness chunk');
  const script = chunk.code;

  const server: Server = createServer((request, response) => {
    const headers = { 'content-security-policy': "default-src 'none'; script-src 'self'" };
    if (request.url === '/') {
      response.writeHead(200, { ...headers, 'content-type': 'text/html; charset=utf-8' });
      response.end(PAGE);
    } else if (request.url === '/harness.js') {
      response.writeHead(200, { ...headers, 'content-type': 'text/javascript; charset=utf-8' });
      response.end(script);
    } else {
      response.writeHead(404, headers);
      response.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
