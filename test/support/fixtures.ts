/** A migration several suites start from: users with a unique email index, with header and down. */
export const CREATE_USERS = `-- Migration: create users
-- Type: additive
-- Rollback: drops users
-- migrate:up
CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL);
CREATE UNIQUE INDEX users_email ON users (email);
-- migrate:down
DROP TABLE users;
`;
