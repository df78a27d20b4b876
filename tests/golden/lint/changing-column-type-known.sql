-- the types are known from an earlier migration (setup/)
SET lock_timeout = '5s';
ALTER TABLE users ALTER COLUMN name TYPE varchar(20);
ALTER TABLE users ALTER COLUMN price TYPE numeric(12, 4);
