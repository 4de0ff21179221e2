-- Migration: change books columns
-- Type: transformative
-- Rollback: none
-- migrate:up
ALTER TABLE books ALTER COLUMN pages TYPE INTEGER;
ALTER TABLE books ADD CONSTRAINT books_title_key UNIQUE (title);
ALTER TABLE books DROP COLUMN isbn;
ALTER TABLE loans DROP COLUMN due;
ALTER TABLE books DROP COLUMN pages;
-- migrate:down
SELECT 1;
