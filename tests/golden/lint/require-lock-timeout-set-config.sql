SELECT set_config('lock_timeout', '2s', true);
ALTER TABLE users ADD COLUMN nickname text;
