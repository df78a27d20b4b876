/*
 * Backups around migrations, the generic half: file names, the discipline
 * of temporary name, fsync and rename (the manifest last, so that a backup
 * is complete exactly when its manifest exists), the manifest itself
 * (JSON, beside the backup), SHA-256, listing, retention, and the order of
 * a restore's checks. What a backup is made of is each driver's business,
 * through its `backup` operations (backup_pg.c: pg_dump and pg_restore;
 * backup_sqlite.c: SQLite's online backup API): nothing here knows which
 * database it is talking to.
 *
 * It does not schedule backups, copy them off the machine or encrypt them.
 * Since a backup holds the whole database, its directory is made 0700 and
 * its files are 0600.
 *
 * This file holds the backup description, making a backup and verifying
 * one; names, durable writes and manifests are in backup_files.c, listing
 * and retention in backup_prune.c, a restore's order in backup_restore.c,
 * sharing files.h.
 */
#include "backup/backup.h"
#include "backup/files.h"
#include "util/xalloc.h"
#include "util/sbuf.h"
#include "util/error.h"
#include "drivers/driver.h"
#include "engine/history.h"
#include "engine/db.h"

#include <errno.h>
#include <inttypes.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *const kind_names[] = { "full", "schema", "data" };

const char *strata_backup_kind_name(enum strata_backup_kind kind)
{
	if ((size_t)kind < ARRAY_SIZE(kind_names))
		return kind_names[kind];
	BUG("unknown backup kind");
}

int strata_backup_kind_parse(enum strata_backup_kind *out, const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(kind_names); i++) {
		if (name && strcmp(name, kind_names[i]) == 0) {
			*out = (enum strata_backup_kind)i;
			return 0;
		}
	}
	return -1;
}

static const char *const format_names[] = { "custom", "plain", "directory" };

const char *strata_backup_format_name(enum strata_backup_format format)
{
	if ((size_t)format < ARRAY_SIZE(format_names))
		return format_names[format];
	BUG("unknown backup format");
}

int strata_backup_format_parse(enum strata_backup_format *out, const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(format_names); i++) {
		if (name && strcmp(name, format_names[i]) == 0) {
			*out = (enum strata_backup_format)i;
			return 0;
		}
	}
	return -1;
}

/* ---- the backup description --------------------------------------------- */

static void backup_clear(struct strata_backup *b)
{
	free(b->path);
	free(b->manifest_path);
	free(b->driver);
	free(b->database);
	free(b->database_name);
	free(b->server_version);
	free(b->strata_version);
	free(b->tool);
	free(b->tag);
	free(b->pending);
	for (size_t i = 0; i < b->n_tables; i++)
		free(b->tables[i].name);
	free(b->tables);
	memset(b, 0, sizeof(*b));
}

void strata_backup_free(struct strata_backup *b)
{
	if (!b)
		return;
	backup_clear(b);
	free(b);
}

void backup_add_table(struct strata_backup *b, const char *name, int64_t rows)
{
	b->tables = xrealloc(b->tables, (b->n_tables + 1) * sizeof(*b->tables));
	b->tables[b->n_tables].name = xstrdup(name);
	b->tables[b->n_tables].rows = rows;
	b->n_tables++;
}

static int table_cmp(const void *a, const void *b)
{
	const struct strata_backup_table *x = a, *y = b;

	return strcmp(x->name, y->name);
}

void backup_sort_tables(struct strata_backup *b)
{
	if (b->n_tables > 1)
		qsort(b->tables, b->n_tables, sizeof(*b->tables), table_cmp);
}

char *backup_scrub(const char *text, const char *secret)
{
	struct sbuf sb = SBUF_INIT;
	size_t n = secret ? strlen(secret) : 0;
	const char *p = text ? text : "", *hit;

	if (!n)
		return xstrdup(p);
	while ((hit = strstr(p, secret))) {
		sbuf_add(&sb, p, (size_t)(hit - p));
		sbuf_adds(&sb, "***");
		p = hit + n;
	}
	sbuf_adds(&sb, p);
	return sbuf_detach(&sb, NULL);
}

