SET lock_timeout = '5s';
-- before PostgreSQL 11 any default rewrites the table
ALTER TABLE accounts ADD COLUMN status text NOT NULL DEFAULT 'new';
