SET lock_timeout = '5s';
-- before PostgreSQL 12 SET NOT NULL scans even with a valid CHECK
ALTER TABLE users VALIDATE CONSTRAINT users_email_not_null;
ALTER TABLE users ALTER COLUMN email SET NOT NULL;
