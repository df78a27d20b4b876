-- in a transaction a failure leaves nothing behind: no IF NOT EXISTS needed
CREATE EXTENSION pgcrypto;
CREATE TABLE audit (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY);
