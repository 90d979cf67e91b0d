/**
 * Walks a customer through the demo bank against a running `npm start`: login, accounts, a
 * transfer of 25.00 to the other customer and logout, and shows that a replayed request, an
 * amount changed after signing, a stale signature and a read of another customer's account are
 * each rejected. Prints one line per step; exits 1 when any step does not behave as expected.
 */
import { RampartClient } from '../../src/client/rampart-client.js';
import { DEMO_PASSWORDS } from './demo-users.js';

const baseUrl = process.env.RAMPART_URL ?? `http://127.0.0.1:${process.env.PORT ?? '8080'}`;
let failures = 0;

function report(ok: boolean, step: string, detail: string): void {
  if (!ok) failures += 1;
  process.stdout.write(`${ok ? 'ok  ' : 'FAIL'} ${step.padEnd(44)} ${detail}\n`);
}

async function problemCode(response: Response): Promise<string> {
  const body = (await response.json().catch(() => ({}))) as { code?: string };
  return body.code ?? '-';
}

const alice = new RampartClient({ baseUrl });

try {
  const session = await alice.login('alice', DEMO_PASSWORDS.alice as string);
  report(
    true,
    'log in as alice',
    `session ${session.sessionId.slice(0, 8)}…, roles ${session.roles.join(',')}`,
  );

  const accountsResponse = await alice.fetch('/api/accounts');
  const accounts = (await accountsResponse.json()) as {
    accounts?: Array<{ id: string; balance: string }>;
  };
  const list = accounts.accounts ?? [];
  report(
    accountsResponse.status === 200 && list.length > 0,
    'read own accounts',
    `${accountsResponse.status}: ${list.map((account) => `${account.id}=${account.balance}`).join(', ')}`,
  );

  const transfer = {
    fromAccount: 'acc-alice-checking',
    toAccount: 'acc-bob-checking',
    amount: '25.00',
  };
  const transferResponse = await alice.fetch('/api/transfers', { method: 'POST', body: transfer });
  const posted = (await transferResponse.json()) as { transferId?: string; status?: string };
  report(
    transferResponse.status === 201,
    'transfer 25.00 to bob',
    `${transferResponse.status}: ${posted.status ?? (posted as { code?: string }).code} ${posted.transferId ?? ''}`,
  );

  const after = await alice.fetch('/api/accounts/acc-alice-checking');
  const checking = (await after.json()) as { balance?: string };
  report(
    after.status === 200,
    'read balance after the transfer',
    `${after.status}: acc-alice-checking=${checking.balance}`,
  );

  // A signed request captured on the wire and sent again.
  const once = alice.sign('/api/accounts');
  const first = await fetch(once.url, once.init);
  const replay = await fetch(once.url, once.init);
  const replayCode = await problemCode(replay);
  report(
    first.status === 200 && replay.status === 401 && replayCode === 'nonce_replayed',
    'replayed request is rejected',
    `${replay.status} ${replayCode}`,
  );

  // The amount changed after signing: the body no longer matches the signed Content-Digest.
  const signedTransfer = alice.sign('/api/transfers', { method: 'POST', body: transfer });
  const tampered = await fetch(signedTransfer.url, {
    ...signedTransfer.init,
    body: JSON.stringify({ ...transfer, amount: '2500.00' }),
  });
  const tamperedCode = await problemCode(tampered);
  report(
    tampered.status === 400 && tamperedCode === 'digest_mismatch',
    'amount changed after signing is rejected',
    `${tampered.status} ${tamperedCode}`,
  );

  // A signature created two minutes ago, outside the 30-second window.
  const stale = alice.sign(
    '/api/accounts',
    {},
    { created: Math.floor(Date.now() / 1000) + alice.clockOffset - 120 },
  );
  const staleResponse = await fetch(stale.url, stale.init);
  const staleBody = (await staleResponse.json()) as { code?: string; serverTime?: number };
  report(
    staleResponse.status === 401 && staleBody.code === 'clock_skew',
    'stale created is rejected',
    `${staleResponse.status} ${staleBody.code} (server time ${staleBody.serverTime})`,
  );

  const foreign = await alice.fetch('/api/accounts/acc-bob-checking');
  const foreignCode = await problemCode(foreign);
  report(
    foreign.status === 403 && foreignCode === 'resource_forbidden',
    "reading bob's account is rejected",
    `${foreign.status} ${foreignCode}`,
  );

  const logout = await alice.logout();
  report(logout.status === 200, 'log out', `${logout.status}`);
} catch (error) {
  report(
    false,
    'demo stopped',
    error instanceof Error ? `${error.name}: ${error.message}` : String(error),
  );
}

process.exitCode = failures === 0 ? 0 : 1;
