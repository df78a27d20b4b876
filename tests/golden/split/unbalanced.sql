-- Unbalanced parentheses: a ';' inside an open '(' does not split (as in
-- psql), a stray ')' is ignored; every token still lands in a statement.
SELECT 1);
SELECT (2;
SELECT 3;
