-- Migration: create tags
-- Type: additive
-- Rollback: drops post_tags, then tags (and their rows)

-- migrate:up
CREATE TABLE tags (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE
);

CREATE TABLE post_tags (
  post_id INTEGER NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
  tag_id INTEGER NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
  PRIMARY KEY (post_id, tag_id)
);

-- "Posts with this tag" (the primary key covers post_id first).
CREATE INDEX post_tags_tag_id_idx ON post_tags (tag_id);

-- migrate:down
DROP INDEX post_tags_tag_id_idx;
DROP TABLE post_tags;
DROP TABLE tags;
