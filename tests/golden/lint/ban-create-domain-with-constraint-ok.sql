CREATE DOMAIN email AS text;
CREATE TABLE subscribers (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, address email CHECK (address LIKE '%@%'));
