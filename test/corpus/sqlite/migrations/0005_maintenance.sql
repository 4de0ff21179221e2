-- Migration: repair the schema by hand
-- Type: transformative
-- Rollback: none
-- migrate:up
PRAGMA writable_schema = ON;
UPDATE sqlite_master SET sql = replace(sql, 'due TEXT', 'due_on TEXT') WHERE name = 'loans';
PRAGMA writable_schema = OFF;
DELETE FROM loans;
-- migrate:down
SELECT 1;
