/*
 * The backup directory's files: names (database, time, kind, tag), the
 * discipline of temporary name, fsync and link that makes a file exist
 * only when complete, SHA-256 of a backup file, and the manifest (JSON,
 * beside the backup, written last) with its reader, which passes over
 * other JSON and refuses a newer strata's manifest. Also the UTC times
 * manifests and names carry.
 */
#include "backup/backup.h"
#include "backup/files.h"
#include "backup/plain.h"
#include "util/xalloc.h"
#include "util/sbuf.h"
#include "util/error.h"
#include "util/crypto.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- time --------------------------------------------------------------- */

void backup_format_utc(char *out, size_t size, const char *fmt, int64_t t)
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

bool backup_has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* mkdir -p, new directories 0700: backups hold the whole database. */
int backup_make_dir(const char *dir, struct strata_error *err)
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
int backup_make_temp(struct sbuf *out, const char *dir, const char *name,
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
int backup_write_synced(const char *path, const char *text,
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

/* Feeds the file at `path` into `ctx`; *total grows by its size. */
static int hash_into(EVP_MD_CTX *ctx, uint64_t *total, const char *path,
                     bool is_sync, struct strata_error *err)
{
	char *buf = xmalloc(HASH_CHUNK);
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = -1;

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
		*total += (uint64_t)n;
	}
	if (is_sync && fsync(fd) < 0) {
		strata_error_set(err, STRATA_EFAILED,
		                 "could not write '%s' to disk: %s", path,
		                 strerror(errno));
		goto done;
	}
	rc = 0;
done:
	if (fd >= 0)
		close(fd);
	free(buf);
	return rc;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A directory-format dump: its files by name, each as name, size, bytes
 * (a renamed or swapped file changes the hash, not only its bytes). */
static int hash_dir(EVP_MD_CTX *ctx, uint64_t *total, const char *path,
                    bool is_sync, struct strata_error *err)
{
	DIR *d = opendir(path);
	struct dirent *de;
	struct sbuf p = SBUF_INIT;
	char **names = NULL;
	size_t n = 0, alloc = 0;
	int rc = -1;

	if (!d)
		return strata_error_set(err, STRATA_EFAILED,
		                        "could not open directory '%s': %s",
		                        path, strerror(errno));
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
			XGROW(names, alloc, n + 1);
			names[n++] = xstrdup(de->d_name);
		}
	closedir(d);
	if (n > 1)
		qsort(names, n, sizeof(*names), name_cmp);
	for (size_t i = 0; i < n; i++) {
		uint64_t before = *total;
		unsigned char len[8];

		sbuf_reset(&p);
		sbuf_addf(&p, "%s/%s", path, names[i]);
		if (!EVP_DigestUpdate(ctx, names[i], strlen(names[i]) + 1) ||
		    hash_into(ctx, total, p.buf, is_sync, err) < 0)
			goto done;
		for (int b = 0; b < 8; b++)
			len[b] = (unsigned char)((*total - before) >>
			                         (56 - 8 * b));
		if (!EVP_DigestUpdate(ctx, len, sizeof(len)))
			BUG("SHA-256 digest failed");
	}
	if (is_sync && backup_sync_dir(path, err) < 0)
		goto done;
	rc = 0;
done:
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	sbuf_release(&p);
	return rc;
}

int backup_remove(const char *path)
{
	struct stat st;
	struct dirent *de;
	struct sbuf p = SBUF_INIT;
	DIR *d;
	int rc = 0;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISDIR(st.st_mode))
		return unlink(path) == 0 || errno == ENOENT ? 0 : -1;
	/* pg_dump's directory format is flat: toc.dat and N.dat.gz */
	if (!(d = opendir(path)))
		return -1;
	while (rc == 0 && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		sbuf_reset(&p);
		sbuf_addf(&p, "%s/%s", path, de->d_name);
		if (unlink(p.buf) < 0 && errno != ENOENT)
			rc = -1;
	}
	closedir(d);
	sbuf_release(&p);
	return rc == 0 && rmdir(path) < 0 && errno != ENOENT ? -1 : rc;
}

const char *backup_suffix(enum strata_backup_format format, const char *native)
{
	switch (format) {
	case STRATA_BACKUP_FORMAT_PLAIN:
		return ".sql";
	case STRATA_BACKUP_FORMAT_DIRECTORY:
		return ".dir";
	case STRATA_BACKUP_FORMAT_CUSTOM:
		break;
	}
	return native;
}

int backup_hash_load(struct strata_error *err)
{
	return crypto_load("a backup's SHA-256", err);
}

/*
 * The SHA-256 (lower-case hex) and size of the file at `path`; with
 * is_sync, the file is fsync'd too (it was just written).
 */
int backup_hash_file(char hex[65], uint64_t *size, const char *path,
                     bool is_sync, struct strata_error *err)
{
	struct stat st;
	bool is_dir = stat(path, &st) == 0 && S_ISDIR(st.st_mode);
	EVP_MD_CTX *ctx = NULL;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	struct sbuf sb = SBUF_INIT;
	uint64_t total = 0;
	int rc = -1;

	if (backup_hash_load(err) < 0)
		return -1;
	ctx = EVP_MD_CTX_new();
	if (!ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL))
		BUG("SHA-256 digest failed");
	/* a directory-format dump: its files by name (hash_dir()) */
	if ((is_dir ? hash_dir : hash_into)(ctx, &total, path, is_sync, err) <
	    0)
		goto done;
	if (!EVP_DigestFinal_ex(ctx, md, &md_len) || md_len != 32)
		BUG("SHA-256 digest failed");
	sbuf_add_hex(&sb, md, md_len);
	memcpy(hex, sb.buf, 65);
	*size = total;
	rc = 0;
