// Moved to host/core/errors.ts; this re-export keeps host/gpu/ and host/model/engines.ts building until the merge.
export * from './core/errors.js';
