export * from './connection.js';
export * from './intake.js';
export * from './names.js';
export * from './payloads.js';
export * from './producer.js';
