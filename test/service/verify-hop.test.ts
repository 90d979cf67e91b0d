import { describe, expect, it } from 'vitest';

import { RampartError } from '../../src/errors.js';
import { MemoryReplayStore } from '../../src/replay/memory-replay-store.js';
import { StoreUnavailableError, type ReplayStore } from '../../src/replay/replay-store.js';
import {
  verifyHop,
  type HopRequestMessage,
  type VerifyHopOptions,
} from '../../src/service/index.js';
import { identityOf, newHopKey, signedRequest, type WireRequest } from './helpers.js';
import { signRawHop } from './fixtures.js';

const ORIGIN = 'http://ledger.internal:8082';
const key = newHopKey();
const alice = identityOf('u-alice', ['accounts:read']);

function options(replayStore: ReplayStore = new MemoryReplayStore()): VerifyHopOptions {
  return {
    authority: 'ledger.internal:8082',
    callers: { 'accounts-ledger': { caller: 'accounts', key } },
    replayStore,
  };
}

// Converts a wire request into the message a server receives, adding the Content-Length header.
function received(wire: WireRequest, options: { dropBody?: boolean } = {}): HopRequestMessage {
  const rawHeaders = Object.entries(wire.headers).flat();
  if (wire.body !== undefined) rawHeaders.push('Content-Length', String(wire.body.byteLength));
  const body = options.dropBody === true ? undefined : wire.body;
  return { method: wire.method, target: wire.url.slice(ORIGIN.length), rawHeaders, body };
}

function sign(method: string, target: string, body?: unknown): WireRequest {
  return signedRequest({
    method,
    origin: ORIGIN,
    target,
    identity: alice,
    credentials: { keyid: 'accounts-ledger', key },
    ...(body === undefined ? {} : { body }),
  });
}

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    if (!(error instanceof RampartError)) throw error;
    return error.code;
  }
}

describe('verifyHop', () => {
  it('returns caller, key id and identity', async () => {
    const result = await verifyHop(received(sign('GET', '/ledger/accounts/a/balance')), options());

    expect(result).toEqual({ caller: 'accounts', keyid: 'accounts-ledger', identity: alice });
  });

  it('claims the nonce per key id for the whole window', async () => {
    const claims: Array<[string, string, number]> = [];
    const store = new MemoryReplayStore();
    const original = store.claimNonce.bind(store);
    store.claimNonce = async (scope, nonce, ttl) => {
      claims.push([scope, nonce, ttl]);
      return original(scope, nonce, ttl);
    };

    await verifyHop(received(sign('GET', '/x')), options(store));

    expect(claims).toHaveLength(1);
    expect(claims[0]?.[0]).toBe('accounts-ledger');
    // created may be 30 s old or 5 s ahead, so the nonce must outlive 35 s.
    expect(claims[0]?.[2]).toBeGreaterThanOrEqual(35);
  });

  it('accepts an empty body with Content-Length 0', async () => {
    const result = await verifyHop(received(sign('POST', '/x', new Uint8Array(0))), options());

    expect(result.caller).toBe('accounts');
  });

  it('rejects an announced body that was not read', async () => {
    const wire = sign('POST', '/x', { a: 1 });

    expect(await codeOf(verifyHop(received(wire, { dropBody: true }), options()))).toBe(
      'request_malformed',
    );
  });

  it.each(['constructor', '__proto__', 'toString'])(
    'rejects the key id %s as unknown',
    async (keyid) => {
      const wire = signRawHop({
        method: 'GET',
        origin: ORIGIN,
        target: '/x',
        identity: alice,
        keyid,
        key,
      });

      expect(await codeOf(verifyHop(received(wire), options()))).toBe('caller_unknown');
    },
  );

  it('checks the window against the injected clock', async () => {
    const wire = sign('GET', '/x');
    const later = { ...options(), now: () => Date.now() + 120_000 };

    const error = await verifyHop(received(wire), later).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(RampartError);
    expect((error as RampartError).code).toBe('clock_skew');
    expect((error as RampartError).extensions.serverTime).toBeTypeOf('number');
  });

  it('maps a full store to store_full', async () => {
    const store = new MemoryReplayStore({ maxEntries: 1 });
    await store.claimNonce('other', 'nonce-nonce-nonce-1', 60);

    expect(await codeOf(verifyHop(received(sign('GET', '/x')), options(store)))).toBe('store_full');
  });

  it('maps an unreachable store to store_unavailable', async () => {
    const store = new MemoryReplayStore();
    store.claimNonce = async () => {
      throw new StoreUnavailableError('unreachable', 'redis down');
    };

    expect(await codeOf(verifyHop(received(sign('GET', '/x')), options(store)))).toBe(
      'store_unavailable',
    );
  });

  it('rejects a signed but invalid identity', async () => {
    const wire = signRawHop({
      method: 'GET',
      origin: ORIGIN,
      target: '/x',
      identity: alice,
      keyid: 'accounts-ledger',
      key,
      headers: { 'rampart-identity': Buffer.from('{"sub":1}').toString('base64url') },
    });

    expect(await codeOf(verifyHop(received(wire), options()))).toBe('identity_invalid');
  });

  it('rejects a missing identity header', async () => {
    const wire = sign('GET', '/x');
    delete wire.headers['rampart-identity'];

    expect(await codeOf(verifyHop(received(wire), options()))).toBe('signature_component_missing');
  });

  it.each([
    ['an absolute-form target', 'http://ledger.internal:8082/x'],
    ['a dot segment', '/a/./b'],
    ['an encoded slash', '/a%2Fb'],
    ['double encoding', '/a%252e%252e/b'],
    ['a backslash', '/a\\b'],
    ['an encoded NUL', '/a%00b'],
  ])('rejects %s as path_invalid', async (_name, target) => {
    const message: HopRequestMessage = { method: 'GET', target, rawHeaders: [], body: undefined };

    expect(await codeOf(verifyHop(message, options()))).toBe('path_invalid');
  });
});
