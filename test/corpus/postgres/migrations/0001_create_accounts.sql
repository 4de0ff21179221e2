-- Migration: create accounts and orders
-- Type: additive
-- Rollback: drops both tables
-- migrate:up
CREATE TABLE accounts (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  email text NOT NULL,
  plan varchar(20) NOT NULL DEFAULT 'free',
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX accounts_email_idx ON accounts (email);
CREATE TABLE orders (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  account_id bigint NOT NULL REFERENCES accounts (id),
  total numeric(10,2) NOT NULL,
  status text NOT NULL DEFAULT 'open'
);
CREATE TYPE order_state AS ENUM ('open', 'paid', 'shipped');
-- migrate:down
DROP TABLE orders;
DROP TABLE accounts;
DROP TYPE order_state;
