-- Migration: add comment count to posts
-- Type: additive
-- Rollback: drops the comment_count column; the counts can be rebuilt from comments

-- migrate:up
-- A counter cache for post lists. NOT NULL with a constant default is safe on
-- a table with rows (and instant on PostgreSQL 11+). 0007 fills it in.
ALTER TABLE posts ADD COLUMN comment_count INTEGER NOT NULL DEFAULT 0;

-- migrate:down
ALTER TABLE posts DROP COLUMN comment_count;
