SET lock_timeout = '5s';
DROP TABLE legacy_sessions, old_tokens;
