-- no-transaction
VACUUM FULL users;
VACUUM (FULL, ANALYZE);
