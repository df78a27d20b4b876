CREATE TABLE readings (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, at timestamptz);
CLUSTER readings USING readings_pkey;
