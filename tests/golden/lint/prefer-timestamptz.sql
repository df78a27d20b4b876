CREATE TABLE events (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, at timestamp NOT NULL);
ALTER TABLE events ADD COLUMN seen_at timestamp(3) without time zone;
