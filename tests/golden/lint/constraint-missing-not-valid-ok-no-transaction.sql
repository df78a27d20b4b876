-- no-transaction
-- outside a transaction each statement commits on its own: the VALIDATE
-- runs under a SHARE UPDATE EXCLUSIVE lock only
SET lock_timeout = '5s';
ALTER TABLE orders ADD CONSTRAINT orders_total_positive CHECK (total >= 0) NOT VALID;
ALTER TABLE orders VALIDATE CONSTRAINT orders_total_positive;
