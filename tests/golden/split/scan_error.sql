-- The scanner itself fails: an unterminated string. The split fails.
SELECT 1;
SELECT 'never closed;
SELECT 2;
