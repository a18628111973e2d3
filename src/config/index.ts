export * from './env.js';
export * from './readiness-config.js';
