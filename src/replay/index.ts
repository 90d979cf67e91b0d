export * from './replay-store.js';
export * from './memory-replay-store.js';
