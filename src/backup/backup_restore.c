/*
 * The order of a restore's checks, whatever the database: the backup
 * verified first, the target resolved and inspected (an existing target
 * that is not empty needs is_clean), the driver's restore (which leaves
 * the target as it was when it fails), then the restore recorded in the
 * restored database's audit trail. What a restore does to a database is
 * the driver's business (backup_pg.c, backup_sqlite.c).
 */
#include "backup/backup.h"
#include "backup/files.h"
#include "util/xalloc.h"
#include "util/sbuf.h"
#include "util/error.h"
#include "engine/url.h"
#include "drivers/driver.h"
#include "engine/audit.h"

/* ---- restoring ---------------------------------------------------------- */

/*
 * Records the restore in the restored database's audit trail (who, when,
 * from which backup): best effort, since the restore itself succeeded and
 * its data is what the caller asked for.
 */
static void record_restore(const struct strata_backup *b,
                           const struct backup_target *t,
                           const struct strata_restore_options *ro,
                           int64_t started)
{
	struct strata_db_options o = { .version = STRATA_DB_OPTIONS_VERSION,
		                       .command = ro->command,
		                       .table = ro->table };
	struct strata_error e = STRATA_ERROR_INIT;
	struct strata_db *db = NULL;
	struct sbuf note = SBUF_INIT;
	struct audit_entry a = { .action = "restore", .is_success = true };

	/* a schema-only restore is followed by a data load, which brings the
	 * audit rows: a row of ours now would collide with them */
	if (b->kind == STRATA_BACKUP_SCHEMA)
		return;
	if (strata_db_open(&db, t->url.raw, &o, &e) < 0 ||
	    audit_ensure(db, &e) < 0)
		goto done;
	if (b->is_external)
		sbuf_addf(&note, "restored from %s (%s%s dump, SHA-256 %s)",
		          b->path, strata_backup_format_name(b->format),
		          b->is_gzip ? ", gzip" : "",
		          *b->sha256 ? b->sha256 : "none: a directory");
	else
		sbuf_addf(&note,
		          "restored from %s (%s backup of %s, SHA-256 %s)",
		          b->path, strata_backup_kind_name(b->kind), b->created,
		          b->sha256);
	a.note = note.buf;
	a.started_at_ns = started;
	a.version = b->newest_applied;
	a.is_versionless = !b->newest_applied;
	audit_add(db, &a, &e);
done:
	sbuf_release(&note);
	strata_db_close(db);
	strata_error_release(&e);
}

/* A failed restore leaves the target as it was (design.md, Backups): it
 * says so. */
static void restore_failed(struct strata_error *err,
                           const struct backup_target *t)
{
	char *old;

	if (!err)
		return;
	old = err->detail;
	err->detail =
	        xstrfmt("%s%sThe database was not %s.", old ? old : "",
	                old ? "\n" : "", t->exists ? "changed" : "created");
	free(old);
}

/* The audit table beside history table `table` (NULL: the default), quoted. */
static int audit_of(char **out, const char *table, struct strata_error *err)
{
	struct table_name name = { 0 };
	struct sbuf sb = SBUF_INIT;

	if (table_name_parse(&name, table ? table : STRATA_DEFAULT_TABLE, err) <
	    0)
		return -1;
	if (name.schema) {
		sbuf_add_ident(&sb, name.schema);
		sbuf_addch(&sb, '.');
	}
	sbuf_add_ident(&sb, AUDIT_TABLE);
	table_name_release(&name);
	*out = sbuf_detach(&sb, NULL);
	return 0;
}

static int resolve_target(struct backup_target *t, const struct backup_ops *ops,
                          const char *url, const char *into,
                          struct strata_error *err)
{
	struct strata_url base = { 0 };
	int rc;

	if (into && url_is_url(into))
		return url_parse(&t->url, into, err);
	if (!into && url)
		return url_parse(&t->url, url, err);
	if (!into) {
		strata_error_set(err, STRATA_EUSAGE,
		                 "no database to restore into");
		strata_error_hint(
		        err, "Give the URL of the database to restore into.");
		return strata_error_reason(err, STRATA_REASON_NEED_TARGET, -1);
	}
	if (url && url_parse(&base, url, err) < 0) {
		url_release(&base);
		return -1;
	}
	rc = ops->resolve(&t->url, url ? &base : NULL, into, err);
	url_release(&base);
	return rc;
}

/*
 * The driver that restores SQL text, which names none: the target's
 * (opts->into when it is a URL, else `url`).
 */
static int driver_of_target(char **out, const char *url, const char *into,
                            struct strata_error *err)
{
	struct strata_url u = { 0 };
	const char *which = into && url_is_url(into) ? into : url;
	int rc;

	if (!which) {
		strata_error_set(err, STRATA_EUSAGE,
		                 "no database to restore into");
		strata_error_hint(
		        err, "Give the URL of the database to restore into.");
		return strata_error_reason(err, STRATA_REASON_NEED_TARGET, -1);
	}
	rc = url_parse(&u, which, err);
	if (rc == 0)
		*out = xstrdup(driver_for_url(&u)->name);
	url_release(&u);
	return rc;
}

