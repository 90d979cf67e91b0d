import type { ViewContext } from '../app.js';
import type { Account, TransferRequest } from '../bank-api.js';
import { formatMoney, h } from '../dom.js';
import { noticeFor } from '../messages.js';

// The same rules the ledger applies, checked here so that typing mistakes never reach the bank.
const AMOUNT = /^\d{1,12}(\.\d{1,2})?$/;
const ACCOUNT_ID = /^[A-Za-z0-9-]{1,64}$/;
const MAX_REFERENCE_LENGTH = 140;

/**
 * Shows the transfer form, then a confirmation step. The Idempotency-Key is chosen when the
 * user reviews a transfer and kept until it succeeds or the details change, so pressing
 * Confirm again after a network error cannot move the money twice.
 */
export async function renderTransfer(context: ViewContext): Promise<void> {
  const heading = h('h1', { text: 'New transfer', attrs: { tabindex: '-1' } });
  const body = h('div', { class: 'transfer' }, [h('p', { class: 'loading', text: 'Loading…' })]);
  context.render(heading, body);

  let accounts: Account[];
  try {
    accounts = await context.api.accounts();
  } catch (error) {
    body.replaceChildren();
    context.fail(error);
    return;
  }
  showForm(context, body, accounts, undefined);
}

function showForm(
  context: ViewContext,
  container: HTMLElement,
  accounts: Account[],
  previous: TransferRequest | undefined,
): void {
  const from = h(
    'select',
    { attrs: { id: 'from-account', name: 'fromAccount', required: true } },
    accounts.map((account) =>
      h('option', {
        text: `${account.name} (${formatMoney(account.balance, account.currency)})`,
        attrs: { value: account.id, selected: account.id === previous?.fromAccount },
      }),
    ),
  );
  const to = textInput('to-account', 'toAccount', previous?.toAccount, {
    required: true,
    maxlength: '64',
    'aria-describedby': 'to-account-hint',
    autocomplete: 'off',
    spellcheck: 'false',
  });
  const amount = textInput('amount', 'amount', previous?.amount, {
    required: true,
    inputmode: 'decimal',
    'aria-describedby': 'amount-hint',
    autocomplete: 'off',
  });
  const reference = textInput('reference', 'reference', previous?.reference, {
    maxlength: String(MAX_REFERENCE_LENGTH),
    autocomplete: 'off',
  });
  const error = h('p', { class: 'field-error', attrs: { id: 'transfer-error', role: 'alert' } });

  const form = h('form', { class: 'card', attrs: { method: 'post', novalidate: true } }, [
    field('From account', 'from-account', from),
    field(
      'To account',
      'to-account',
      to,
      'Account ID, for example acc-bob-checking.',
      'to-account-hint',
    ),
    field('Amount (EUR)', 'amount', amount, 'For example 25.00.', 'amount-hint'),
    field('Reference (optional)', 'reference', reference),
    error,
    h('button', { class: 'button', text: 'Review transfer', attrs: { type: 'submit' } }),
  ]);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const transfer: TransferRequest = {
      fromAccount: from.value,
      toAccount: to.value.trim(),
      amount: amount.value.trim(),
      ...(reference.value.trim() === '' ? {} : { reference: reference.value.trim() }),
    };
    const problem = checkTransfer(transfer);
    if (problem !== undefined) {
      error.textContent = problem.message;
      if (problem.field === 'to') to.focus();
      else amount.focus();
      return;
    }
    context.notify(undefined);
    showConfirmation(context, container, accounts, transfer);
  });

  container.replaceChildren(form);
}

function showConfirmation(
  context: ViewContext,
  container: HTMLElement,
  accounts: Account[],
  transfer: TransferRequest,
): void {
  const idempotencyKey = crypto.randomUUID();
  const source = accounts.find((account) => account.id === transfer.fromAccount);
  const currency = source?.currency ?? 'EUR';
  const confirm = h('button', {
    class: 'button',
    text: 'Confirm transfer',
    attrs: { type: 'button' },
  });
  const change = h('button', {
    class: 'button secondary',
    text: 'Change details',
    attrs: { type: 'button' },
    on: { click: () => showForm(context, container, accounts, transfer) },
  });

  confirm.addEventListener('click', () => {
    confirm.disabled = true;
    change.disabled = true;
    confirm.textContent = 'Sending…';
    context.notify(undefined);
    context.api
      .transfer(transfer, idempotencyKey)
      .then((result) => {
        context.notify({
          kind: 'success',
          text: `Transfer of ${formatMoney(result.amount, currency)} sent. Transfer ID: ${result.transferId}.`,
        });
        void renderTransfer(context);
      })
      .catch((error: unknown) => {
        if (noticeFor(error).kind === 'network-error') {
          context.notify({
            kind: 'network-error',
            text: 'The bank could not be reached, so the transfer may or may not have been sent. Press Confirm transfer again: the bank posts it at most once.',
          });
        } else {
          context.fail(error);
        }
        confirm.disabled = false;
        change.disabled = false;
        confirm.textContent = 'Confirm transfer';
      });
  });

  const summary = h(
    'section',
    { class: 'card confirm', attrs: { 'aria-labelledby': 'confirm-title' } },
    [
      h('h2', { text: 'Confirm this transfer', attrs: { id: 'confirm-title', tabindex: '-1' } }),
      h('dl', { class: 'summary' }, [
        h('dt', { text: 'From' }),
        h('dd', {
          text: source === undefined ? transfer.fromAccount : `${source.name} (${source.id})`,
        }),
        h('dt', { text: 'To' }),
        h('dd', { text: transfer.toAccount }),
        h('dt', { text: 'Amount' }),
        h('dd', { class: 'amount', text: formatMoney(transfer.amount, currency) }),
        h('dt', { text: 'Reference' }),
        h('dd', { text: transfer.reference ?? '—' }),
      ]),
      h('div', { class: 'actions' }, [confirm, change]),
    ],
  );
  container.replaceChildren(summary);
  summary.querySelector('h2')?.focus();
}

function checkTransfer(
  transfer: TransferRequest,
): { field: 'to' | 'amount'; message: string } | undefined {
  if (!ACCOUNT_ID.test(transfer.toAccount)) {
    return { field: 'to', message: 'Enter the account ID of the recipient.' };
  }
  if (transfer.toAccount === transfer.fromAccount) {
    return { field: 'to', message: 'Choose an account other than the source account.' };
  }
  if (!AMOUNT.test(transfer.amount) || Number(transfer.amount) === 0) {
    return {
      field: 'amount',
      message: 'Enter a positive amount with at most two decimal places.',
    };
  }
  return undefined;
}

function textInput(
  id: string,
  name: string,
  value: string | undefined,
  attrs: Record<string, string | boolean>,
): HTMLInputElement {
  const input = h('input', { attrs: { id, name, type: 'text', ...attrs } });
  if (value !== undefined) input.value = value;
  return input;
}

function field(
  label: string,
  id: string,
  control: HTMLElement,
  hint?: string,
  hintId?: string,
): HTMLElement {
  return h('div', { class: 'field' }, [
    h('label', { text: label, attrs: { for: id } }),
    control,
    hint === undefined ? undefined : h('p', { class: 'hint', text: hint, attrs: { id: hintId } }),
  ]);
}
