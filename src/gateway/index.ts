export * from './config.js';
export * from './create-gateway.js';
export { rampartGateway } from './plugin.js';
export { SESSION_COOKIE } from './authenticate.js';
export { CLIENT_TAG } from './client-signature.js';
export { RESPONSE_LABEL, RESPONSE_TAG } from './response-signature.js';
export type { GatewayContext } from './gateway-context.js';
