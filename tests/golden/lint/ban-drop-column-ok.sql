SET lock_timeout = '5s';
-- nothing reads it since release 42:
-- strata-lint-ignore ban-drop-column: unused since release 42
ALTER TABLE users DROP COLUMN legacy_flags;
CREATE TABLE scratch (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, tmp text);
ALTER TABLE scratch DROP COLUMN tmp;
