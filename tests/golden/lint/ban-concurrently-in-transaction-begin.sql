-- no-transaction
SET lock_timeout = '5s';
BEGIN;
DROP INDEX CONCURRENTLY IF EXISTS users_email_idx;
COMMIT;
