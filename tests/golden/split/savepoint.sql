-- Savepoints work inside the migration's transaction: none is flagged.
SAVEPOINT before_backfill;
UPDATE users SET status = 'active' WHERE status IS NULL;
ROLLBACK TO SAVEPOINT before_backfill;
ROLLBACK TO before_backfill;
ROLLBACK WORK TO SAVEPOINT before_backfill;
RELEASE SAVEPOINT before_backfill;
RELEASE before_backfill;
