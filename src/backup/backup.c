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
 */
#include "backup/backup.h"
#include "util/xalloc.h"
#include "util/sbuf.h"
#include "util/error.h"
#include "engine/url.h"
#include "drivers/driver.h"
#include "engine/history.h"
#include "engine/db.h"
#include "engine/audit.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MANIFEST_SUFFIX  ".json"
#define MANIFEST_VERSION 1
#define PART_MARK        ".part-"
#define TAG_IN_NAME_MAX  48
#define DAY_SECONDS      86400
#define HASH_CHUNK       (1024 * 1024)

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
                          const struct table_name *table,
                          struct strata_error *err)
{
	struct history h = { 0 };

	*out = 0;
	if (history_read(c, table, &h, err) < 0)
		return -1;
	for (size_t i = 0; i < h.n; i++)
		if (h.rows[i].success && h.rows[i].version > *out)
			*out = h.rows[i].version;
	history_release(&h);
	return 0;
}

/* ---- time --------------------------------------------------------------- */

static void format_utc(char *out, size_t size, const char *fmt, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) || !strftime(out, size, fmt, &tm))
		snprintf(out, size, "?");
}

int strata_time_parse(int64_t *out, const char *text)
{
	struct tm tm = { 0 };
	int y, mo, d, h, mi, s, used = -1;
	char *end;
	long long v;

	if (!text || !*text)
		return -1;
	if (text[0] == '@' || isdigit((unsigned char)text[0])) {
		const char *p = text[0] == '@' ? text + 1 : text;

		errno = 0;
		v = strtoll(p, &end, 10);
		if (!errno && end != p && !*end && v >= 0) {
			*out = v;
			return 0;
		}
	}
	if (sscanf(text, "%4d-%2d-%2dT%2d:%2d:%2dZ%n", &y, &mo, &d, &h, &mi, &s,
	           &used) != 6 ||
	    used < 0 || text[used] || mo < 1 || mo > 12 || d < 1 || d > 31 ||
	    h > 23 || mi > 59 || s > 60)
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s;
	*out = (int64_t)timegm(&tm);
	return 0;
}

/* ---- files -------------------------------------------------------------- */

static bool has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* mkdir -p, new directories 0700: backups hold the whole database. */
static int make_dir(const char *dir, struct strata_error *err)
{
	struct sbuf p = SBUF_INIT;
	struct stat st;
	int rc = 0;

	sbuf_adds(&p, dir);
	for (size_t i = 1; i <= p.len && rc == 0; i++) {
		if (p.buf[i] != '/' && p.buf[i] != '\0')
			continue;
		p.buf[i] = '\0';
		if (mkdir(p.buf, 0700) < 0 && errno != EEXIST)
			rc = strata_error_set(
			        err, STRATA_EFAILED,
			        "could not create directory '%s': %s", p.buf,
			        strerror(errno));
		if (i < p.len)
			p.buf[i] = '/';
	}
	if (rc == 0 && (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)))
		rc = strata_error_set(err, STRATA_EFAILED,
		                      "'%s' is not a directory", dir);
	sbuf_release(&p);
	return rc;
}

/* An empty DIR/.NAME.part-XXXXXX, mode 0600; `out` holds its path. */
static int make_temp(struct sbuf *out, const char *dir, const char *name,
                     struct strata_error *err)
{
	int fd;

	sbuf_reset(out);
	sbuf_addf(out, "%s/.%s" PART_MARK "XXXXXX", dir, name);
	fd = mkstemp(out->buf);
	if (fd < 0) {
		strata_error_set(err, STRATA_EFAILED,
		                 "could not create a file in '%s': %s", dir,
		                 strerror(errno));
		sbuf_reset(out);
		return -1;
	}
	close(fd);
	return 0;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Writes `text` to `path` (which exists) and fsyncs it. */
static int write_synced(const char *path, const char *text,
                        struct strata_error *err)
{
	int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);

