// Moved to ../replay/drift.ts; this re-export goes once every branch has moved over.
export * from '../replay/drift.js';
