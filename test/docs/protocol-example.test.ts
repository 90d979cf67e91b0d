import { createECDH } from 'node:crypto';
import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { deriveSessionKey } from '../../src/session/handshake.js';
import { hmacKey } from '../../src/signature/algorithms.js';
import { createContentDigest } from '../../src/signature/content-digest.js';
import { fieldsFromRecord } from '../../src/signature/message.js';
import { signMessage } from '../../src/signature/sign.js';

// docs/protocol.md promises that its test vector and worked example are exact. These tests read
// the values from the document itself, so an edit to either the code or the page that breaks
// the promise fails here.
const page = readFileSync('docs/protocol.md', 'utf8');

function tableValue(label: string): string {
  // Only the test-vector table: the field tables above it use the same names.
  const vector = page.slice(page.indexOf('Test vector, computed with'));
  const row = vector
    .split('\n')
    .find((line) => line.startsWith(`| ${label} `) || line.startsWith(`| \`${label}\``));
  const match = row === undefined ? null : /\|[^|]*\|\s*`([^`]+)`/.exec(row);
  if (match === null) throw new Error(`docs/protocol.md has no test-vector row for ${label}`);
  return match[1] as string;
}

function codeBlockAfter(heading: string, index = 0): string {
  const start = page.indexOf(heading);
  if (start === -1) throw new Error(`docs/protocol.md has no "${heading}"`);
  const blocks = [...page.slice(start).matchAll(/```[a-z]*\n([\s\S]*?)\n```/g)];
  return (blocks[index] as RegExpMatchArray)[1] as string;
}

describe('docs/protocol.md', () => {
  it('key derivation test vector matches the code', () => {
    const client = createECDH('prime256v1');
    client.setPrivateKey(Buffer.from(tableValue('client private scalar (hex)'), 'hex'));
    const server = createECDH('prime256v1');
    server.setPrivateKey(Buffer.from(tableValue('server private scalar (hex)'), 'hex'));

    expect(client.getPublicKey().toString('base64url')).toBe(tableValue('clientPublicKey'));
    expect(server.getPublicKey().toString('base64url')).toBe(tableValue('serverPublicKey'));
    const shared = client.computeSecret(server.getPublicKey());
    expect(shared.toString('hex')).toBe(tableValue('shared secret (hex)'));
    const key = deriveSessionKey(
      shared,
      Buffer.from(tableValue('salt'), 'base64url'),
      tableValue('sessionId'),
    );
    expect(key.toString('hex')).toBe(tableValue('session key (hex)'));
  });

  it('worked example matches the code byte for byte', () => {
    const body = codeBlockAfter('### Worked example', 0);
    const base = codeBlockAfter('### Worked example', 1);
    const wire = codeBlockAfter('### Worked example', 2);
    const header = (name: string) => {
      const line = wire
        .split('\n')
        .find((candidate) => candidate.toLowerCase().startsWith(`${name.toLowerCase()}: `));
      return (line as string).slice(name.length + 2);
    };
    const digest = createContentDigest(Buffer.from(body));
    expect(header('Content-Digest')).toBe(digest);

    const signed = signMessage(
      {
        method: 'POST',
        scheme: 'http',
        authority: '127.0.0.1:8080',
        target: '/api/transfers',
        headers: fieldsFromRecord({
          'content-type': 'application/json',
          'content-digest': digest,
          'idempotency-key': header('Idempotency-Key'),
        }),
      },
      {
        key: hmacKey(Buffer.from(tableValue('session key (hex)'), 'hex')),
        keyid: tableValue('sessionId'),
        components: [
          '@method',
          '@authority',
          '@path',
          '@query',
          'content-digest',
          'content-type',
          'idempotency-key',
        ],
        created: 1767225600,
        expiresIn: 30,
        nonce: 'q7VfX2kR9mLwT4pZ8cYb3A',
        tag: 'rampart',
      },
    );

    expect(signed.base).toBe(base);
    expect(header('Signature-Input')).toBe(signed.signatureInput);
    expect(header('Signature')).toBe(signed.signature);
  });
});