	if (fd < 0)
		return strata_error_set(err, STRATA_EFAILED,
		                        "could not open '%s': %s", path,
		                        strerror(errno));
	if (write_all(fd, text, strlen(text)) < 0 || fsync(fd) < 0) {
		strata_error_set(err, STRATA_EFAILED,
		                 "could not write '%s': %s", path,
		                 strerror(errno));
		close(fd);
		return -1;
	}
	if (close(fd) < 0)
		return strata_error_set(err, STRATA_EFAILED,
		                        "could not write '%s': %s", path,
		                        strerror(errno));
	return 0;
}

/*
 * The SHA-256 (lower-case hex) and size of the file at `path`; with
 * is_sync, the file is fsync'd too (it was just written).
 */
static int hash_file(char hex[65], uint64_t *size, const char *path,
                     bool is_sync, struct strata_error *err)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	char *buf = xmalloc(HASH_CHUNK);
	struct sbuf sb = SBUF_INIT;
	uint64_t total = 0;
	int fd = -1, rc = -1;

	if (!ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL))
		BUG("SHA-256 digest failed");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		strata_error_set(err, STRATA_EFAILED, "could not open '%s': %s",
		                 path, strerror(errno));
		goto done;
	}
	for (;;) {
		ssize_t n = read(fd, buf, HASH_CHUNK);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			strata_error_set(err, STRATA_EFAILED,
			                 "could not read '%s': %s", path,
			                 strerror(errno));
			goto done;
		}
		if (n == 0)
			break;
		if (!EVP_DigestUpdate(ctx, buf, (size_t)n))
			BUG("SHA-256 digest failed");
		total += (uint64_t)n;
	}
	if (is_sync && fsync(fd) < 0) {
		strata_error_set(err, STRATA_EFAILED,
		                 "could not write '%s' to disk: %s", path,
		                 strerror(errno));
		goto done;
	}
	if (!EVP_DigestFinal_ex(ctx, md, &md_len) || md_len != 32)
		BUG("SHA-256 digest failed");
	sbuf_add_hex(&sb, md, md_len);
	memcpy(hex, sb.buf, 65);
	*size = total;
	rc = 0;
done:
	if (fd >= 0)
		close(fd);
	EVP_MD_CTX_free(ctx);
	sbuf_release(&sb);
	free(buf);
	return rc;
}

/* Makes the directory's entries (a rename) durable. */
static int sync_dir(const char *dir, struct strata_error *err)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = 0;

	if (fd < 0)
		return strata_error_set(err, STRATA_EFAILED,
		                        "could not open directory '%s': %s",
		                        dir, strerror(errno));
	/* some file systems cannot sync a directory: nothing to make durable */
	if (fsync(fd) < 0 && errno != EINVAL && errno != EROFS)
		rc = strata_error_set(
		        err, STRATA_EFAILED,
		        "could not write directory '%s' to disk: %s", dir,
		        strerror(errno));
	close(fd);
	return rc;
}

/*
 * Gives `tmp` the name `path`, never replacing a file that has it: link()
 * then unlink(), which fails when `path` exists; rename() on file systems
 * without hard links. Returns 1 when `path` is taken.
 */
static int publish(const char *tmp, const char *path, struct strata_error *err)
{
	if (link(tmp, path) == 0) {
		unlink(tmp);
		return 0;
	}
	if (errno == EEXIST || access(path, F_OK) == 0)
		return 1;
	if (rename(tmp, path) == 0)
		return 0;
	return strata_error_set(err, STRATA_EFAILED,
	                        "could not rename '%s' to '%s': %s", tmp, path,
	                        strerror(errno));
}

/* `s` as a part of a file name: letters, digits, '_' and '-' only. */
static void add_name_part(struct sbuf *sb, const char *s, size_t max)
{
	size_t start = sb->len;

	for (; s && *s && sb->len - start < max; s++) {
		unsigned char c = (unsigned char)*s;

		if (isalnum(c) || c == '_')
			sbuf_addch(sb, (char)c);
		else if (sb->len > start && sb->buf[sb->len - 1] != '-')
			sbuf_addch(sb, '-');
	}
	while (sb->len > start && sb->buf[sb->len - 1] == '-')
		sb->buf[--sb->len] = '\0';
}

