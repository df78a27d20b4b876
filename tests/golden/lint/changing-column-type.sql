SET lock_timeout = '5s';
ALTER TABLE users ALTER COLUMN id TYPE bigint;
ALTER TABLE users ALTER COLUMN age TYPE integer USING age::integer;
-- unseen columns: text and varchar may be widenings, or rewrite (text to
-- varchar(n), bytea to text): a warning offline, the database decides
ALTER TABLE orders ALTER COLUMN note TYPE text;
ALTER TABLE orders ALTER COLUMN body TYPE varchar(512);
