-- no-transaction
SET lock_timeout = '5s';
ALTER TABLE measurements DETACH PARTITION measurements_2020 CONCURRENTLY;
