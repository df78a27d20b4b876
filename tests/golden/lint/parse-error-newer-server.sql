-- PostgreSQL 16 syntax the PostgreSQL 15 parser rejects: with a newer
-- target server the parse error is a warning, and the server judges.
CREATE TABLE documents (body text);
SELECT body IS JSON FROM documents;
