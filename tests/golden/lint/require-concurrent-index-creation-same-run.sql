-- audit was created by the migration before this one, in the same run
-- (pending migrations applied together): still empty
CREATE INDEX audit_at_idx ON audit (at);
