-- strata-lint-ignore-file ban-drop-column,require-lock-timeout
ALTER TABLE users DROP COLUMN legacy;
ALTER TABLE orders DROP COLUMN other;
ALTER TABLE orders RENAME COLUMN x TO y;
