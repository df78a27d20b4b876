-- the new name as a view first; code moves over before the table does
CREATE VIEW accounts AS SELECT * FROM users;
CREATE TABLE tmp_import (id bigint);
ALTER TABLE tmp_import RENAME TO imports;
