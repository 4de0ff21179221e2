-- Migration: create posts
-- Type: additive
-- Rollback: drops the posts table and every post in it

-- migrate:up
CREATE TABLE posts (
  id INTEGER PRIMARY KEY,
  team_id INTEGER NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
  author_id INTEGER NOT NULL REFERENCES users (id),
  slug TEXT NOT NULL,
  title TEXT NOT NULL,
  body TEXT NOT NULL DEFAULT '',
  status TEXT NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'published', 'archived')),
  published_at TEXT,
  created_at TEXT NOT NULL
);

-- Post URLs are /<team>/<slug>: unique per team.
CREATE UNIQUE INDEX posts_team_id_slug_key ON posts (team_id, slug);
-- A team's post list, filtered by status.
CREATE INDEX posts_team_id_status_idx ON posts (team_id, status);

-- migrate:down
DROP INDEX posts_team_id_status_idx;
DROP INDEX posts_team_id_slug_key;
DROP TABLE posts;
