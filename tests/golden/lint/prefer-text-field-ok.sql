CREATE TABLE teams (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	name text CHECK (char_length(name) <= 100),
	slug varchar
);