void backup_emit(strata_event_fn fn, void *data, enum strata_event_kind kind,
                 const char *fmt, ...)
{
	struct strata_event ev = { .kind = kind };
	struct sbuf sb = SBUF_INIT;
	va_list ap;

	if (!fn)
		return;
	va_start(ap, fmt);
	sbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	ev.message = sb.buf;
	fn(&ev, data);
	sbuf_release(&sb);
}

void backup_progress(struct backup_job *job, int64_t bytes)
{
	struct strata_event ev = { .kind = STRATA_EVENT_BACKUP_PROGRESS };

	if (bytes == job->last_bytes)
		return;
	job->last_bytes = bytes;
	ev.bytes = bytes;
	db_emit(job->db, &ev);
}

int backup_newest_applied(int64_t *out, struct strata_conn *c,
                          const struct history_tables *ht,
                          struct strata_error *err)
{
	struct history h = { 0 };

	*out = 0;
	if (history_read(c, ht, &h, err) < 0)
		return -1;
	for (size_t i = 0; i < h.n; i++)
		if (h.rows[i].success && h.rows[i].version > *out)
			*out = h.rows[i].version;
	history_release(&h);
	return 0;
}

/* ---- making a backup ---------------------------------------------------- */

/* Verified after writing (design.md, Backups): the tool reads the new
 * file. */
static int check_new(const struct backup_ops *ops,
                     const struct strata_backup *b, const char *tmp,
                     const char *pg_bindir, struct strata_error *err)
{
	struct strata_backup probe = *b; /* borrowed: never freed */
	size_t entries;

	probe.path = (char *)tmp;
	if (ops->check(&entries, &probe, pg_bindir, err) == 0)
		return 0;
	err->code = STRATA_EFAILED;
	error_prefix(err, "the new backup does not verify");
	return -1;
}

int strata_backup_create(struct strata_backup **out, struct strata_db *db,
                         const struct strata_backup_options *opts,
                         struct strata_error *err)
{
	static const struct strata_backup_options defaults =
	        STRATA_BACKUP_OPTIONS_INIT;
	const struct strata_backup_options *o = opts ? opts : &defaults;
	const struct backup_ops *ops = db->drv->backup;
	const char *dir =
	        o->dir && *o->dir ? o->dir : STRATA_DEFAULT_BACKUP_DIR;
	struct strata_backup *b = xcalloc(1, sizeof(*b));
	struct backup_job job = { 0 };
	struct sbuf tmp = SBUF_INIT, mtmp = SBUF_INIT, base = SBUF_INIT;
	struct sbuf path = SBUF_INIT, mpath = SBUF_INIT;
	bool has_dump = false, has_manifest = false;
	char *text = NULL;
	int rc = -1, r;

	*out = NULL;
	/* the hash is taken once the dump is written: fail before dumping */
	if (OPTIONS_CHECK(opts, STRATA_BACKUP_OPTIONS_VERSION,
	                  "strata_backup_options", err) < 0 ||
	    backup_hash_load(err) < 0)
		goto done;
	if (!ops) {
		strata_error_set(err, STRATA_EUSAGE,
		                 "the %s driver cannot make backups",
		                 db->drv->name);
		goto done;
	}
	/* an SQLite backup is a database file; the formats are pg_dump's */
	if (!(ops->formats & (1u << o->format))) {
		strata_error_set(
		        err, STRATA_EUSAGE, "a %s backup of %s has no meaning",
		        strata_backup_format_name(o->format), db->drv->name);
		strata_error_hint(
		        err,
		        "SQLite backups are copies of the database file (the custom format).");
		goto done;
	}
	b->driver = xstrdup(db->drv->name);
	b->database = xstrdup(db->url.redacted);
	b->strata_version = xstrdup(STRATA_VERSION);
	b->kind = o->kind;
	b->format = o->format;
	b->created_at = o->now ? o->now : (int64_t)time(NULL);
	backup_format_utc(b->created, sizeof(b->created), "%Y-%m-%dT%H:%M:%SZ",
	                  b->created_at);
	b->tag = o->tag && *o->tag ? xstrdup(o->tag) : NULL;
	b->is_pre_migration = o->is_pre_migration;
	if (o->n_pending) {
		b->pending = xcalloc(o->n_pending, sizeof(*b->pending));
		memcpy(b->pending, o->pending,
		       o->n_pending * sizeof(*b->pending));
		b->n_pending = o->n_pending;
	}
	if (backup_make_dir(dir, err) < 0 ||
	    backup_make_temp(&tmp, dir, "backup", err) < 0)
		goto done;
	/* pg_dump -Fd writes into an empty directory */
	if (o->format == STRATA_BACKUP_FORMAT_DIRECTORY &&
	    (unlink(tmp.buf) < 0 || mkdir(tmp.buf, 0700) < 0)) {
		strata_error_set(err, STRATA_EFAILED,
		                 "could not create directory '%s': %s", tmp.buf,
		                 strerror(errno));
		goto done;
	}
	job.db = db;
	job.opts = o;
	job.tmp_path = tmp.buf;
	job.b = b;
	if (ops->create(&job, err) < 0)
		goto done;
	backup_sort_tables(b);
	if (backup_hash_file(b->sha256, &b->size, tmp.buf, true, err) < 0 ||
	    check_new(ops, b, tmp.buf, o->pg_bindir, err) < 0)
		goto done;
	backup_progress(&job, (int64_t)b->size);

