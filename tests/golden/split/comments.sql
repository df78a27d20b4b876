-- A line comment; with a semicolon
/* A block comment; with a semicolon */
/* An outer comment /* a nested one; */ still the outer one; */
CREATE TABLE t (
	id int, -- trailing comment; with ';'
	/* inline; */ name text
);

-- Leading comments belong to the next statement.
/* so does this */ SELECT 1 /* before the semicolon */ ;
SELECT 2;-- right after the semicolon
SELECT--no space
3;
-- Comments after the last statement belong to none.
/* the end; */
