SET lock_timeout = '5s';
-- constant and stable defaults are stored once (PostgreSQL 11 and later)
ALTER TABLE accounts ADD COLUMN created_at timestamptz NOT NULL DEFAULT now();
ALTER TABLE accounts ADD COLUMN status text NOT NULL DEFAULT 'new';
ALTER TABLE accounts ADD COLUMN settings jsonb NOT NULL DEFAULT '{}'::jsonb;
ALTER TABLE accounts ADD COLUMN note text DEFAULT NULL;
-- a volatile default for new rows only: add the column, then the default
ALTER TABLE accounts ADD COLUMN token uuid;
ALTER TABLE accounts ALTER COLUMN token SET DEFAULT gen_random_uuid();
-- a table created in the same migration is empty
CREATE TABLE sessions (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY);
ALTER TABLE sessions ADD COLUMN token uuid NOT NULL DEFAULT gen_random_uuid();
