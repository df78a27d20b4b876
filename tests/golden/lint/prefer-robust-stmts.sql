-- no-transaction
SET lock_timeout = '5s';
CREATE EXTENSION pgcrypto;
CREATE TABLE audit (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY);
CREATE INDEX CONCURRENTLY users_email_idx ON users (email);
ALTER TABLE users ADD COLUMN nickname text;
DROP INDEX CONCURRENTLY users_old_idx;
ALTER TYPE mood ADD VALUE 'ecstatic' AFTER 'happy';
CREATE FUNCTION one() RETURNS int LANGUAGE sql AS 'SELECT 1';
