SET lock_timeout = '5s';
REINDEX TABLE users;
REINDEX INDEX users_email_idx;
