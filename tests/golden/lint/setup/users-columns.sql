-- strata-lint-ignore-file prefer-text-field
CREATE TABLE users (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	name varchar(50),
	code varchar(10),
	price numeric(10, 2),
	address cidr
);
