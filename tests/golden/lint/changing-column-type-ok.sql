-- binary-coercible changes do not rewrite: the types are known from an
-- earlier migration (setup/)
SET lock_timeout = '5s';
ALTER TABLE users ALTER COLUMN name TYPE varchar(100);
ALTER TABLE users ALTER COLUMN code TYPE text;
ALTER TABLE users ALTER COLUMN price TYPE numeric(14, 2);
ALTER TABLE users ALTER COLUMN address TYPE inet;
