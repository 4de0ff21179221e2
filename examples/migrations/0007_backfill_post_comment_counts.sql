-- Migration: backfill post comment counts
-- Type: transformative
-- Rollback: resets every count to 0, the value 0006 gave all rows

-- migrate:up
-- Only posts that have comments: the others already hold the right value, 0.
UPDATE posts
   SET comment_count = (SELECT COUNT(*) FROM comments WHERE comments.post_id = posts.id)
 WHERE id IN (SELECT post_id FROM comments);

-- migrate:down
UPDATE posts
   SET comment_count = 0
 WHERE comment_count <> 0;
