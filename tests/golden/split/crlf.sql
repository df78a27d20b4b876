-- Windows line endings.
CREATE TABLE crlf (
	id int
);

-- two statements on one line
INSERT INTO crlf VALUES (1); INSERT INTO crlf VALUES (2);
CREATE INDEX CONCURRENTLY crlf_idx ON crlf (id);
