-- Migration: add a refunded state and use it
-- Type: transformative
-- Rollback: cannot remove an enum value
-- migrate:up
ALTER TYPE order_state ADD VALUE 'refunded' BEFORE 'shipped';
SELECT 'refunded'::order_state;
BEGIN;
VACUUM FULL purchases;
COMMIT;
-- migrate:down
SELECT 1;
