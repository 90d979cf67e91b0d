import {
  RampartClientError,
  type BrowserSession,
  type RampartBrowserClient,
} from '../../../../src/client/browser/index.js';
import type { BankApi } from './bank-api.js';
import { byId, h } from './dom.js';
import { isSessionEnd, noticeFor, type Notice } from './messages.js';
import { renderAccounts } from './views/accounts-view.js';
import { renderAudit } from './views/audit-view.js';
import { renderLogin } from './views/login-view.js';
import { renderTransfer } from './views/transfer-view.js';

/** Context of a view: the API, the session, and the page's shared notice and error handling. */
export interface ViewContext {
  api: BankApi;
  session: BrowserSession;
  /** Shows a notice above the view, or clears it. */
  notify(notice: Notice | undefined): void;
  /** Shows the right message for an error; an ended session goes back to sign-in. */
  fail(error: unknown): void;
  /** Replaces the view's content and moves focus to its heading. */
  render(...children: Node[]): void;
}

interface Route {
  hash: string;
  label: string;
  permission: string;
  view: (context: ViewContext) => Promise<void>;
}

const ROUTES: readonly Route[] = [
  { hash: '#/accounts', label: 'Accounts', permission: 'accounts:read', view: renderAccounts },
  { hash: '#/transfer', label: 'Transfer', permission: 'transfers:create', view: renderTransfer },
  { hash: '#/audit', label: 'Audit', permission: 'audit:read', view: renderAudit },
];

/** The page: sign-in, the navigation of the signed-in views, and sign-out. */
export class BankApp {
  readonly #client: RampartBrowserClient;
  readonly #api: BankApi;
  #session: BrowserSession | undefined;

  constructor(client: RampartBrowserClient, api: BankApi) {
    this.#client = client;
    this.#api = api;
  }

  /** Restores a stored session or shows sign-in, then follows hash changes. */
  async start(): Promise<void> {
    window.addEventListener('hashchange', () => void this.#route());
    try {
      this.#session = await this.#client.restore();
    } catch (error) {
      this.#showLogin(noticeFor(error));
      return;
    }
    if (this.#session === undefined) this.#showLogin(undefined);
    else await this.#route();
  }

  #showLogin(notice: Notice | undefined): void {
    this.#session = undefined;
    byId('nav').hidden = true;
    byId('user').hidden = true;
    this.#notify(notice);
    renderLogin({
      client: this.#client,
      render: (...children) => this.#render(...children),
      notify: (next) => this.#notify(next),
      onSignedIn: (session) => {
        this.#session = session;
        this.#notify(undefined);
        if (window.location.hash === '' || window.location.hash === '#/accounts') {
          void this.#route();
        } else {
          window.location.hash = '#/accounts';
        }
      },
    });
  }

  async #route(): Promise<void> {
    const session = this.#session;
    if (session === undefined) return;
    const hash = window.location.hash;
    // Other fragments, such as the skip link's #main, are not routes.
    if (hash !== '' && !hash.startsWith('#/')) return;
    const route = ROUTES.find((candidate) => candidate.hash === hash) ?? ROUTES[0];
    if (route === undefined) return;

    this.#renderChrome(session, route);
    this.#notify(undefined);
    if (!session.permissions.includes(route.permission)) {
      this.#render(
        h('h1', { text: route.label, attrs: { tabindex: '-1' } }),
        h('p', {
          class: 'denied',
          attrs: { 'data-state': 'access-denied' },
          text: `This page needs the ${route.permission} permission, which your role does not have.`,
        }),
      );
      return;
    }
    await route.view({
      api: this.#api,
      session,
      notify: (notice) => this.#notify(notice),
      fail: (error) => this.#fail(error),
      render: (...children) => this.#render(...children),
    });
  }

  #renderChrome(session: BrowserSession, current: Route): void {
    const nav = byId('nav');
    nav.replaceChildren(
      ...ROUTES.filter((route) => session.permissions.includes(route.permission)).map((route) =>
        h('a', {
          text: route.label,
          attrs: {
            href: route.hash,
            'aria-current': route === current ? 'page' : undefined,
          },
          on: {
            // The same hash fires no hashchange, so a click on the current page starts it over.
            click: () => {
              if (window.location.hash === route.hash) void this.#route();
            },
          },
        }),
      ),
    );
    nav.hidden = false;

    const user = byId('user');
    user.replaceChildren(
      h('span', { class: 'user-name', text: `${session.username} · ${session.roles.join(', ')}` }),
      h('button', {
        class: 'button secondary',
        text: 'Sign out',
        attrs: { type: 'button' },
        on: { click: () => void this.#logout() },
      }),
    );
    user.hidden = false;
  }

  async #logout(): Promise<void> {
    let notice: Notice = { kind: 'info', text: 'You have signed out.' };
    try {
      await this.#client.logout();
    } catch (error) {
      if (!(error instanceof RampartClientError) || error.code === 'network_error') {
        notice = {
          kind: 'network-error',
          text: 'Signed out on this device, but the bank could not be reached to end the session.',
        };
      }
    }
    window.location.hash = '';
    this.#showLogin(notice);
  }

  #fail(error: unknown): void {
    if (isSessionEnd(error)) {
      this.#showLogin(noticeFor(error));
      return;
    }
    this.#notify(noticeFor(error));
  }

  #notify(notice: Notice | undefined): void {
    const area = byId('notice');
    if (notice === undefined) {
      area.hidden = true;
      area.replaceChildren();
      area.removeAttribute('data-kind');
      return;
    }
    area.dataset.kind = notice.kind;
    area.replaceChildren(
      h('span', { text: notice.text }),
      ...(notice.code === undefined
        ? []
        : [h('span', { class: 'code' }, ['Code: ', h('code', { text: notice.code })])]),
    );
    area.hidden = false;
  }

  #render(...children: Node[]): void {
    const view = byId('view');
    view.replaceChildren(...children);
    const heading = view.querySelector('h1');
    if (heading instanceof HTMLElement) heading.focus();
  }
}
