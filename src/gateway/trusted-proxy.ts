import type { FastifyRequest } from 'fastify';

import { RampartError } from '../errors.js';

/** Facts a trusted proxy reports about the client's original request. */
export interface ForwardedFacts {
  host?: string;
  proto?: string;
  for?: string;
}

/** Strips the IPv4-mapped IPv6 prefix, so `::ffff:10.0.0.2` matches a configured `10.0.0.2`. */
export function normalizeAddress(address: string | undefined): string {
  if (address === undefined) return '';
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

/** Returns true when the TCP peer is one of the configured trusted proxies. */
export function isFromTrustedProxy(
  request: FastifyRequest,
  trustedProxies: readonly string[],
): boolean {
  if (trustedProxies.length === 0) return false;
  const peer = normalizeAddress(request.socket.remoteAddress);
  return trustedProxies.some((proxy) => normalizeAddress(proxy) === peer);
}

/**
 * Reads what the nearest proxy added: the last element of `Forwarded` (RFC 7239), or else
 * `X-Forwarded-Host`, `X-Forwarded-Proto` and the last `X-Forwarded-For` entry. Call it only for
 * a request from a trusted proxy; earlier elements were written by untrusted parties.
 *
 * @throws RampartError `request_malformed` when a header is repeated or unparsable.
 */
export function forwardedFacts(request: FastifyRequest): ForwardedFacts {
  const forwarded = single(request, 'forwarded');
  if (forwarded !== undefined) return parseLastForwardedElement(forwarded);

  const facts: ForwardedFacts = {};
  const host = single(request, 'x-forwarded-host');
  const proto = single(request, 'x-forwarded-proto');
  const forwardedFor = single(request, 'x-forwarded-for');
  if (host !== undefined) facts.host = host.trim();
  if (proto !== undefined) facts.proto = proto.trim().toLowerCase();
  if (forwardedFor !== undefined) facts.for = forwardedFor.split(',').at(-1)?.trim();
  return facts;
}

/** Returns the client address for logs and the audit trail: the proxy's `for` only from a trusted proxy. */
export function clientAddress(request: FastifyRequest, trustedProxies: readonly string[]): string {
  const peer = normalizeAddress(request.socket.remoteAddress);
  if (!isFromTrustedProxy(request, trustedProxies)) return peer;
  try {
    return forwardedFacts(request).for ?? peer;
  } catch {
    return peer;
  }
}

function parseLastForwardedElement(value: string): ForwardedFacts {
  const element = value.split(',').at(-1) ?? '';
  const facts: ForwardedFacts = {};
  for (const pair of element.split(';')) {
    const match = /^\s*([A-Za-z]+)=("(?:[^"\\]|\\.)*"|[^\s";,]+)\s*$/.exec(pair);
    if (match === null) {
      if (pair.trim() === '') continue;
      throw new RampartError('request_malformed', { field: 'forwarded' });
    }
    const name = (match[1] as string).toLowerCase();
    const raw = match[2] as string;
    const unquoted = raw.startsWith('"') ? raw.slice(1, -1).replace(/\\(.)/g, '$1') : raw;
    if (name === 'host') facts.host = unquoted;
    if (name === 'proto') facts.proto = unquoted.toLowerCase();
    // RFC 7239 section 6: a node may carry a port, `1.2.3.4:5678` or `"[2001:db8::1]:80"`;
    // the audit trail and the per-address limits want the address alone.
    if (name === 'for')
      facts.for = unquoted.replace(/^\[([^\]]*)\](?::\d+)?$/, '$1').replace(/^([\d.]+):\d+$/, '$1');
  }
  return facts;
}

function single(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  if (Array.isArray(value)) throw new RampartError('request_malformed', { field: name });
  return value;
}
