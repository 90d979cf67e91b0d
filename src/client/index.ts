export * from './client-error.js';
export * from './rampart-client.js';
