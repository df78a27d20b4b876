-- A typo: the parser rejects the whole text, the scanner still splits it
-- and nothing is lost, not even the statement with no keyword.
CREATE TABLE users (id int PRIMARY KEY, email text);
SELEC * FROM users;
CREATE INDEX CONCURRENTLY users_email_idx ON users (email);
"users" oops;
SELECT 'a;b', $$c;d$$ /* ; */ FROM users;
