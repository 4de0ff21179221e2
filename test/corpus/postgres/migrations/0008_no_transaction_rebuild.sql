-- Migration: build an index without a transaction
-- Type: additive
-- Rollback: drops the index
-- cairn:no-transaction
-- migrate:up
CREATE INDEX CONCURRENTLY purchases_amount_idx ON purchases (amount);
CREATE TABLE audit_log_entries_for_purchases_with_an_unreasonably_long_table_name (id bigint);
BEGIN;
DELETE FROM purchases WHERE status = 'void';
-- migrate:down
DROP INDEX CONCURRENTLY purchases_amount_idx;
