-- Semicolons inside strings are fine: statements are split by the
-- database's own parser.
INSERT INTO users (id, email, name) VALUES (1, 'ada@example.com', 'Ada');
INSERT INTO posts (author_id, title, body)
VALUES (1, 'Welcome', 'strata applied this; then recorded it.');
