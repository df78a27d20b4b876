-- the table is new: nothing to block
CREATE TABLE audit (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, at timestamptz NOT NULL);
CREATE INDEX audit_at_idx ON audit (at);
