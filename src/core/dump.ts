// Moved to ../replay/dump.ts; this re-export goes once every branch has moved over.
export * from '../replay/dump.js';
