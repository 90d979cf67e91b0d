export * from './replay-store.js';
export * from './memory-replay-store.js';
export * from './rate-limit-store.js';
export * from './redis-replay-store.js';
