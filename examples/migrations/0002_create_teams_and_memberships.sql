-- Migration: create teams and memberships
-- Type: additive
-- Rollback: drops memberships, then teams (and their rows)

-- migrate:up
CREATE TABLE teams (
  id INTEGER PRIMARY KEY,
  slug TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  created_at TEXT NOT NULL
);

CREATE TABLE memberships (
  team_id INTEGER NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
  user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  role TEXT NOT NULL DEFAULT 'member' CHECK (role IN ('owner', 'admin', 'member')),
  PRIMARY KEY (team_id, user_id)
);

-- "Which teams is this user in?" (the primary key already covers team_id first).
CREATE INDEX memberships_user_id_idx ON memberships (user_id);

-- migrate:down
DROP INDEX memberships_user_id_idx;
DROP TABLE memberships;
DROP TABLE teams;
