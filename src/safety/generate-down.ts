// Moved to ../lint/inverse/index.ts; this re-export goes once every branch has moved over.
export * from '../lint/inverse/index.js';
