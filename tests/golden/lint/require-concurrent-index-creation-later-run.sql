-- audit was created by an earlier migration, applied long ago: it has rows
CREATE INDEX audit_at_idx ON audit (at);
