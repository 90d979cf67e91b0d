export * from './handshake.js';
export * from './key-file.js';
export * from './password.js';
export * from './session-token.js';
export * from './user-store.js';
export * from './user-store-postgres.js';
export * from './key-ring.js';
export * from './key-rotation.js';
