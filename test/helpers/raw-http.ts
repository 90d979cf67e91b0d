import { request as httpRequest } from 'node:http';

/** A reply read in full, with the body parsed as JSON when it is JSON. */
export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  json: Record<string, unknown>;
}

/**
 * Sends one request with exactly the given target and header lines (names may repeat), so tests
 * can send what a WHATWG fetch would normalise away.
 */
export function sendRaw(
  origin: string,
  options: {
    method: string;
    target: string;
    headers?: Array<[string, string]>;
    body?: Uint8Array | string;
  },
): Promise<RawResponse> {
  const url = new URL(origin);
  const lines = options.headers ?? [];
  // With header lines as an array Node adds no Host of its own, so add the origin's unless the
  // test sends one.
  const flat: string[] = lines.some(([name]) => name.toLowerCase() === 'host')
    ? []
    : ['host', url.host];
  for (const [name, value] of lines) flat.push(name, value);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        method: options.method,
        path: options.target,
        headers: flat,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          let json: Record<string, unknown> = {};
          try {
            json = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
          } catch {
            // Not JSON; tests read `body`.
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (options.body !== undefined) req.write(options.body);
    req.end();
  });
}
