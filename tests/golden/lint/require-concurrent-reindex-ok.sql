-- no-transaction
SET lock_timeout = '5s';
REINDEX TABLE CONCURRENTLY users;
REINDEX (VERBOSE) INDEX CONCURRENTLY users_email_idx;
