SET lock_timeout = '5s';
-- users_email_idx was built by CREATE UNIQUE INDEX CONCURRENTLY before
ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE USING INDEX users_email_idx;
CREATE TABLE teams (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text);
ALTER TABLE teams ADD CONSTRAINT teams_name_key UNIQUE (name);
