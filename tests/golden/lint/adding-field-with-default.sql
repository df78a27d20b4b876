SET lock_timeout = '5s';
-- accounts exists: each of these computes a value for every row
ALTER TABLE accounts ADD COLUMN token uuid DEFAULT gen_random_uuid();
ALTER TABLE accounts ADD COLUMN seen_at timestamptz DEFAULT clock_timestamp();
ALTER TABLE accounts ADD COLUMN number bigserial;
ALTER TABLE accounts ADD COLUMN n bigint GENERATED ALWAYS AS IDENTITY;
ALTER TABLE accounts ADD COLUMN total numeric GENERATED ALWAYS AS (price * qty) STORED;
ALTER TABLE accounts ADD COLUMN code text DEFAULT my_code_generator();
