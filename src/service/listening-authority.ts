import type { Server } from 'node:net';

/**
 * Returns the `host:port` a server listens on, for a service whose port is chosen at listen time
 * (port 0). Callers must address the service by the same authority, because hop signatures
 * cover it. An IPv6 host is bracketed, as in a URL.
 *
 * @throws Error when the server is not listening on a TCP address.
 */
export function listeningAuthority(server: Server): string {
  const address = server.address();
  if (address === null || typeof address === 'string') {
    throw new Error('Internal error: listeningAuthority needs a server listening on a TCP port');
  }
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `${host}:${address.port}`;
}
