-- Migration: tighten orders
-- Type: transformative
-- Rollback: drops the constraints
-- migrate:up
SET lock_timeout = '5s';
ALTER TABLE orders ADD CONSTRAINT orders_total_positive CHECK (total > 0);
ALTER TABLE orders ADD CONSTRAINT orders_account_fk FOREIGN KEY (account_id) REFERENCES accounts (id);
ALTER TABLE accounts ADD CONSTRAINT accounts_email_key UNIQUE (email);
ALTER TABLE orders ALTER COLUMN status SET NOT NULL;
ALTER TABLE orders ALTER COLUMN total TYPE numeric(12,2);
ALTER TABLE accounts ALTER COLUMN plan TYPE text;
ALTER TABLE orders ALTER COLUMN total TYPE bigint;
-- migrate:down
ALTER TABLE orders DROP CONSTRAINT orders_total_positive;
