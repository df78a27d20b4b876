-- strata-lint-ignore-file ban-drop-table
-- strata-lint-ignore ban-drop-colum
ALTER TABLE users DROP COLUMN legacy;
-- strata-lint-ignore renaming-table
SELECT 1;
-- strata-lint-ignore
SELECT 2;
ALTER TABLE users
	-- strata-lint-ignore ban-drop-column
	DROP COLUMN other;
-- strata-lint-ignore prefer-text-field
