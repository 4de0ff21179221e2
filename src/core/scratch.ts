// Moved to ../replay/scratch.ts; this re-export goes once every branch has moved over.
export * from '../replay/scratch.js';
