SET lock_timeout = '5s';
-- SHARE UPDATE EXCLUSIVE keeps other DDL and VACUUM out, not reads or writes
LOCK TABLE users IN SHARE UPDATE EXCLUSIVE MODE;
