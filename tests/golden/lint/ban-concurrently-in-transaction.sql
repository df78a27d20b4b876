-- no directive: strata runs this file in a transaction
CREATE INDEX CONCURRENTLY users_email_idx ON users (email);
