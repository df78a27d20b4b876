-- databases are dropped by hand, not by migrations
CREATE TABLE notes (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY);