done:
	EVP_MD_CTX_free(ctx);
	sbuf_release(&sb);
	return rc;
}

/* Makes the directory's entries (a rename) durable. */
int backup_sync_dir(const char *dir, struct strata_error *err)
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
int backup_publish(const char *tmp, const char *path, struct strata_error *err)
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
void backup_file_base(struct sbuf *sb, const struct strata_backup *b)
{
	char when[24];
	size_t len;

	sbuf_reset(sb);
	add_name_part(sb, b->database_name, 64);
	if (!sb->len)
		sbuf_adds(sb, "db");
	backup_format_utc(when, sizeof(when), "%Y%m%dT%H%M%SZ", b->created_at);
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

/* A JSON string must be UTF-8: text that is not (a database's name in
 * SQL_ASCII) is kept escaped as strata_printable() escapes it, never
 * dropped. */
static void set_str(json_t *o, const char *key, const char *val)
{
	json_t *j = val ? json_string(val) : json_null();
	char *p;

	if (!j) {
		p = strata_printable(val, STRATA_PRINTABLE_LINES);
		j = json_string(p ? p : "");
		free(p);
	}
	json_object_set_new(o, key, j);
}

char *backup_manifest_text(const struct strata_backup *b)
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
	set_str(o, "format", strata_backup_format_name(b->format));
	if (b->is_gzip)
		json_object_set_new(o, "gzip", json_true());
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
	     *created = dup_str(o, "created_at"), *dir = NULL,
	     *format = dup_str(o, "format");
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
	/* before formats, every backup was custom (PostgreSQL) or a
	 * database file (SQLite) */
	else if (format && strata_backup_format_parse(&b->format, format) < 0)
		bad = "format";
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
	backup_format_utc(b->created, sizeof(b->created), "%Y-%m-%dT%H:%M:%SZ",
	                  b->created_at);
	v = json_object_get(o, "newest_applied_version");
	b->newest_applied = json_is_integer(v) ? json_integer_value(v) : 0;
	b->is_pre_migration = json_is_true(json_object_get(o, "pre_migration"));
	b->is_gzip = json_is_true(json_object_get(o, "gzip"));
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
	free(format);
	return rc;
}

/*
 * Reads the manifest at `path`. *is_foreign is set (and -1 returned with no
 * error) when the file is not one of strata's manifests: other JSON may
 * live in a backup directory.
 */
int backup_manifest_load(struct strata_backup **out, const char *path,
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

/* The manifest of the backup at `path` (which may be it): NAME.json. */
static void manifest_of(struct sbuf *mpath, const char *path)
{
	const char *base = base_of(path), *dot = strrchr(base, '.');

	if (backup_has_suffix(path, MANIFEST_SUFFIX)) {
		sbuf_adds(mpath, path);
	} else {
		sbuf_add(mpath, path,
		         dot && dot != base ? (size_t)(dot - path)
		                            : strlen(path));
		sbuf_adds(mpath, MANIFEST_SUFFIX);
	}
}

int strata_backup_read(struct strata_backup **out, const char *path,
                       struct strata_error *err)
{
	struct sbuf mpath = SBUF_INIT;
	const char *base = base_of(path);
	bool is_foreign;
	int rc = -1;

	*out = NULL;
	manifest_of(&mpath, path);
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
	if (backup_manifest_load(out, mpath.buf, &is_foreign, err) < 0) {
		if (is_foreign)
			strata_error_set(err, STRATA_EVALIDATE,
			                 "'%s' is not a strata backup manifest",
			                 mpath.buf);
		goto done;
	}
	if (!backup_has_suffix(path, MANIFEST_SUFFIX) &&
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

int strata_backup_open(struct strata_backup **out, const char *path,
                       struct strata_error *err)
{
	struct strata_backup *b = NULL;
	struct sbuf mpath = SBUF_INIT;
	struct stat st;
	int rc = -1;

	*out = NULL;
	manifest_of(&mpath, path);
	if (access(mpath.buf, F_OK) == 0 ||
	    backup_has_suffix(path, MANIFEST_SUFFIX)) {
		rc = strata_backup_read(out, path, err);
		goto done;
	}
	if (stat(path, &st) < 0) {
		strata_error_set(err, STRATA_EVALIDATE, "no backup '%s': %s",
		                 path, strerror(errno));
		goto done;
	}
	b = xcalloc(1, sizeof(*b));
	b->path = xstrdup(path);
	b->is_external = true;
	b->kind = STRATA_BACKUP_FULL;
	b->created_at = (int64_t)st.st_mtime;
	backup_format_utc(b->created, sizeof(b->created), "%Y-%m-%dT%H:%M:%SZ",
	                  b->created_at);
	if (plain_describe(b, err) < 0 ||
	    (b->format != STRATA_BACKUP_FORMAT_DIRECTORY &&
	     backup_hash_file(b->sha256, &b->size, path, false, err) < 0))
		goto done;
	*out = b;
	b = NULL;
	rc = 0;
done:
	strata_backup_free(b);
	sbuf_release(&mpath);
	return rc;
}
