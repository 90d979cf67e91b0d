import type { ViewContext } from '../app.js';
import type { ActivityBucket, AuditEntry, AuditVerification } from '../bank-api.js';
import { formatTime, h } from '../dom.js';
import { activityChart } from './activity-chart.js';

const ENTRY_LIMIT = 100;
const ACTIVITY_MINUTES = 30;

/**
 * Shows whether the audit chain verifies, a chart of allowed and rejected calls per minute,
 * and the latest audit entries: who, what, when, the decision and its reason code.
 */
export async function renderAudit(context: ViewContext): Promise<void> {
  const status = h(
    'section',
    { class: 'card chain', attrs: { 'aria-labelledby': 'chain-title' } },
    [
      h('h2', { text: 'Audit chain', attrs: { id: 'chain-title' } }),
      h('p', { class: 'loading', text: 'Verifying…' }),
    ],
  );
  const activity = h('section', { class: 'card', attrs: { 'aria-labelledby': 'activity-title' } }, [
    h('h2', {
      text: `Calls in the last ${ACTIVITY_MINUTES} minutes`,
      attrs: { id: 'activity-title' },
    }),
  ]);
  const entries = h(
    'section',
    { class: 'entries', attrs: { 'aria-labelledby': 'entries-title' } },
    [h('h2', { text: 'Latest entries', attrs: { id: 'entries-title' } })],
  );
  context.render(
    h('h1', { text: 'Audit trail', attrs: { tabindex: '-1' } }),
    status,
    activity,
    entries,
  );

  let verification: AuditVerification;
  let buckets: ActivityBucket[];
  let list: AuditEntry[];
  try {
    // One call at a time: each is signed with its own nonce, and order keeps the log readable.
    verification = await context.api.auditVerification();
    buckets = await context.api.auditActivity(ACTIVITY_MINUTES);
    list = await context.api.auditEntries(ENTRY_LIMIT);
  } catch (error) {
    status.lastElementChild?.remove();
    context.fail(error);
    return;
  }

  status.lastElementChild?.replaceWith(chainStatus(verification));
  activity.append(activityChart(buckets), legend());
  entries.append(entryTable(list));
}

function chainStatus(verification: AuditVerification): HTMLElement {
  if (verification.ok) {
    const checkpoints =
      verification.checkpoints === 0
        ? 'no signed checkpoint yet'
        : `${verification.checkpoints} signed checkpoint${verification.checkpoints === 1 ? '' : 's'}`;
    return h('p', {
      class: 'chain-status ok',
      attrs: { 'data-chain': 'verified' },
      text: `Verified: ${verification.entries} entries match their hash chain, with ${checkpoints}.`,
    });
  }
  return h('p', {
    class: 'chain-status broken',
    attrs: { 'data-chain': 'broken' },
    text: `Broken at entry ${verification.seq}: ${verification.reason}.`,
  });
}

// Method and path, and the service's status once the gateway forwarded the call.
function requestLine(entry: AuditEntry): string {
  const line = `${entry.method ?? ''} ${entry.path ?? ''}`;
  return entry.upstreamStatus === undefined ? line : `${line} → ${entry.upstreamStatus}`;
}

function legend(): HTMLElement {
  return h('p', { class: 'legend' }, [
    h('span', { class: 'swatch allowed', attrs: { 'aria-hidden': 'true' } }),
    'Allowed ',
    h('span', { class: 'swatch rejected', attrs: { 'aria-hidden': 'true' } }),
    'Rejected',
  ]);
}

function entryTable(list: AuditEntry[]): HTMLElement {
  if (list.length === 0) return h('p', { class: 'empty', text: 'No entries yet.' });
  const rows = list.map((entry) =>
    h('tr', { attrs: { 'data-outcome': entry.outcome, 'data-request-id': entry.requestId } }, [
      h('td', { text: String(entry.seq) }),
      h('td', { class: 'nowrap', text: formatTime(entry.time) }),
      h('td', { class: 'nowrap', text: entry.subject ?? '—' }),
      h('td', {}, [
        h('span', { text: entry.event }),
        entry.method === undefined
          ? undefined
          : h('code', { class: 'request', text: requestLine(entry) }),
      ]),
      h('td', {}, [h('span', { class: `badge ${entry.outcome}`, text: entry.outcome })]),
      h('td', {}, [entry.code === undefined ? '—' : h('code', { text: entry.code })]),
    ]),
  );
  return h('div', { class: 'table-scroll' }, [
    h('table', { class: 'audit' }, [
      h('caption', { class: 'visually-hidden', text: 'Latest audit entries, newest first' }),
      h('thead', {}, [
        h('tr', {}, [
          h('th', { text: '#', attrs: { scope: 'col' } }),
          h('th', { text: 'When', attrs: { scope: 'col' } }),
          h('th', { text: 'Who', attrs: { scope: 'col' } }),
          h('th', { text: 'What', attrs: { scope: 'col' } }),
          h('th', { text: 'Decision', attrs: { scope: 'col' } }),
          h('th', { text: 'Reason', attrs: { scope: 'col' } }),
        ]),
      ]),
      h('tbody', {}, rows),
    ]),
  ]);
}