/* DB-YYYYMMDDTHHMMSSZ-KIND[-TAG] */
static void file_base(struct sbuf *sb, const struct strata_backup *b)
{
	char when[24];
	size_t len;

	sbuf_reset(sb);
	add_name_part(sb, b->database_name, 64);
	if (!sb->len)
		sbuf_adds(sb, "db");
	format_utc(when, sizeof(when), "%Y%m%dT%H%M%SZ", b->created_at);
	sbuf_addf(sb, "-%s-%s", when, strata_backup_kind_name(b->kind));
	len = sb->len;
	sbuf_addch(sb, '-');
	add_name_part(sb, b->tag, TAG_IN_NAME_MAX);
	if (sb->len == len + 1)
		sb->buf[--sb->len] = '\0';
}

/* The directory part of `path` ("." when none), as a new string. */
static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return xstrdup(".");
	if (slash == path)
		return xstrdup("/");
	return xstrndup(path, (size_t)(slash - path));
}

static const char *base_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

/* ---- manifests ---------------------------------------------------------- */

static void set_str(json_t *o, const char *key, const char *val)
{
	json_object_set_new(o, key, val ? json_string(val) : json_null());
}

static char *manifest_text(const struct strata_backup *b)
{
	json_t *o = json_object(), *pending = json_array(),
	       *tables = json_array();
	char *text, *out;

	json_object_set_new(o, "strata_backup", json_integer(MANIFEST_VERSION));
	set_str(o, "file", base_of(b->path));
	set_str(o, "driver", b->driver);
	set_str(o, "database", b->database);
	set_str(o, "database_name", b->database_name);
	set_str(o, "server_version", b->server_version);
	set_str(o, "strata_version", b->strata_version);
	set_str(o, "tool", b->tool);
	set_str(o, "kind", strata_backup_kind_name(b->kind));
	set_str(o, "created_at", b->created);
	json_object_set_new(o, "size", json_integer((json_int_t)b->size));
	set_str(o, "sha256", b->sha256);
	json_object_set_new(o, "newest_applied_version",
	                    b->newest_applied ? json_integer(b->newest_applied)
	                                      : json_null());
	set_str(o, "tag", b->tag);
	json_object_set_new(o, "pre_migration",
	                    json_boolean(b->is_pre_migration));
	for (size_t i = 0; i < b->n_pending; i++)
		json_array_append_new(pending, json_integer(b->pending[i]));
	json_object_set_new(o, "pending_versions", pending);
	for (size_t i = 0; i < b->n_tables; i++) {
		json_t *t = json_object();

		set_str(t, "name", b->tables[i].name);
		json_object_set_new(t, "rows", json_integer(b->tables[i].rows));
		json_array_append_new(tables, t);
	}
	json_object_set_new(o, "tables", tables);
	text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (!text)
		BUG("could not encode a manifest");
	out = xstrfmt("%s\n", text);
	free(text);
	return out;
}

static char *dup_str(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_string(v) ? xstrdup(json_string_value(v)) : NULL;
}

static bool is_hex64(const char *s)
{
	if (!s || strlen(s) != 64)
		return false;
	for (; *s; s++)
		if (!isxdigit((unsigned char)*s) || isupper((unsigned char)*s))
			return false;
	return true;
}

