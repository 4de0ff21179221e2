// Moved to ../wrangler/table.ts; this re-export goes once every branch has moved over.
export * from '../wrangler/table.js';
