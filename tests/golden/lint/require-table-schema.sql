CREATE TABLE users (id bigint PRIMARY KEY);
CREATE INDEX users_id ON users (id);
ALTER TABLE users ADD COLUMN name text;
ALTER TABLE users RENAME TO people;
TRUNCATE people;
DROP TABLE people;