static int manifest_parse(struct strata_backup *b, json_t *o,
                          const char *manifest_path, struct strata_error *err)
{
	json_t *v, *item;
	char *file = dup_str(o, "file"), *kind = dup_str(o, "kind"),
	     *created = dup_str(o, "created_at"), *dir = NULL;
	const char *bad = NULL;
	size_t i;
	int rc = -1;

	b->driver = dup_str(o, "driver");
	b->database = dup_str(o, "database");
	b->database_name = dup_str(o, "database_name");
	b->server_version = dup_str(o, "server_version");
	b->strata_version = dup_str(o, "strata_version");
	b->tool = dup_str(o, "tool");
	b->tag = dup_str(o, "tag");
	if (!file || !*file || strchr(file, '/') || file[0] == '.')
		bad = "file";
	else if (!b->driver)
		bad = "driver";
	else if (strata_backup_kind_parse(&b->kind, kind) < 0)
		bad = "kind";
	else if (strata_time_parse(&b->created_at, created) < 0)
		bad = "created_at";
	else if (!json_is_integer(v = json_object_get(o, "size")) ||
	         json_integer_value(v) < 0)
		bad = "size";
	else if (!is_hex64(json_string_value(json_object_get(o, "sha256"))))
		bad = "sha256";
	if (bad) {
		strata_error_set(err, STRATA_EVALIDATE,
		                 "manifest '%s' has no valid \"%s\"",
		                 manifest_path, bad);
		goto done;
	}
	b->size = (uint64_t)json_integer_value(json_object_get(o, "size"));
	memcpy(b->sha256, json_string_value(json_object_get(o, "sha256")), 65);
	format_utc(b->created, sizeof(b->created), "%Y-%m-%dT%H:%M:%SZ",
	           b->created_at);
	v = json_object_get(o, "newest_applied_version");
	b->newest_applied = json_is_integer(v) ? json_integer_value(v) : 0;
	b->is_pre_migration = json_is_true(json_object_get(o, "pre_migration"));
	v = json_object_get(o, "pending_versions");
	if (json_is_array(v) && json_array_size(v)) {
		b->pending = xcalloc(json_array_size(v), sizeof(*b->pending));
		json_array_foreach(v, i, item)
		{
			if (json_is_integer(item))
				b->pending[b->n_pending++] =
				        json_integer_value(item);
		}
	}
	v = json_object_get(o, "tables");
	json_array_foreach(v, i, item)
	{
		json_t *name = json_object_get(item, "name");
		json_t *rows = json_object_get(item, "rows");

		if (json_is_string(name) && json_is_integer(rows))
			backup_add_table(b, json_string_value(name),
			                 json_integer_value(rows));
	}
	backup_sort_tables(b);
	dir = dir_of(manifest_path);
	b->path = strcmp(dir, ".") == 0 && !strchr(manifest_path, '/')
	                  ? xstrdup(file)
	                  : xstrfmt("%s/%s", dir, file);
	b->manifest_path = xstrdup(manifest_path);
	b->is_file_missing = access(b->path, F_OK) != 0;
	rc = 0;
done:
	free(file);
	free(kind);
	free(created);
	free(dir);
	return rc;
}

/*
 * Reads the manifest at `path`. *is_foreign is set (and -1 returned with no
 * error) when the file is not one of strata's manifests: other JSON may
 * live in a backup directory.
 */
static int manifest_load(struct strata_backup **out, const char *path,
                         bool *is_foreign, struct strata_error *err)
{
	struct strata_backup *b;
	json_error_t jerr;
	json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	int rc;

	*is_foreign = false;
	if (!root || !json_is_object(root) ||
	    !json_is_integer(json_object_get(root, "strata_backup"))) {
		json_decref(root);
		*is_foreign = true;
		return -1;
	}
	if (json_integer_value(json_object_get(root, "strata_backup")) >
	    MANIFEST_VERSION) {
		json_decref(root);
		strata_error_set(err, STRATA_EVALIDATE,
		                 "manifest '%s' is of a newer strata", path);
		return strata_error_hint(err, "Use a newer strata.");
	}
	b = xcalloc(1, sizeof(*b));
	rc = manifest_parse(b, root, path, err);
	json_decref(root);
	if (rc < 0) {
		strata_backup_free(b);
		return -1;
	}
	*out = b;
	return 0;
}

int strata_backup_read(struct strata_backup **out, const char *path,
                       struct strata_error *err)
{
	struct sbuf mpath = SBUF_INIT;
	const char *base = base_of(path), *dot = strrchr(base, '.');
	bool is_foreign;
	int rc = -1;

