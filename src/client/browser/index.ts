/**
 * The Rampart client for web pages, built on WebCrypto and IndexedDB. It imports no Node module,
 * so a bundler can ship it to browsers as it is.
 */
export { RampartClientError, type ClientErrorCode } from '../client-error.js';
export {
  LoginRejectedError,
  RampartBrowserClient,
  type BrowserClientErrorCode,
  type BrowserClientOptions,
  type BrowserRequestInit,
} from './browser-client.js';
export { contentDigestMatches, createContentDigest } from './content-digest.js';
export { startHandshake, type BrowserHandshake } from './handshake.js';
export { readProblem, type GatewayProblem } from './problem.js';
export {
  CLIENT_TAG,
  PROTOCOL_VERSION,
  REQUEST_LABEL,
  RESPONSE_TAG,
  SESSION_ENDED_CODES,
} from './protocol.js';
export {
  IndexedDbSessionStore,
  MemorySessionStore,
  SESSION_DATABASE,
  SESSION_OBJECT_STORE,
  type BrowserSession,
  type SessionStore,
  type StoredSession,
} from './session-store.js';
export { signRequest, type RequestToSign, type SignedBrowserRequest } from './sign-request.js';
export { checkResponse, type CheckedResponse } from './verify-response.js';
