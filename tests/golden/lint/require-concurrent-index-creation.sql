SET lock_timeout = '5s';
CREATE INDEX users_email_idx ON users (email);
CREATE UNIQUE INDEX ON users (lower(email));