	*out = NULL;
	if (has_suffix(path, MANIFEST_SUFFIX)) {
		sbuf_adds(&mpath, path);
	} else {
		sbuf_add(&mpath, path,
		         dot && dot != base ? (size_t)(dot - path)
		                            : strlen(path));
		sbuf_adds(&mpath, MANIFEST_SUFFIX);
	}
	if (access(mpath.buf, F_OK) != 0) {
		strata_error_set(err, STRATA_EVALIDATE,
		                 access(path, F_OK) != 0
		                         ? "no backup '%s'"
		                         : "backup '%s' has no manifest",
		                 path);
		if (access(path, F_OK) == 0)
			strata_error_hint(
			        err,
			        "strata writes NAME.json beside each backup; without it the backup cannot be verified (looked for '%s').",
			        mpath.buf);
		goto done;
	}
	if (manifest_load(out, mpath.buf, &is_foreign, err) < 0) {
		if (is_foreign)
			strata_error_set(err, STRATA_EVALIDATE,
			                 "'%s' is not a strata backup manifest",
			                 mpath.buf);
		goto done;
	}
	if (!has_suffix(path, MANIFEST_SUFFIX) &&
	    strcmp(base_of((*out)->path), base) != 0) {
		strata_error_set(err, STRATA_EVALIDATE,
		                 "manifest '%s' describes '%s', not '%s'",
		                 mpath.buf, base_of((*out)->path), base);
		strata_backup_free(*out);
		*out = NULL;
		goto done;
	}
	rc = 0;
done:
	sbuf_release(&mpath);
	return rc;
}

/* ---- making a backup ---------------------------------------------------- */

