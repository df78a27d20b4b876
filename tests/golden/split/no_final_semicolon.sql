-- The last statement has no semicolon.
CREATE TABLE a (id int);
CREATE TABLE b (id int)

-- trailing comment
