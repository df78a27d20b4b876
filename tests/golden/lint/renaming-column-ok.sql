SET lock_timeout = '5s';
-- step one of a rename: a new column, written by the application too
ALTER TABLE users ADD COLUMN email_address text;
CREATE TABLE drafts (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, titel text);
ALTER TABLE drafts RENAME COLUMN titel TO title;
