-- ';' inside literals and identifiers never ends a statement.
INSERT INTO notes (body) VALUES ('one; two'), ('it''s; fine');
INSERT INTO notes (body) VALUES (E'line\n; tab\t; quote\' ; backslash\\'), (e'x;y');
SELECT U&'\0441\043B\043E\043D;' AS unicode_escape, B'1010' AS bits, X'FF' AS hex;
CREATE TABLE "weird;name" ("col""umn;" int, "-- not a comment" text, "/* nor this */" text);
SELECT 'a;'
	'b' AS continued_literal; -- literals continued across a newline
