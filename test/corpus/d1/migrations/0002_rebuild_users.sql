-- Migration: rebuild users with a unique email
-- Type: transformative
-- Rollback: none
-- migrate:up
BEGIN TRANSACTION;
PRAGMA foreign_keys = off;
PRAGMA defer_foreign_keys = on;
CREATE TABLE users_new (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE);
INSERT INTO users_new (id, email) SELECT id, email FROM users;
DROP TABLE users;
ALTER TABLE users_new RENAME TO users;
COMMIT;
-- migrate:down
SELECT 1;
