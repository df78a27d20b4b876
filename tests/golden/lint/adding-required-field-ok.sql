SET lock_timeout = '5s';
ALTER TABLE accounts ADD COLUMN region text NOT NULL DEFAULT 'eu';
ALTER TABLE accounts ADD COLUMN note text;
CREATE TABLE regions (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY);
ALTER TABLE regions ADD COLUMN code text NOT NULL;
