export * from './algorithms.js';
export * from './components.js';
export * from './content-digest.js';
export * from './message.js';
export * from './sign.js';
export * from './signature-base.js';
export * from './signature-input.js';
export * from './verify.js';
export { RampartError, isRampartError, type ErrorCode } from '../errors.js';
