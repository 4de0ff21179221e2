-- Migration: create comments
-- Type: additive
-- Rollback: drops the comments table and every comment in it

-- migrate:up
CREATE TABLE comments (
  id INTEGER PRIMARY KEY,
  post_id INTEGER NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
  author_id INTEGER NOT NULL REFERENCES users (id),
  body TEXT NOT NULL,
  created_at TEXT NOT NULL
);

CREATE INDEX comments_post_id_idx ON comments (post_id, created_at);

-- migrate:down
DROP INDEX comments_post_id_idx;
DROP TABLE comments;
