// Moved to ../drivers/snapshot.ts; this re-export goes once every branch has moved over.
export * from '../drivers/snapshot.js';
