-- strata-lint-ignore-file require-lock-timeout
-- strata-lint-ignore ban-drop-column
ALTER TABLE users DROP COLUMN legacy;
