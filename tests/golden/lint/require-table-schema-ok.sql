CREATE TABLE app.users (id bigint PRIMARY KEY);
CREATE INDEX users_id ON app.users (id);
ALTER TABLE app.users ADD COLUMN name text;
CREATE TEMPORARY TABLE scratch (id int);
DROP TABLE app.users;