	/* its name, unique in the directory, for the file and the manifest */
	backup_file_base(&base, b);
	for (int n = 1;; n++) {
		sbuf_reset(&path);
		sbuf_addf(&path, "%s/%s", dir, base.buf);
		if (n > 1)
			sbuf_addf(&path, "-%d", n);
		sbuf_reset(&mpath);
		sbuf_addf(&mpath, "%s" MANIFEST_SUFFIX, path.buf);
		sbuf_adds(&path, backup_suffix(o->format, ops->suffix));
		if (access(mpath.buf, F_OK) == 0)
			continue;
		if ((r = backup_publish(tmp.buf, path.buf, err)) < 0)
			goto done;
		if (r == 0)
			break;
		if (n >= 1000) {
			strata_error_set(err, STRATA_EFAILED,
			                 "no free name for '%s' in '%s'",
			                 base.buf, dir);
			goto done;
		}
	}
	sbuf_reset(&tmp);
	has_dump = true;
	b->path = xstrdup(path.buf);
	b->manifest_path = xstrdup(mpath.buf);

	/* the manifest last: the backup is complete once it has its name */
	text = backup_manifest_text(b);
	if (backup_make_temp(&mtmp, dir, "manifest", err) < 0 ||
	    backup_write_synced(mtmp.buf, text, err) < 0)
		goto done;
	if ((r = backup_publish(mtmp.buf, mpath.buf, err)) != 0) {
		if (r > 0)
			strata_error_set(err, STRATA_EFAILED,
			                 "'%s' was created meanwhile",
			                 mpath.buf);
		goto done;
	}
	sbuf_reset(&mtmp);
	has_manifest = true;
	if (backup_sync_dir(dir, err) < 0)
		goto done;
	*out = b;
	b = NULL;
	rc = 0;
done:
	if (rc < 0) {
		/* nothing that looks complete may stay: manifest first */
		if (has_manifest)
			unlink(mpath.buf);
		if (has_dump)
			backup_remove(path.buf);
		if (tmp.len)
			backup_remove(tmp.buf);
		if (mtmp.len)
			unlink(mtmp.buf);
	}
	strata_backup_free(b);
	sbuf_release(&tmp);
	sbuf_release(&mtmp);
	sbuf_release(&base);
	sbuf_release(&path);
	sbuf_release(&mpath);
	free(text);
	return rc;
}

/* ---- verifying ---------------------------------------------------------- */

const struct backup_ops *backup_ops_of(const struct strata_backup *b,
                                       struct strata_error *err)
{
	const struct strata_driver *drv = driver_by_name(b->driver);

	if (drv && drv->backup)
		return drv->backup;
	strata_error_set(err, STRATA_EVALIDATE,
	                 "backup '%s' is of an unknown database ('%s')",
	                 b->path, b->driver);
	return NULL;
}

