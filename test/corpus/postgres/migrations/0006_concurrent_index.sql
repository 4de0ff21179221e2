-- Migration: index purchases by status, concurrently
-- Type: additive
-- Rollback: drops the index
-- migrate:up
CREATE INDEX CONCURRENTLY purchases_status_idx ON purchases (status);
-- migrate:down
DROP INDEX CONCURRENTLY purchases_status_idx;
