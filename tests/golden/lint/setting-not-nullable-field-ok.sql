SET lock_timeout = '5s';
-- the CHECK was added NOT VALID by an earlier migration (setup/):
-- validating it scans without blocking writes, and SET NOT NULL then
-- trusts it (PostgreSQL 12 and later)
ALTER TABLE users VALIDATE CONSTRAINT users_email_not_null;
ALTER TABLE users ALTER COLUMN email SET NOT NULL;
ALTER TABLE users DROP CONSTRAINT users_email_not_null;
