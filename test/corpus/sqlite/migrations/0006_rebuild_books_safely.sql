-- Migration: rebuild books with a NOT NULL isbn-free layout, the 12-step way
-- Type: destructive
-- Rollback: none; the rows are copied, the old table is dropped
-- cairn:no-transaction
-- migrate:up
PRAGMA foreign_keys = off;
BEGIN;
CREATE TABLE books_new (id INTEGER PRIMARY KEY, author_id INTEGER NOT NULL REFERENCES authors (id) ON DELETE CASCADE, title TEXT NOT NULL);
INSERT INTO books_new (id, author_id, title) SELECT id, author_id, title FROM books;
DROP TABLE books;
ALTER TABLE books_new RENAME TO books;
PRAGMA foreign_key_check;
COMMIT;
PRAGMA foreign_keys = on;
-- migrate:down
SELECT 1;
