SET lock_timeout = '3s';
ALTER TABLE users ADD COLUMN nickname text;
SET lock_timeout = 0;
ALTER TABLE users ADD COLUMN bio text;
