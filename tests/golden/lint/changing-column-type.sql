SET lock_timeout = '5s';
ALTER TABLE users ALTER COLUMN id TYPE bigint;
ALTER TABLE users ALTER COLUMN age TYPE integer USING age::integer;
