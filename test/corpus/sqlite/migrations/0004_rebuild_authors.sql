-- Migration: rebuild authors to make email required
-- Type: transformative
-- Rollback: none
-- migrate:up
PRAGMA foreign_keys = OFF;
ALTER TABLE authors RENAME TO authors_old;
CREATE TABLE authors (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL);
INSERT INTO authors (id, name, email) SELECT id, name, coalesce(email, '') FROM authors_old;
DROP TABLE authors_old;
PRAGMA foreign_keys = ON;
-- migrate:down
SELECT 1;
