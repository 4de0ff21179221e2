// Moved to ../environments/health.ts; this re-export goes once every branch has moved over.
export * from '../environments/health.js';
