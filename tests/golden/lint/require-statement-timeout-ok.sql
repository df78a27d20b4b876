SET LOCAL statement_timeout = '30s';
ALTER TABLE users ADD COLUMN nickname text;
-- a table created here is empty: nothing waits on it
CREATE TABLE teams (id bigint PRIMARY KEY);
ALTER TABLE teams ADD COLUMN name text;