/* Size and SHA-256 against the manifest: STRATA_EVALIDATE if they differ. */
int backup_check_file(const struct strata_backup *b, struct strata_error *err)
{
	char hex[65];
	uint64_t size = 0;

	/* a missing libcrypto is no damage to the backup */
	if (backup_hash_load(err) < 0)
		return -1;
	if (backup_hash_file(hex, &size, b->path, false, err) < 0) {
		err->code = STRATA_EVALIDATE;
		return -1;
	}
	if (size != b->size) {
		strata_error_set(err, STRATA_EVALIDATE,
		                 "backup '%s' is damaged: it has %" PRIu64
		                 " bytes, its manifest says %" PRIu64,
		                 b->path, size, b->size);
		return strata_error_hint(
		        err, "Do not restore it: use another backup.");
	}
	if (strcmp(hex, b->sha256) != 0) {
		strata_error_set(
		        err, STRATA_EVALIDATE,
		        "backup '%s' is damaged: its SHA-256 differs from its manifest's",
		        b->path);
		strata_error_detail(
		        err, "SHA-256 of the file: %s. In the manifest: %s.",
		        hex, b->sha256);
		return strata_error_hint(
		        err, "Do not restore it: use another backup.");
	}
	return 0;
}

int backup_compare_tables(const struct strata_backup *want,
                          const struct strata_backup *got, const char *what,
                          struct strata_error *err)
{
	size_t i = 0, j = 0;

	while (i < want->n_tables || j < got->n_tables) {
		const struct strata_backup_table *w =
		        i < want->n_tables ? &want->tables[i] : NULL;
		const struct strata_backup_table *g =
		        j < got->n_tables ? &got->tables[j] : NULL;
		int c = !w ? 1 : !g ? -1 : strcmp(w->name, g->name);

		if (c < 0)
			return strata_error_set(
			        err, STRATA_EVALIDATE,
			        "%s: table '%s' is missing from the restored database",
			        what, w->name);
		if (c > 0)
			return strata_error_set(
			        err, STRATA_EVALIDATE,
			        "%s: table '%s' is in the restored database but not in the manifest",
			        what, g->name);
		if (w->rows != g->rows)
			return strata_error_set(
			        err, STRATA_EVALIDATE,
			        "%s: table '%s' has %" PRId64
			        " rows after restoring, the manifest says %" PRId64,
			        what, w->name, g->rows, w->rows);
		i++;
		j++;
	}
	return 0;
}

int strata_backup_verify(struct strata_verify_result *out,
                         const struct strata_backup *b,
                         const struct strata_verify_options *opts,
                         struct strata_error *err)
{
	static const struct strata_verify_options defaults =
	        STRATA_VERIFY_OPTIONS_INIT;
	const struct strata_verify_options *o = opts ? opts : &defaults;
	const struct backup_ops *ops =
	        OPTIONS_CHECK(opts, STRATA_VERIFY_OPTIONS_VERSION,
	                      "strata_verify_options", err) < 0
	                ? NULL
	                : backup_ops_of(b, err);
	struct strata_verify_result res = { 0 };
	struct strata_backup got = { 0 };
	int rc = -1;

	if (!ops || backup_check_file(b, err) < 0 ||
	    ops->check(&res.n_entries, b, o->pg_bindir, err) < 0)
		goto done;
	if (o->is_restore_test) {
		if (b->kind == STRATA_BACKUP_DATA) {
			strata_error_set(
			        err, STRATA_EUSAGE,
			        "a data-only backup cannot be restored on its own, so it cannot be restore-tested");
			strata_error_hint(
			        err,
			        "Verify it without the restore test, or restore-test a full backup.");
			strata_error_reason(
			        err, STRATA_REASON_RESTORE_TEST_KIND, -1);
			goto done;
		}
		if (ops->restore_test(&got, b, o, err) < 0)
			goto done;
		backup_sort_tables(&got);
		if (backup_compare_tables(b, &got, "restore test", err) < 0)
			goto done;
		res.is_restore_tested = true;
		res.n_tables_compared = b->n_tables;
	}
	rc = 0;
done:
	if (out)
		*out = res;
	backup_clear(&got);
	return rc;
}
