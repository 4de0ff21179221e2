// Moved to ../environments/protection.ts; this re-export goes once every branch has moved over.
export * from '../environments/protection.js';
