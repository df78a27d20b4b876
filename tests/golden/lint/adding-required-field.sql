SET lock_timeout = '5s';
ALTER TABLE accounts ADD COLUMN region text NOT NULL;
ALTER TABLE accounts ADD COLUMN owner_id bigint NOT NULL DEFAULT NULL;
