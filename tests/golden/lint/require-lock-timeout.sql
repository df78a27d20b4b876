ALTER TABLE users ADD COLUMN nickname text;
CREATE INDEX CONCURRENTLY IF NOT EXISTS users_nickname_idx ON users (nickname);
ALTER TABLE users ADD COLUMN bio text;
