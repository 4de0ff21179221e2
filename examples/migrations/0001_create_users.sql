-- Migration: create users
-- Type: additive
-- Rollback: drops the users table and every account in it

-- migrate:up
-- Ids are explicit (no AUTOINCREMENT / SERIAL) so the same SQL runs on SQLite
-- and PostgreSQL. Timestamps are ISO-8601 text written by the application.
CREATE TABLE users (
  id INTEGER PRIMARY KEY,
  email TEXT NOT NULL UNIQUE,
  display_name TEXT NOT NULL,
  created_at TEXT NOT NULL
);

-- migrate:down
DROP TABLE users;
