import {
  LoginRejectedError,
  RampartClientError,
  SESSION_ENDED_CODES,
} from '../../../../src/client/browser/index.js';
import { BankRejection } from './bank-api.js';

/** Kinds of notice the page distinguishes, each with its own look and wording. */
export type NoticeKind =
  'session-expired' | 'rejected' | 'network-error' | 'unverified' | 'error' | 'info' | 'success';

/** A message for the notice area. */
export interface Notice {
  kind: NoticeKind;
  text: string;
  /** The bank's error code, shown with a rejection. */
  code?: string;
}

// Plain-language explanations of the codes a customer can meet; the code itself is always shown.
const REJECTION_TEXT: Readonly<Record<string, string>> = {
  insufficient_funds: 'There is not enough money in the source account.',
  account_not_found: 'That account does not exist.',
  resource_forbidden: 'You may not use that account.',
  amount_invalid: 'The amount must be positive, with at most two decimal places.',
  request_malformed: 'The bank could not read the request.',
  permission_denied: 'Your role does not allow this.',
  idempotency_key_conflict: 'This transfer was already sent with different details.',
  nonce_replayed: 'The bank refused a repeated copy of an earlier request.',
  digest_mismatch: 'The request was changed on its way to the bank, so the bank refused it.',
  signature_missing: 'The request reached the bank without its signature, so it was refused.',
  signature_invalid: 'The request signature did not match, so the bank refused it.',
  clock_skew: 'The time on this device is too far from the bank’s time.',
  session_rate_limited: 'Too many requests in a short time. Wait a moment and try again.',
  origin_rejected: 'The request did not come from this site, so the bank refused it.',
  upstream_unavailable: 'A bank service is unavailable. Try again shortly.',
  upstream_timeout: 'A bank service did not answer in time. Try again shortly.',
  store_unavailable: 'The bank cannot record requests right now. Try again shortly.',
};

/** Turns any error from the SDK or the bank API into a notice for the page. */
export function noticeFor(error: unknown): Notice {
  if (isSessionEnd(error)) {
    return { kind: 'session-expired', text: 'Your session has expired. Please sign in again.' };
  }
  if (error instanceof BankRejection) {
    const explanation = REJECTION_TEXT[error.code] ?? error.message;
    return {
      kind: 'rejected',
      code: error.code,
      text: `The bank rejected the request. ${explanation}`,
    };
  }
  if (error instanceof RampartClientError) {
    if (error.code === 'network_error') {
      return {
        kind: 'network-error',
        text: 'The bank could not be reached. Check your connection and try again.',
      };
    }
    if (error.code === 'response_signature_invalid') {
      return {
        kind: 'unverified',
        code: error.code,
        text: 'The bank’s response could not be verified, so it was discarded. Nothing on this page was updated from it.',
      };
    }
  }
  return { kind: 'error', text: 'Something went wrong. Reload the page and try again.' };
}

/** Returns the notice for a failed sign-in: wrong password, locked account or other causes. */
export function loginNoticeFor(error: unknown): Notice {
  if (error instanceof LoginRejectedError) {
    if (error.code === 'credentials_invalid') {
      return { kind: 'rejected', code: error.code, text: 'Wrong username or password.' };
    }
    if (error.code === 'login_rate_limited') {
      const wait =
        error.retryAfter === undefined ? 'a few minutes' : describeWait(error.retryAfter);
      return {
        kind: 'rejected',
        code: error.code,
        text: `This account is locked after too many failed sign-in attempts. Try again in ${wait}.`,
      };
    }
    return {
      kind: 'rejected',
      code: error.code,
      text: 'The bank rejected the sign-in.',
    };
  }
  return noticeFor(error);
}

/** Returns true when `error` means the session is over and the user must sign in again. */
export function isSessionEnd(error: unknown): boolean {
  return (
    error instanceof RampartClientError &&
    !(error instanceof LoginRejectedError) &&
    (error.code === 'not_logged_in' || SESSION_ENDED_CODES.has(error.code))
  );
}

function describeWait(seconds: number): string {
  if (seconds < 60) return `${seconds} second${seconds === 1 ? '' : 's'}`;
  const minutes = Math.ceil(seconds / 60);
  return `${minutes} minute${minutes === 1 ? '' : 's'}`;
}
