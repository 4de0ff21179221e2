// Moved to ../replay/verify.ts; this re-export goes once every branch has moved over.
export * from '../replay/verify.js';
