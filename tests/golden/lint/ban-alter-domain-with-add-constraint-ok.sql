-- existing values are checked by VALIDATE CONSTRAINT in a later migration
ALTER DOMAIN email ADD CONSTRAINT email_has_at CHECK (VALUE LIKE '%@%') NOT VALID;