/* Verified after writing (SPEC): the tool reads the new file. */
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
	static const struct strata_backup_options defaults;
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
	if (!ops) {
		strata_error_set(err, STRATA_EUSAGE,
		                 "the %s driver cannot make backups",
		                 db->drv->name);
		goto done;
	}
	b->driver = xstrdup(db->drv->name);
	b->database = xstrdup(db->url.redacted);
	b->strata_version = xstrdup(STRATA_VERSION);
	b->kind = o->kind;
	b->created_at = o->now ? o->now : (int64_t)time(NULL);
	format_utc(b->created, sizeof(b->created), "%Y-%m-%dT%H:%M:%SZ",
	           b->created_at);
	b->tag = o->tag && *o->tag ? xstrdup(o->tag) : NULL;
	b->is_pre_migration = o->is_pre_migration;
	if (o->n_pending) {
		b->pending = xcalloc(o->n_pending, sizeof(*b->pending));
		memcpy(b->pending, o->pending,
		       o->n_pending * sizeof(*b->pending));
		b->n_pending = o->n_pending;
	}
	if (make_dir(dir, err) < 0 || make_temp(&tmp, dir, "backup", err) < 0)
		goto done;
	job.db = db;
	job.opts = o;
	job.tmp_path = tmp.buf;
	job.b = b;
	if (ops->create(&job, err) < 0)
		goto done;
	backup_sort_tables(b);
	if (hash_file(b->sha256, &b->size, tmp.buf, true, err) < 0 ||
	    check_new(ops, b, tmp.buf, o->pg_bindir, err) < 0)
		goto done;
	backup_progress(&job, (int64_t)b->size);

	/* its name, unique in the directory, for the file and the manifest */
	file_base(&base, b);
	for (int n = 1;; n++) {
		sbuf_reset(&path);
		sbuf_addf(&path, "%s/%s", dir, base.buf);
		if (n > 1)
			sbuf_addf(&path, "-%d", n);
		sbuf_reset(&mpath);
		sbuf_addf(&mpath, "%s" MANIFEST_SUFFIX, path.buf);
		sbuf_adds(&path, ops->suffix);
		if (access(mpath.buf, F_OK) == 0)
			continue;
		if ((r = publish(tmp.buf, path.buf, err)) < 0)
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
	text = manifest_text(b);
	if (make_temp(&mtmp, dir, "manifest", err) < 0 ||
	    write_synced(mtmp.buf, text, err) < 0)
		goto done;
	if ((r = publish(mtmp.buf, mpath.buf, err)) != 0) {
		if (r > 0)
			strata_error_set(err, STRATA_EFAILED,
			                 "'%s' was created meanwhile",
			                 mpath.buf);
		goto done;
	}
	sbuf_reset(&mtmp);
	has_manifest = true;
	if (sync_dir(dir, err) < 0)
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
			unlink(path.buf);
		if (tmp.len)
			unlink(tmp.buf);
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

static const struct backup_ops *ops_of(const struct strata_backup *b,
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
static int check_file(const struct strata_backup *b, struct strata_error *err)
{
	char hex[65];
	uint64_t size = 0;

	if (hash_file(hex, &size, b->path, false, err) < 0) {
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
	static const struct strata_verify_options defaults;
	const struct strata_verify_options *o = opts ? opts : &defaults;
	const struct backup_ops *ops = ops_of(b, err);
	struct strata_verify_result res = { 0 };
	struct strata_backup got = { 0 };
	int rc = -1;

	if (!ops || check_file(b, err) < 0 ||
	    ops->check(&res.n_entries, b, o->pg_bindir, err) < 0)
		goto done;
	if (o->is_restore_test) {
		if (b->kind == STRATA_BACKUP_DATA) {
			strata_error_set(
			        err, STRATA_EUSAGE,
			        "a data-only backup cannot be restored on its own, so it cannot be restore-tested");
			strata_error_hint(
			        err,
			        "Verify it without --restore-test, or restore-test a full backup.");
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

/* ---- listing ------------------------------------------------------------ */

static int list_cmp(const void *a, const void *b)
{
	const struct strata_backup *x = *(const struct strata_backup *const *)a;
	const struct strata_backup *y = *(const struct strata_backup *const *)b;

	if (x->created_at != y->created_at)
		return x->created_at < y->created_at ? -1 : 1;
	return strcmp(x->path, y->path);
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int strata_backup_list_load(struct strata_backup_list *out, const char *dir,
                            struct strata_error *err)
{
	struct strata_backup_list l = { 0 };
	size_t alloc = 0, alloc_inc = 0;
	struct dirent *de;
	DIR *d;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (!dir || !*dir)
		dir = STRATA_DEFAULT_BACKUP_DIR;
	d = opendir(dir);
	if (!d) {
		if (errno == ENOENT)
			return 0;
		return strata_error_set(err, STRATA_EFAILED,
		                        "could not read directory '%s': %s",
		                        dir, strerror(errno));
	}
	while ((de = readdir(d))) {
		const char *name = de->d_name;
		struct strata_backup *b = NULL;
		char *path;
		bool is_foreign;

		if (name[0] == '.') {
			if (strstr(name, PART_MARK)) {
				XGROW(l.incomplete, alloc_inc,
				      l.n_incomplete + 1);
				l.incomplete[l.n_incomplete++] =
				        xstrfmt("%s/%s", dir, name);
			}
			continue;
		}
		if (!has_suffix(name, MANIFEST_SUFFIX))
			continue;
		path = xstrfmt("%s/%s", dir, name);
		if (manifest_load(&b, path, &is_foreign, err) < 0) {
			free(path);
			if (is_foreign)
				continue;
			goto done;
		}
		free(path);
		XGROW(l.items, alloc, l.n + 1);
		l.items[l.n++] = b;
	}
	if (l.n > 1)
		qsort(l.items, l.n, sizeof(*l.items), list_cmp);
	if (l.n_incomplete > 1)
		qsort(l.incomplete, l.n_incomplete, sizeof(*l.incomplete),
		      str_cmp);
	*out = l;
	memset(&l, 0, sizeof(l));
	rc = 0;
done:
	closedir(d);
	strata_backup_list_release(&l);
	return rc;
}

void strata_backup_list_release(struct strata_backup_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		strata_backup_free(l->items[i]);
	free(l->items);
	for (size_t i = 0; i < l->n_incomplete; i++)
		free(l->incomplete[i]);
	free(l->incomplete);
	memset(l, 0, sizeof(*l));
}

/* ---- retention ---------------------------------------------------------- */

static void add_age(struct sbuf *sb, int64_t seconds)
{
	if (seconds < 0)
		sbuf_adds(sb, "from the future");
	else if (seconds < 2 * 3600)
		sbuf_addf(sb, "%" PRId64 " minutes old", seconds / 60);
	else if (seconds < 2 * DAY_SECONDS)
		sbuf_addf(sb, "%" PRId64 " hours old", seconds / 3600);
	else
		sbuf_addf(sb, "%" PRId64 " days old", seconds / DAY_SECONDS);
}

static void add_duration(struct sbuf *sb, double seconds)
{
	if (seconds >= DAY_SECONDS && (int64_t)seconds % DAY_SECONDS == 0)
		sbuf_addf(sb, "%" PRId64 " days",
		          (int64_t)seconds / DAY_SECONDS);
	else
		sbuf_addf(sb, "%.0f seconds", seconds);
}

/* Groups of retention: the same database and kind, newest first. */
static int order_cmp(const void *a, const void *b)
{
	const struct strata_backup *x =
	        (*(const struct strata_prune_entry *const *)a)->backup;
	const struct strata_backup *y =
	        (*(const struct strata_prune_entry *const *)b)->backup;
	int c = strcmp(x->database ? x->database : "",
	               y->database ? y->database : "");

	if (c)
		return c;
	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	if (x->created_at != y->created_at)
		return x->created_at > y->created_at ? -1 : 1;
	return -strcmp(x->path, y->path);
}

static bool same_group(const struct strata_backup *x,
                       const struct strata_backup *y)
{
	return x->kind == y->kind &&
	       strcmp(x->database ? x->database : "",
	              y->database ? y->database : "") == 0;
}

struct rule {
	const char *name;
	const char *bucket; /* strftime format of the period */
	size_t keep;
};

static void keep_for(struct strata_prune_entry *e, const char *why)
{
	struct sbuf sb = SBUF_INIT;

	if (e->is_kept && e->reason) {
		sbuf_adds(&sb, e->reason);
		sbuf_adds(&sb, ", ");
	}
	sbuf_adds(&sb, why);
	free(e->reason);
	e->reason = sbuf_detach(&sb, NULL);
	e->is_kept = true;
}

/* Applies `r` to order[0..n), which is grouped and newest first. */
static void apply_rule(struct strata_prune_entry **order, size_t n,
                       const struct rule *r)
{
	for (size_t g = 0; g < n;) {
		size_t end = g + 1, kept = 0;
		char last[32] = "";

		while (end < n &&
		       same_group(order[g]->backup, order[end]->backup))
			end++;
		for (size_t i = g; i < end && kept < r->keep; i++) {
			char key[32], why[64];

			format_utc(key, sizeof(key), r->bucket,
			           order[i]->backup->created_at);
			if (strcmp(key, last) == 0)
				continue;
			snprintf(last, sizeof(last), "%s", key);
			snprintf(why, sizeof(why), "%s %s", r->name, key);
			keep_for(order[i], why);
			kept++;
		}
		g = end;
	}
}

static int remove_file(const char *path, struct strata_error *err)
{
	if (unlink(path) == 0 || errno == ENOENT)
		return 0;
	return strata_error_set(err, STRATA_EFAILED,
	                        "could not remove '%s': %s", path,
	                        strerror(errno));
}

int strata_backup_prune(struct strata_prune_result *out, const char *dir,
                        const struct strata_retention *policy,
                        struct strata_error *err)
{
	static const struct strata_retention defaults =
	        STRATA_RETENTION_DEFAULTS;
	const struct strata_retention *p = policy ? policy : &defaults;
	const struct rule rules[] = {
		{ "daily", "%Y-%m-%d", p->keep_daily },
		{ "weekly", "%G-W%V", p->keep_weekly },
		{ "monthly", "%Y-%m", p->keep_monthly },
	};
	struct strata_prune_result r = { 0 };
	struct strata_prune_entry **order = NULL;
	size_t n_order = 0, alloc = 0;
	int64_t now = p->now ? p->now : (int64_t)time(NULL);
	bool has_removed = false;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (!dir || !*dir)
		dir = STRATA_DEFAULT_BACKUP_DIR;
	if (strata_backup_list_load(&r.list, dir, err) < 0)
		goto done;
	r.n = r.list.n;
	r.entries = xcalloc(r.n ? r.n : 1, sizeof(*r.entries));
	order = xcalloc(r.n ? r.n : 1, sizeof(*order));
	for (size_t i = 0; i < r.n; i++) {
		struct strata_prune_entry *e = &r.entries[i];
		const struct strata_backup *b = r.list.items[i];
		int64_t age = now - b->created_at;
		struct sbuf why = SBUF_INIT;

		e->backup = b;
		if (!b->is_pre_migration) {
			order[n_order++] = e;
			continue;
		}
		sbuf_adds(&why, "pre-migration, ");
		add_age(&why, age);
		if (p->keep_pre_migration < 0 ||
		    (double)age <= p->keep_pre_migration) {
			e->is_kept = true;
		} else {
			sbuf_adds(&why, ", over ");
			add_duration(&why, p->keep_pre_migration);
		}
		e->reason = sbuf_detach(&why, NULL);
	}
	if (n_order > 1)
		qsort(order, n_order, sizeof(*order), order_cmp);
	for (size_t k = 0; k < ARRAY_SIZE(rules); k++)
		apply_rule(order, n_order, &rules[k]);
	for (size_t i = 0; i < r.n; i++) {
		struct strata_prune_entry *e = &r.entries[i];

		if (e->is_kept) {
			r.n_kept++;
			continue;
		}
		if (!e->reason)
			e->reason = xstrdup("not kept by the policy");
		r.n_removed++;
		if (p->is_dry_run)
			continue;
		/* the manifest first: never a complete-looking half */
		if (remove_file(e->backup->manifest_path, err) < 0 ||
		    remove_file(e->backup->path, err) < 0)
			goto done;
		has_removed = true;
	}
	for (size_t i = 0; i < r.list.n_incomplete; i++) {
		const char *path = r.list.incomplete[i];
		struct stat st;

		if (lstat(path, &st) < 0 ||
		    (int64_t)st.st_mtime > now - DAY_SECONDS)
			continue;
		XGROW(r.removed_incomplete, alloc, r.n_removed_incomplete + 1);
		r.removed_incomplete[r.n_removed_incomplete++] = xstrdup(path);
		if (p->is_dry_run)
			continue;
		if (remove_file(path, err) < 0)
			goto done;
		has_removed = true;
	}
	if (has_removed && sync_dir(dir, err) < 0)
		goto done;
	*out = r;
	memset(&r, 0, sizeof(r));
	rc = 0;
done:
	free(order);
	strata_prune_result_release(&r);
	return rc;
}

void strata_prune_result_release(struct strata_prune_result *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->entries[i].reason);
	free(r->entries);
	for (size_t i = 0; i < r->n_removed_incomplete; i++)
		free(r->removed_incomplete[i]);
	free(r->removed_incomplete);
	strata_backup_list_release(&r->list);
	memset(r, 0, sizeof(*r));
}

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
	struct strata_db_options o = { .command = ro->command,
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
	sbuf_addf(&note, "restored from %s (%s backup of %s, SHA-256 %s)",
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

/* A failed restore leaves the target as it was (SPEC): it says so. */
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
		return strata_error_hint(
		        err,
		        "Pass --database URL (or set DATABASE_URL), or --into URL.");
	}
	if (url && url_parse(&base, url, err) < 0) {
		url_release(&base);
		return -1;
	}
	rc = ops->resolve(&t->url, url ? &base : NULL, into, err);
	url_release(&base);
	return rc;
}

int strata_backup_restore(char **out_target, const struct strata_backup *b,
                          const char *url,
                          const struct strata_restore_options *opts,
                          struct strata_error *err)
{
	static const struct strata_restore_options defaults;
	const struct strata_restore_options *o = opts ? opts : &defaults;
	const struct backup_ops *ops = ops_of(b, err);
	const struct strata_driver *drv;
	struct backup_target t = { 0 };
	struct sbuf question = SBUF_INIT;
	size_t entries = 0;
	bool is_overwrite = false;
	int64_t started = audit_now_ns();
	int rc = -1;

	if (out_target)
		*out_target = NULL;
	if (o->out_kept)
		*o->out_kept = NULL;
	if (!ops || audit_of(&t.audit, o->table, err) < 0)
		goto done;
	backup_emit(o->on_event, o->event_data, STRATA_EVENT_RESTORE_PROGRESS,
	            "verifying '%s'", b->path);
	if (check_file(b, err) < 0 ||
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
			        "--clean does not go with a data-only backup");
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
			        "Pass --clean to empty it first (everything in it is lost), or restore --into another database.");
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
			        "refusing to overwrite '%s' without --yes",
			        t.url.redacted);
			strata_error_hint(
			        err,
			        "Nobody could be asked (stdin is not a terminal): pass --yes to overwrite it.");
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
	url_release(&t.url);
	free(t.audit);
	free(t.kept);
	sbuf_release(&question);
	return rc;
}
