SET lock_timeout = '5s';
LOCK TABLE users;
LOCK TABLE orders IN SHARE MODE;
