/*
 * SQLite backups through SQLite's online backup API (sqlite3_backup_*): a
 * page-by-page copy of the live database into a new file, consistent even
 * while other connections write (the copy starts over when the source
 * changes under it), and restored the same way in the other direction,
 * which replaces the target's whole content. The copy is a self-contained
 * file in rollback-journal mode, whatever the source's journal mode, and
 * the manifest's newest applied version and row counts are read from the
 * copy itself.
 *
 * A schema-only backup is the copy with every table emptied and vacuumed.
 * A data-only backup has no meaning for a single-file database (there is
 * no schema elsewhere to load it into) and is refused.
 */
#include "util/common.h"
#include "util/xalloc.h"
#include "util/sbuf.h"
#include "util/error.h"
#include "util/text.h"
#include "engine/url.h"
#include "drivers/driver.h"
#include "engine/audit.h"
#include "backup/backup.h"
#include "backup/plain.h"
#include "util/sqlite_lib.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define STEP_PAGES   1024
#define BUSY_WAIT_MS 5000
#define BUSY_STEP_MS 20

enum open_mode {
	OPEN_IMMUTABLE, /* a backup file: nobody writes it */
	OPEN_READ,      /* a live database, read only */
	OPEN_WRITE,     /* created when missing */
};

/* "file:PATH?PARAMS", the path percent-encoded where a URI needs it. */
static void add_file_uri(struct sbuf *sb, const char *path, const char *params)
{
	sbuf_adds(sb, "file:");
	if (path[0] == '/' && path[1] == '/')
		sbuf_adds(sb, "//localhost");
	for (const char *p = path; *p; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == '%' || c == '?' || c == '#' || c <= 0x20 || c >= 0x7f)
			sbuf_addf(sb, "%%%02X", c);
		else
			sbuf_addch(sb, (char)c);
	}
	if (params)
		sbuf_addf(sb, "?%s", params);
}

static int open_file(sqlite3 **out, const char *path, enum open_mode mode,
                     struct strata_error *err)
{
	struct sbuf uri = SBUF_INIT;
	int flags = SQLITE_OPEN_URI, rc;

	switch (mode) {
	case OPEN_IMMUTABLE:
		add_file_uri(&uri, path, "immutable=1");
		flags |= SQLITE_OPEN_READONLY;
		break;
	case OPEN_READ:
		add_file_uri(&uri, path, NULL);
		flags |= SQLITE_OPEN_READONLY;
		break;
	case OPEN_WRITE:
		add_file_uri(&uri, path, NULL);
		flags |= SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
		break;
	}
	rc = sqlite3_open_v2(uri.buf, out, flags, NULL);
	sbuf_release(&uri);
	if (rc == SQLITE_OK) {
		sqlite3_extended_result_codes(*out, 1);
		sqlite3_busy_timeout(*out, BUSY_WAIT_MS);
		return 0;
	}
	strata_error_set(err, STRATA_EFAILED, "could not open '%s': %s", path,
	                 *out ? sqlite3_errmsg(*out) : sqlite3_errstr(rc));
	sqlite3_close(*out);
	*out = NULL;
	return -1;
}

static int exec(sqlite3 *db, const char *sql, const char *what,
                struct strata_error *err)
{
	int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);

	if (rc == SQLITE_OK)
		return 0;
	sqlitedrv_error(err, db, sqlite3_extended_errcode(db));
	error_prefix(err, "%s", what);
	return -1;
}

