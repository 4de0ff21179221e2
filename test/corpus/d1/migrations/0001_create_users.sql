-- Migration: create users and sessions
-- Type: additive
-- Rollback: drops both tables
-- Migration number: 0001
-- migrate:up
CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL);
CREATE TABLE sessions (id TEXT PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE);
-- migrate:down
DROP TABLE sessions;
DROP TABLE users;
