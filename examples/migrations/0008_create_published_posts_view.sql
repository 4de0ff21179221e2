-- Migration: create published posts view
-- Type: additive
-- Rollback: drops the view; it holds no data of its own

-- migrate:up
CREATE VIEW published_posts AS
SELECT p.id,
       t.slug AS team_slug,
       p.slug,
       p.title,
       u.display_name AS author,
       p.published_at,
       p.comment_count
  FROM posts p
  JOIN teams t ON t.id = p.team_id
  JOIN users u ON u.id = p.author_id
 WHERE p.status = 'published';

-- migrate:down
DROP VIEW published_posts;
