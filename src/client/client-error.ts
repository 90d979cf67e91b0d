/** Codes for failures the client SDK detects itself, next to the gateway's problem codes. */
export type ClientErrorCode =
  | 'not_logged_in'
  | 'login_failed'
  | 'refresh_failed'
  | 'response_signature_invalid'
  | 'session_expired'
  | 'path_invalid';

/** A failure detected by the client SDK; `code` is stable, `status` is set when a reply came. */
export class RampartClientError extends Error {
  readonly code: ClientErrorCode | string;
  readonly status: number | undefined;

  constructor(code: ClientErrorCode | string, message: string, status?: number) {
    super(message);
    this.name = 'RampartClientError';
    this.code = code;
    this.status = status;
  }
}
