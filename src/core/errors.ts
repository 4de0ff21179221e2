// Moved to ../errors.ts; this re-export goes once every branch has moved over.
export * from '../errors.js';
