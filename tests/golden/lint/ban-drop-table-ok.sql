CREATE TABLE staging_import (id bigint, payload jsonb);
INSERT INTO staging_import VALUES (1, '{}');
DROP TABLE staging_import;
