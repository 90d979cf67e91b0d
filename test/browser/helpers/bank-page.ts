import type { BrowserContext, Page } from 'playwright-core';

import { DEMO_PASSWORDS } from '../../../examples/bank/demo-users.js';

/** A request the page sent to the gateway, as Chromium put it on the wire. */
export interface RecordedRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
}

/** Records every request from `context` to `origin`, in order, into the returned list. */
export function recordRequests(context: BrowserContext, origin: string): RecordedRequest[] {
  const requests: RecordedRequest[] = [];
  context.on('request', (request) => {
    const url = new URL(request.url());
    if (url.origin !== origin) return;
    requests.push({
      method: request.method(),
      path: `${url.pathname}${url.search}`,
      headers: request.headers(),
    });
  });
  return requests;
}

/**
 * Signs in through the form with the keyboard only: the page focuses the username field, Tab
 * moves to the password and Enter submits. Waits for the accounts heading.
 */
export async function signIn(page: Page, origin: string, username: string): Promise<void> {
  await page.goto(`${origin}/`);
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  await page.keyboard.type(username);
  await page.keyboard.press('Tab');
  await page.keyboard.type(DEMO_PASSWORDS[username] as string);
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: /accounts/ }).waitFor();
}

/** Waits for the account cards and returns each balance by account id, such as `975.00`. */
export async function balances(page: Page): Promise<Record<string, string>> {
  await page.locator('[data-balance]').first().waitFor();
  return page.$$eval('[data-account]', (buttons) =>
    Object.fromEntries(
      buttons.map((button) => [
        button.getAttribute('data-account'),
        button.querySelector('[data-balance]')?.getAttribute('data-balance'),
      ]),
    ),
  );
}

/** Waits for the notice area and returns its kind, text and code. */
export async function notice(
  page: Page,
): Promise<{ kind: string | null; text: string; code: string | null }> {
  const area = page.locator('#notice');
  await area.waitFor({ state: 'visible' });
  const code = area.locator('code');
  return {
    kind: await area.getAttribute('data-kind'),
    text: await area.innerText(),
    code: (await code.count()) === 0 ? null : await code.textContent(),
  };
}

/** Reads the SDK's stored session record from IndexedDB, as page script could. */
export async function storedSession(page: Page): Promise<{
  present: boolean;
  fields: string[];
  extractable?: boolean;
  usages?: string[];
  algorithm?: string;
  exportError?: string;
}> {
  return page.evaluate(async () => {
    const database = await new Promise<IDBDatabase>((resolve, reject) => {
      const request = indexedDB.open('rampart');
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
    const record = await new Promise<Record<string, unknown> | undefined>((resolve, reject) => {
      const request = database
        .transaction('sessions', 'readonly')
        .objectStore('sessions')
        .get(location.origin);
      request.onsuccess = () => resolve(request.result as Record<string, unknown> | undefined);
      request.onerror = () => reject(request.error);
    });
    database.close();
    if (record === undefined) return { present: false, fields: [] };
    const key = record.key as CryptoKey;
    const exportError = await crypto.subtle.exportKey('raw', key).then(
      () => 'exported',
      (error: Error) => error.name,
    );
    return {
      present: true,
      fields: Object.keys(record).sort(),
      extractable: key.extractable,
      usages: [...key.usages].sort(),
      algorithm: key.algorithm.name,
      exportError,
    };
  });
}
