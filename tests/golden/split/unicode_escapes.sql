-- U&'...' strings and U&"..." identifiers, whose end libpg_query's scanner
-- misplaces: each statement still runs to its end (the last one here once
-- ran as DROP TABLE U).
SELECT U&'d\0061t\+000061' AS data;
SELECT U&"d\0061t" FROM (SELECT 1 AS dat) AS t;
SELECT U&'!0441!043B' UESCAPE '!', U&'a'
	'b' AS continued;
SELECT 1; SELECT U&'no semicolon after it'
;
DROP TABLE U&"d\0061ta"
