CREATE TABLE readings (id bigint PRIMARY KEY, level smallint, step int2);
ALTER TABLE readings ADD COLUMN seq smallserial;
ALTER TABLE readings ALTER COLUMN level TYPE smallint;
