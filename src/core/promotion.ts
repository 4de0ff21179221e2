// Moved to ../environments/promotion.ts; this re-export goes once every branch has moved over.
export * from '../environments/promotion.js';
