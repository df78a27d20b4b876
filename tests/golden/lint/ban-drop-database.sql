-- no-transaction
DROP DATABASE staging;
