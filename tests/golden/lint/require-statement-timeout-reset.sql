SELECT set_config('statement_timeout', '30s', true);
ALTER TABLE users ADD COLUMN nickname text;
SET statement_timeout = 0;
ALTER TABLE users ADD COLUMN bio text;
