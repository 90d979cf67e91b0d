import type { ViewContext } from '../app.js';
import type { Account, Transaction } from '../bank-api.js';
import { formatMoney, formatTime, h } from '../dom.js';

/** Shows the accounts with their balances and the history of the selected account. */
export async function renderAccounts(context: ViewContext): Promise<void> {
  const mine = context.session.permissions.includes('accounts:read-any')
    ? 'All accounts'
    : 'Your accounts';
  const list = h('ul', { class: 'accounts', attrs: { 'aria-busy': 'true' } });
  const history = h('section', { class: 'history', attrs: { 'aria-labelledby': 'history-title' } });
  context.render(h('h1', { text: mine, attrs: { tabindex: '-1' } }), list, history);

  let accounts: Account[];
  try {
    accounts = await context.api.accounts();
  } catch (error) {
    list.removeAttribute('aria-busy');
    context.fail(error);
    return;
  }
  list.removeAttribute('aria-busy');
  if (accounts.length === 0) {
    list.append(h('li', { class: 'empty', text: 'No accounts.' }));
    return;
  }

  const buttons: HTMLButtonElement[] = [];
  const select = (account: Account): void => {
    for (const button of buttons) {
      button.setAttribute('aria-pressed', String(button.dataset.account === account.id));
    }
    void showHistory(context, history, account);
  };
  for (const account of accounts) {
    const button = h(
      'button',
      {
        class: 'account',
        attrs: { type: 'button', 'data-account': account.id, 'aria-pressed': 'false' },
        on: { click: () => select(account) },
      },
      [
        h('span', { class: 'account-name', text: account.name }),
        h('span', { class: 'account-id', text: `${account.id} · ${account.type}` }),
        h('span', {
          class: 'balance',
          text: formatMoney(account.balance, account.currency),
          attrs: { 'data-balance': account.balance },
        }),
      ],
    );
    buttons.push(button);
    list.append(h('li', {}, [button]));
  }
  const first = accounts[0];
  if (first !== undefined) select(first);
}

async function showHistory(
  context: ViewContext,
  section: HTMLElement,
  account: Account,
): Promise<void> {
  section.replaceChildren(
    h('h2', { text: `Transactions · ${account.name}`, attrs: { id: 'history-title' } }),
    h('p', { class: 'loading', text: 'Loading transactions…' }),
  );
  let transactions: Transaction[];
  try {
    transactions = await context.api.transactions(account.id);
  } catch (error) {
    section.lastElementChild?.remove();
    context.fail(error);
    return;
  }
  section.lastElementChild?.remove();
  if (transactions.length === 0) {
    section.append(h('p', { class: 'empty', text: 'No transactions yet.' }));
    return;
  }

  const rows = transactions.map((transaction) =>
    h('tr', {}, [
      h('td', { text: formatTime(transaction.postedAt) }),
      h('td', {}, [
        h('span', { text: transaction.reference ?? 'Transfer' }),
        h('span', {
          class: 'counterparty',
          text: `${Number(transaction.amount) < 0 ? 'to' : 'from'} ${
            transaction.counterpartyName ?? transaction.counterparty
          }`,
        }),
      ]),
      h('td', {
        class: Number(transaction.amount) < 0 ? 'amount debit' : 'amount credit',
        text: formatMoney(transaction.amount, transaction.currency),
      }),
    ]),
  );
  section.append(
    h('table', { class: 'transactions' }, [
      h('caption', { class: 'visually-hidden', text: `Latest transactions of ${account.name}` }),
      h('thead', {}, [
        h('tr', {}, [
          h('th', { text: 'Date', attrs: { scope: 'col' } }),
          h('th', { text: 'Description', attrs: { scope: 'col' } }),
          h('th', { class: 'amount', text: 'Amount', attrs: { scope: 'col' } }),
        ]),
      ]),
      h('tbody', {}, rows),
    ]),
  );
}