int strata_backup_restore(char **out_target, const struct strata_backup *backup,
                          const char *url,
                          const struct strata_restore_options *opts,
                          struct strata_error *err)
{
	/* borrowed from `backup`, but for a driver told by the target */
	struct strata_backup copy = *backup;
	const struct strata_backup *b = &copy;
	char *driver = NULL;
	static const struct strata_restore_options defaults =
	        STRATA_RESTORE_OPTIONS_INIT;
	const struct strata_restore_options *o = opts ? opts : &defaults;
	struct strata_restore_options resolved;
	const struct backup_ops *ops;
	const struct strata_driver *drv;
	struct backup_target t = { 0 };
	struct sbuf question = SBUF_INIT;
	size_t entries = 0;
	bool is_overwrite = false;
	int64_t started = audit_now_ns();
	int rc = -1;

	if (out_target)
		*out_target = NULL;
	if (OPTIONS_CHECK(opts, STRATA_RESTORE_OPTIONS_VERSION,
	                  "strata_restore_options", err) < 0)
		return -1;
	/* the drivers bound a lock wait > 0, and only such a one */
	resolved = *o;
	resolved.lock_wait = o->lock_wait == 0 ? STRATA_DEFAULT_LOCK_WAIT
	                     : o->lock_wait == STRATA_NO_WAIT ? 0.001
	                                                      : o->lock_wait;
	o = &resolved;
	if (o->out_kept)
		*o->out_kept = NULL;
	if (!copy.driver) {
		if (driver_of_target(&driver, url, o->into, err) < 0)
			goto done;
		copy.driver = driver;
	}
	ops = backup_ops_of(b, err);
	if (!ops || audit_of(&t.audit, o->table, err) < 0)
		goto done;
	if (b->is_external)
		backup_emit(
		        o->on_event, o->event_data,
		        STRATA_EVENT_RESTORE_PROGRESS,
		        "verifying '%s': no manifest, so a %s%s dump by its content, read to its end (no checksum or row counts to compare)",
		        b->path, strata_backup_format_name(b->format),
		        b->is_gzip ? " (gzip)" : "");
	else
		backup_emit(o->on_event, o->event_data,
		            STRATA_EVENT_RESTORE_PROGRESS, "verifying '%s'",
		            b->path);
	/* a dump without a manifest has nothing to be checked against */
	if ((!b->is_external && backup_check_file(b, err) < 0) ||
	    ops->check(&entries, b, o->pg_bindir, err) < 0 ||
	    resolve_target(&t, ops, url, o->into, err) < 0)
		goto done;
	drv = driver_for_url(&t.url);
	if (strcmp(drv->name, b->driver) != 0) {
		strata_error_set(
		        err, STRATA_EUSAGE,
		        "backup '%s' is of a %s database and cannot be restored into '%s'",
		        b->path, b->driver, t.url.redacted);
		goto done;
	}
	if (ops->inspect(&t, err) < 0)
		goto done;
	if (b->kind == STRATA_BACKUP_DATA) {
		if (o->is_clean) {
			strata_error_set(
			        err, STRATA_EUSAGE,
			        "a data-only backup cannot replace a database's content");
			strata_error_hint(
			        err,
			        "A data-only backup is loaded into the tables that exist; restore a full backup to replace everything.");
			goto done;
		}
		if (!t.exists) {
			strata_error_set(
			        err, STRATA_EFAILED,
			        "'%s' does not exist: a data-only backup needs the tables to load into",
			        t.url.redacted);
			goto done;
		}
		is_overwrite = true;
		sbuf_addf(&question, "Load the data of '%s' into '%s'?",
		          b->path, t.url.redacted);
	} else if (t.exists && !t.is_empty) {
		if (!o->is_clean) {
			strata_error_set(
			        err, STRATA_EFAILED,
			        "refusing to restore into '%s': it is not empty",
			        t.url.redacted);
			strata_error_hint(
			        err,
			        "Replace its content (everything in it is lost), or restore into another database.");
			strata_error_reason(err, STRATA_REASON_TARGET_NOT_EMPTY,
			                    -1);
			goto done;
		}
		is_overwrite = true;
		sbuf_addf(
		        &question,
		        "Replace everything in '%s' with backup '%s' (taken %s)? Everything in it now is lost.",
		        t.url.redacted, b->path, b->created);
	}
	if (is_overwrite && !o->is_yes) {
		if (!o->confirm) {
			strata_error_set(
			        err, STRATA_EUSAGE,
			        "refusing to overwrite '%s' unconfirmed",
			        t.url.redacted);
			strata_error_hint(
			        err,
			        "Nobody could be asked: confirm beforehand to overwrite it.");
			strata_error_reason(err, STRATA_REASON_CONFIRM, -1);
			goto done;
		}
		if (!o->confirm(question.buf, o->confirm_data)) {
			strata_error_set(
			        err, STRATA_EFAILED,
			        "restore cancelled: nothing was changed");
			goto done;
		}
	}
	if (ops->restore(b, &t, o->is_clean && t.exists && !t.is_empty, o,
	                 err) < 0) {
		restore_failed(err, &t);
		goto done;
	}
	record_restore(b, &t, o, started);
	if (out_target)
		*out_target = xstrdup(t.url.redacted);
	if (o->out_kept) {
		*o->out_kept = t.kept;
		t.kept = NULL;
	}
	rc = 0;
done:
	free(driver);
	url_release(&t.url);
	free(t.audit);
	free(t.kept);
	sbuf_release(&question);
	return rc;
}