/* Whether a failure of the backup API is another connection's lock. */
static bool is_busy(int rc)
{
	return (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED;
}

/*
 * Copies database `src` over `dst`, page by page, waiting a while when
 * either is locked; progress (bytes copied) to `job` when given.
 */
static int copy_db(sqlite3 *dst, sqlite3 *src, struct backup_job *job,
                   const char *what, struct strata_error *err)
{
	sqlite3_backup *bk = sqlite3_backup_init(dst, "main", src, "main");
	int64_t page_size = 0, last = text_monotonic_ns();
	int waited = 0, rc, sys;
	sqlite3_stmt *st = NULL;

	if (!bk) {
		sqlitedrv_error(err, dst, sqlite3_extended_errcode(dst));
		error_prefix(err, "%s", what);
		return -1;
	}
	if (sqlite3_prepare_v2(src, "PRAGMA page_size", -1, &st, NULL) ==
	            SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		page_size = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	for (;;) {
		/* strata_cancel(): the copy stops; the caller removes it */
		if (strata_is_cancelled()) {
			sqlite3_backup_finish(bk);
			return strata_error_set(err, STRATA_ECANCELED,
			                        "cancelled the backup");
		}
		rc = sqlite3_backup_step(bk, job ? STEP_PAGES : -1);
		if (rc == SQLITE_DONE)
			break;
		if (rc == SQLITE_OK) {
			if (job && text_monotonic_ns() - last >= 1000000000) {
				last = text_monotonic_ns();
				backup_progress(
				        job,
				        page_size *
				                (sqlite3_backup_pagecount(bk) -
				                 sqlite3_backup_remaining(bk)));
			}
			continue;
		}
		if (!is_busy(rc) || waited >= BUSY_WAIT_MS)
			break;
		sqlite3_sleep(BUSY_STEP_MS);
		waited += BUSY_STEP_MS;
	}
	sqlite3_backup_finish(bk);
	if (rc == SQLITE_DONE)
		return 0;
	/* the step's error is left on the destination connection */
	sqlitedrv_error(err, dst,
	                sqlite3_extended_errcode(dst) != SQLITE_OK
	                        ? sqlite3_extended_errcode(dst)
	                        : rc);
	/* and the system's reason (ENOSPC behind SQLITE_FULL) on one of them */
	sys = sqlite3_system_errno(dst) ? sqlite3_system_errno(dst)
	                                : sqlite3_system_errno(src);
	if (err && sys) {
		char *m = xstrfmt("%s (%s)", err->message, strerror(sys));

		free(err->message);
		err->message = m;
	}
	error_prefix(err, "%s", what);
	return -1;
}

/* User tables: not SQLite's own, not virtual (their module may be absent) */
static const char tables_sql[] =
        "SELECT name FROM sqlite_schema WHERE type = 'table'"
        " AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
        " AND sql NOT LIKE 'CREATE VIRTUAL TABLE%' ORDER BY name";

/* Each table's name, and with is_count its rows (else 0). */
static int list_tables(struct strata_backup *b, sqlite3 *db, bool is_count,
                       struct strata_error *err)
{
	sqlite3_stmt *names = NULL, *count = NULL;
	struct sbuf sql = SBUF_INIT;
	int rc = -1, r;

	if (sqlite3_prepare_v2(db, tables_sql, -1, &names, NULL) != SQLITE_OK)
		goto fail;
	while ((r = sqlite3_step(names)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(names, 0);
		int64_t rows = 0;

		if (is_count) {
			sbuf_reset(&sql);
			sbuf_adds(&sql, "SELECT count(*) FROM ");
			sbuf_add_ident(&sql, name);
			if (sqlite3_prepare_v2(db, sql.buf, -1, &count, NULL) !=
			            SQLITE_OK ||
			    sqlite3_step(count) != SQLITE_ROW)
				goto fail;
			rows = sqlite3_column_int64(count, 0);
			sqlite3_finalize(count);
			count = NULL;
		}
		backup_add_table(b, name, rows);
	}
	if (r != SQLITE_DONE)
		goto fail;
	rc = 0;
	goto done;
fail:
	sqlitedrv_error(err, db, sqlite3_extended_errcode(db));
	error_prefix(err, "could not count the rows of the backup's tables");
done:
	sqlite3_finalize(names);
	sqlite3_finalize(count);
	sbuf_release(&sql);
	return rc;
}

/* Every table emptied (as pg_dump --schema-only), then vacuumed. */
static int empty_tables(sqlite3 *db, struct strata_error *err)
{
	struct strata_backup names = { 0 };
	struct sbuf sql = SBUF_INIT;
	int rc = -1;

	if (list_tables(&names, db, false, err) < 0)
		goto done;
	sbuf_adds(&sql, "PRAGMA foreign_keys = OFF; BEGIN;");
	for (size_t i = 0; i < names.n_tables; i++) {
		sbuf_adds(&sql, " DELETE FROM ");
		sbuf_add_ident(&sql, names.tables[i].name);
		sbuf_addch(&sql, ';');
	}
	/* AUTOINCREMENT counters too, when there are any */
	if (sqlite3_exec(db, "SELECT 1 FROM sqlite_sequence", NULL, NULL,
	                 NULL) == SQLITE_OK)
		sbuf_adds(&sql, " DELETE FROM sqlite_sequence;");
	sbuf_adds(&sql, " COMMIT; VACUUM;");
	rc = exec(db, sql.buf, "could not empty the tables of the backup", err);
done:
	for (size_t i = 0; i < names.n_tables; i++)
		free(names.tables[i].name);
	free(names.tables);
	sbuf_release(&sql);
	return rc;
}

/* "app" of "sqlite:/data/app.db"; "memory" for a memory database. */
static char *name_of(const struct strata_url *url)
{
	const char *base, *dot;

	if (url->is_memory || !url->path)
		return xstrdup("memory");
	base = strrchr(url->path, '/');
	base = base ? base + 1 : url->path;
	dot = strrchr(base, '.');
	return xstrndup(base, dot && dot != base ? (size_t)(dot - base)
	                                         : strlen(base));
}

/* The newest applied version, read by the driver from the copy at `path`. */
static int newest_in_copy(int64_t *out, const char *path,
                          const struct history_tables *ht,
                          struct strata_error *err)
{
	struct strata_url u = { 0 };
	struct strata_conn *conn = NULL;
	int rc;

	u.kind = URL_SQLITE;
	u.raw = xstrfmt("sqlite:%s", path);
	u.redacted = xstrdup(u.raw);
	u.path = xstrdup(path);
	rc = sqlitedrv_driver.connect(&conn, &u, err);
	if (rc == 0)
		rc = backup_newest_applied(out, conn, ht, err);
	if (conn)
		sqlitedrv_driver.close(conn);
	url_release(&u);
	return rc;
}

static int sqlite_create(struct backup_job *job, struct strata_error *err)
{
	struct strata_backup *b = job->b;
	sqlite3 *src = job->db->drv->handle(job->db->conn), *dst = NULL;
	int rc = -1;

	b->database_name = name_of(&job->db->url);
	b->server_version = xstrdup(sqlite3_libversion());
	b->tool = xstrfmt("SQLite %s online backup", sqlite3_libversion());
	if (job->opts->kind == STRATA_BACKUP_DATA) {
		strata_error_set(err, STRATA_EUSAGE,
		                 "SQLite databases have no data-only backups");
		strata_error_hint(
		        err, "Back up the whole database (or its schema).");
		return strata_error_reason(err, STRATA_REASON_BACKUP_KIND, -1);
	}
	/* the copy needs no journal: it is a temporary file until renamed */
	if (open_file(&dst, job->tmp_path, OPEN_WRITE, err) < 0 ||
	    exec(dst, "PRAGMA journal_mode = OFF", "could not write the backup",
	         err) < 0 ||
	    copy_db(dst, src, job, "could not back up the database", err) < 0 ||
	    exec(dst, "PRAGMA journal_mode = DELETE",
	         "could not write the backup", err) < 0)
		goto done;
	sqlite3_close(dst);
	dst = NULL;
	if (newest_in_copy(&b->newest_applied, job->tmp_path, &job->db->hist,
	                   err) < 0 ||
	    open_file(&dst, job->tmp_path, OPEN_WRITE, err) < 0)
		goto done;
	if (job->opts->kind == STRATA_BACKUP_SCHEMA &&
	    empty_tables(dst, err) < 0)
		goto done;
	if (list_tables(b, dst, true, err) < 0)
		goto done;
	rc = 0;
done:
	if (sqlite3_close(dst) != SQLITE_OK && rc == 0)
		rc = strata_error_set(err, STRATA_EFAILED,
		                      "could not close the backup '%s'",
		                      job->tmp_path);
	if (rc < 0) {
		/* what SQLite may have left beside the copy */
		static const char *const suffixes[] = { "-journal", "-wal",
			                                "-shm" };
		struct sbuf p = SBUF_INIT;

		for (size_t i = 0; i < ARRAY_SIZE(suffixes); i++) {
			sbuf_reset(&p);
			sbuf_addf(&p, "%s%s", job->tmp_path, suffixes[i]);
			unlink(p.buf);
		}
		sbuf_release(&p);
	}
	return rc;
}

static int sqlite_check(size_t *out, const struct strata_backup *b,
                        const char *bindir, struct strata_error *err)
{
	struct strata_backup tables = { 0 };
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	const char *verdict;
	int rc = -1;

	UNUSED(bindir);
	*out = 0;
	if (b->format == STRATA_BACKUP_FORMAT_PLAIN)
		return plain_check(out, b, false, err);
	if (sqlite_load(err) < 0)
		return -1;
	if (open_file(&db, b->path, OPEN_IMMUTABLE, err) < 0)
		goto done;
	if (sqlite3_prepare_v2(db, "PRAGMA quick_check", -1, &st, NULL) !=
	            SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW) {
		strata_error_set(err, STRATA_EVALIDATE,
		                 "'%s' is not a readable SQLite database: %s",
		                 b->path, sqlite3_errmsg(db));
		goto done;
	}
	verdict = (const char *)sqlite3_column_text(st, 0);
	if (!verdict || strcmp(verdict, "ok") != 0) {
		strata_error_set(err, STRATA_EVALIDATE,
		                 "backup '%s' fails SQLite's quick_check: %s",
		                 b->path, verdict ? verdict : "no verdict");
		goto done;
	}
	if (list_tables(&tables, db, false, err) < 0) {
		err->code = STRATA_EVALIDATE;
		goto done;
	}
	*out = tables.n_tables;
	rc = 0;
done:
	for (size_t i = 0; i < tables.n_tables; i++)
		free(tables.tables[i].name);
	free(tables.tables);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return rc;
}

static int sqlite_restore_test(struct strata_backup *out,
                               const struct strata_backup *b,
                               const struct strata_verify_options *opts,
                               struct strata_error *err)
{
	sqlite3 *src = NULL, *dst = NULL;
	int rc = -1;

	UNUSED(opts);
	if (sqlite_load(err) < 0)
		return -1;
	if (sqlite3_open(":memory:", &dst) != SQLITE_OK) {
		strata_error_set(err, STRATA_EFAILED,
		                 "could not open an SQLite memory database");
		goto done;
	}
	if (open_file(&src, b->path, OPEN_IMMUTABLE, err) < 0 ||
	    copy_db(dst, src, NULL, "restore test", err) < 0 ||
	    list_tables(out, dst, true, err) < 0)
		goto done;
	rc = 0;
done:
	sqlite3_close(src);
	sqlite3_close(dst);
	return rc;
}

static int sqlite_resolve(struct strata_url *out, const struct strata_url *base,
                          const char *into, struct strata_error *err)
{
	char *url = xstrfmt("sqlite:%s", into);
	int rc;

	UNUSED(base);
	rc = url_parse(out, url, err);
	free(url);
	return rc;
}

static int sqlite_inspect(struct backup_target *t, struct strata_error *err)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	struct stat sb;
	int rc = -1;

	if (t->url.is_memory || !t->url.path)
		return strata_error_set(
		        err, STRATA_EUSAGE,
		        "cannot restore into an in-memory database");
	t->exists = stat(t->url.path, &sb) == 0;
	t->is_empty = true;
	if (!t->exists)
		return 0;
	if (open_file(&db, t->url.path, OPEN_READ, err) < 0)
		return -1;
	if (sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_schema", -1,
	                       &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW) {
		sqlitedrv_error(err, db, sqlite3_extended_errcode(db));
		error_prefix(err, "could not read '%s'", t->url.path);
		goto done;
	}
	t->is_empty = sqlite3_column_int64(st, 0) == 0;
	rc = 0;
done:
	sqlite3_finalize(st);
	sqlite3_close(db);
	return rc;
}

/*
 * The target's audit rows newer than every row of the copy, appended to
 * the copy with their ids (AUTOINCREMENT follows): what was recorded
 * after the backup survives the restore. Read from the target through
 * ATTACH, read only.
 */
static int carry_audit(sqlite3 *dst, const char *target,
                       struct strata_error *err)
{
	static const char cols[] =
	        "id, action, version, description, checksum, outcome, error, sqlstate, started_at, finished_at, duration_ns, lock_wait_ns, os_user, db_user, host, pid, strata_version, command, git_commit, up_sql, down_sql";
	struct sbuf uri = SBUF_INIT, sql = SBUF_INIT;
	sqlite3_stmt *st = NULL;
	bool has_audit = false;
	int rc = -1;

	add_file_uri(&uri, target, "mode=ro");
	if (sqlite3_prepare_v2(dst, "ATTACH ?1 AS strata_old", -1, &st, NULL) !=
	            SQLITE_OK ||
	    sqlite3_bind_text(st, 1, uri.buf, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_DONE) {
		sqlitedrv_error(err, dst, sqlite3_extended_errcode(dst));
		error_prefix(err, "could not read the audit trail of '%s'",
		             target);
		goto done;
	}
	sqlite3_finalize(st);
	st = NULL;
	if (sqlite3_prepare_v2(
	            dst,
	            "SELECT 1 FROM strata_old.sqlite_schema WHERE type = 'table' AND name = '" AUDIT_TABLE
	            "'",
	            -1, &st, NULL) != SQLITE_OK) {
		sqlitedrv_error(err, dst, sqlite3_extended_errcode(dst));
		error_prefix(err, "could not read the audit trail of '%s'",
		             target);
		goto detach;
	}
	has_audit = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	st = NULL;
	if (has_audit) {
		sbuf_addf(&sql, sqlitedrv_driver.audit_ddl,
		          "main." AUDIT_TABLE);
		sbuf_addf(
		        &sql,
		        "; INSERT INTO main." AUDIT_TABLE
		        " (%s) SELECT %s FROM strata_old." AUDIT_TABLE
		        " WHERE id > (SELECT coalesce(max(id), 0) FROM main." AUDIT_TABLE
		        ")"
		        /* the restored trail must be where the target's came
		         * from (another database has a history of its own) */
		        " AND (NOT EXISTS (SELECT 1 FROM main." AUDIT_TABLE
		        ") OR EXISTS (SELECT 1 FROM main." AUDIT_TABLE
		        " m JOIN strata_old." AUDIT_TABLE
		        " o ON o.id = m.id AND o.started_at = m.started_at"
		        " WHERE m.id = (SELECT max(id) FROM main." AUDIT_TABLE
		        "))) ORDER BY id",
		        cols, cols);
		if (exec(dst, sql.buf, "could not carry the audit trail over",
		         err) < 0)
			goto detach;
	}
	rc = 0;
detach:
	sqlite3_exec(dst, "DETACH strata_old", NULL, NULL, NULL);
done:
	sqlite3_finalize(st);
	sbuf_release(&uri);
	sbuf_release(&sql);
	return rc;
}

/* fsync of the file at `path`. */
static int sync_file(const char *path, struct strata_error *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fsync(fd) < 0) {
		strata_error_set(err, STRATA_EFAILED,
		                 "could not write '%s' to disk: %s", path,
		                 strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/*
 * Never the only copy first: the backup is copied into a new file beside
 * the target (same directory, so the same file system), the target's
 * newer audit rows are added, it is synced, and only then renamed over
 * the target, which until then is untouched. What SQLite kept beside the
 * old file (-wal, -shm, a journal) belongs to the old content and goes.
 */
static int sqlite_restore(const struct strata_backup *b,
                          struct backup_target *t, bool is_clean,
                          const struct strata_restore_options *opts,
                          struct strata_error *err)
{
	static const char *const side[] = { "-journal", "-wal", "-shm" };
	/* through a symbolic link: the file it names is replaced */
	char *real = t->exists ? realpath(t->url.path, NULL) : NULL;
	const char *path = real ? real : t->url.path;
	const char *slash = strrchr(path, '/');
	struct sbuf tmp = SBUF_INIT, p = SBUF_INIT, text = SBUF_INIT;
	sqlite3 *src = NULL, *dst = NULL;
	struct stat st;
	int fd, rc = -1;

	/* the whole content is replaced: clean or not alike */
	UNUSED(is_clean);
	backup_emit(opts->on_event, opts->event_data,
	            STRATA_EVENT_RESTORE_PROGRESS, "restoring '%s' into '%s'",
	            b->path, t->url.redacted);
	if (slash)
		sbuf_add(&tmp, path, (size_t)(slash - path) + 1);
	sbuf_addf(&tmp, ".%s.strata-restore-XXXXXX", slash ? slash + 1 : path);
	fd = mkstemp(tmp.buf);
	if (fd < 0) {
		strata_error_set(err, STRATA_EFAILED,
		                 "could not create a file beside '%s': %s",
		                 path, strerror(errno));
		sbuf_reset(&tmp);
		goto done;
	}
	/* the target's mode; a new one stays 0600, as backups are */
	if (t->exists && stat(path, &st) == 0)
		fchmod(fd, st.st_mode & 07777);
	close(fd);
	if (b->format == STRATA_BACKUP_FORMAT_PLAIN) {
		/* .dump output, run into the new file: whatever it does
		 * (its own BEGIN and COMMIT), the target is untouched until
		 * the rename */
		if (plain_read_all(&text, b->path, err) < 0 ||
		    open_file(&dst, tmp.buf, OPEN_WRITE, err) < 0)
			goto done;
		if (sqlite3_exec(dst, text.buf, NULL, NULL, NULL) !=
		    SQLITE_OK) {
			sqlitedrv_error(err, dst,
			                sqlite3_extended_errcode(dst));
			error_prefix(err, "restoring '%s' failed", b->path);
			goto done;
		}
		if (!sqlite3_get_autocommit(dst)) {
			strata_error_set(
			        err, STRATA_EFAILED,
			        "restoring '%s' failed: it ends inside a transaction it began",
			        b->path);
			goto done;
		}
	} else if (open_file(&src, b->path, OPEN_IMMUTABLE, err) < 0 ||
	           open_file(&dst, tmp.buf, OPEN_WRITE, err) < 0 ||
	           exec(dst, "PRAGMA journal_mode = OFF", "could not restore",
	                err) < 0 ||
	           copy_db(dst, src, NULL, "could not restore", err) < 0 ||
	           exec(dst, "PRAGMA journal_mode = DELETE",
	                "could not restore", err) < 0) {
		goto done;
	}
	if (t->exists && b->kind == STRATA_BACKUP_FULL &&
	    carry_audit(dst, path, err) < 0)
		goto done;
	if (sqlite3_close(dst) != SQLITE_OK) {
		strata_error_set(err, STRATA_EFAILED, "could not close '%s'",
		                 tmp.buf);
		goto done;
	}
	dst = NULL;
	if (sync_file(tmp.buf, err) < 0)
		goto done;
	if (rename(tmp.buf, path) < 0) {
		strata_error_set(err, STRATA_EFAILED,
		                 "could not rename '%s' to '%s': %s", tmp.buf,
		                 path, strerror(errno));
		goto done;
	}
	sbuf_reset(&tmp);
	for (size_t i = 0; i < ARRAY_SIZE(side); i++) {
		sbuf_reset(&p);
		sbuf_addf(&p, "%s%s", path, side[i]);
		unlink(p.buf);
	}
	sbuf_reset(&p);
	if (slash)
		sbuf_add(&p, path, (size_t)(slash - path) + 1);
	sbuf_adds(&p, ".");
	/* the rename made durable; it is done either way */
	fd = open(p.buf, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	rc = 0;
done:
	sqlite3_close(src);
	sqlite3_close(dst);
	if (tmp.len) {
		unlink(tmp.buf);
		for (size_t i = 0; i < ARRAY_SIZE(side); i++) {
			sbuf_reset(&p);
			sbuf_addf(&p, "%s%s", tmp.buf, side[i]);
			unlink(p.buf);
		}
	}
	sbuf_release(&tmp);
	sbuf_release(&p);
	sbuf_release(&text);
	free(real);
	return rc;
}

const struct backup_ops sqlitebackup_ops = {
	.suffix = ".sqlite",
	.formats = 1u << STRATA_BACKUP_FORMAT_CUSTOM,
	.create = sqlite_create,
	.check = sqlite_check,
	.restore_test = sqlite_restore_test,
	.resolve = sqlite_resolve,
	.inspect = sqlite_inspect,
	.restore = sqlite_restore,
};
