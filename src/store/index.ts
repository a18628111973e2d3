export * from './redis-store.js';
export type * from './types.js';
