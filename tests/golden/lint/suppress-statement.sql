SET lock_timeout = '5s';
-- several rules, a reason after them:
-- strata-lint-ignore ban-drop-column, ban-drop-not-null dead since v3
ALTER TABLE users DROP COLUMN legacy, ALTER COLUMN email DROP NOT NULL;
/* strata-lint-ignore renaming-table */
ALTER TABLE users RENAME TO members;
-- only the next statement is covered:
ALTER TABLE members DROP COLUMN other;
