-- migrate:up
CREATE TABLE teams (id bigint PRIMARY KEY, name text NOT NULL);
-- cairn:allow drop-table teams was never used
CREATE TABLE team_members (team_id bigint NOT NULL, account_id bigint NOT NULL);
CREAT INDEX oops ON teams (name);
