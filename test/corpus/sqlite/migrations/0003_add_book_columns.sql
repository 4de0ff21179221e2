-- Migration: add columns to books
-- Type: additive
-- Rollback: drops the columns
-- migrate:up
ALTER TABLE books ADD COLUMN slug TEXT UNIQUE;
ALTER TABLE books ADD COLUMN added_at TEXT DEFAULT CURRENT_TIMESTAMP;
ALTER TABLE books ADD COLUMN status TEXT NOT NULL;
ALTER TABLE books ADD COLUMN shelf TEXT NOT NULL DEFAULT NULL;
ALTER TABLE books ADD COLUMN genre TEXT NOT NULL DEFAULT 'unknown';
-- migrate:down
ALTER TABLE books DROP COLUMN genre;
