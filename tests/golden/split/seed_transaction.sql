-- A seed file written for psql, with its own transaction control.
BEGIN;
INSERT INTO countries (code, name) VALUES ('FR', 'France'), ('DE', 'Germany');
COMMIT;

START TRANSACTION ISOLATION LEVEL SERIALIZABLE;
UPDATE counters SET n = n + 1;
END;

BEGIN WORK;
DELETE FROM sessions;
ABORT;

BEGIN TRANSACTION READ WRITE;
INSERT INTO audit_log (note) VALUES ('prepared');
PREPARE TRANSACTION 'seed-1';

COMMIT AND CHAIN;
ROLLBACK;
