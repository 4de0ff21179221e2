-- Migration: index orders by account
-- Type: additive
-- Rollback: drops the index
-- migrate:up
SET lock_timeout = '5s';
CREATE INDEX orders_account_idx ON orders (account_id);
-- migrate:down
DROP INDEX orders_account_idx;
