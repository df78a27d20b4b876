/*
 * diesel's layout (design.md, Layouts): a directory VERSION_NAME per
 * migration holding up.sql, down.sql (optional) and metadata.toml, whose
 * `run_in_transaction = false` runs both outside a transaction. The
 * version is the name's part before its first '_' with the dashes
 * removed ("2023-01-01-000000" is "20230101000000"), kept as text in
 * diesel's table. Each directory becomes entries DIR/up.sql and
 * DIR/down.sql, read and checked as every other file is.
 */
#include "engine/source.h"
#include "engine/source_read.h"
#include "util/error.h"
#include "util/sbuf.h"
#include "util/xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

static int dir_error(struct problems *problems, const struct alien *x,
                     const char *fmt, const char *hint)
{
	struct strata_error e = STRATA_ERROR_INIT;

	strata_error_set(&e, STRATA_EVALIDATE, fmt, x->path);
	strata_error_hint(&e, "%s", hint);
	error_set_location(&e, x->path, NULL, 0, 0);
	source_problems_add(problems, x->name, &e);
	return -1;
}

#define KEY_DIGITS 18

/*
 * The rank of `digits` among all texts of up to KEY_DIGITS digits in text
 * order ("", "0", "00", ..., "1", "10", ...): a number that orders as the
 * texts do and tells every two texts apart ("20260527120000" comes before
 * "202605271200000000", as in diesel). There are about 1.1e18 such texts,
 * so every rank fits an int64.
 */
int64_t source_diesel_key(const char *digits, size_t len)
{
	int64_t key = 0, below = 1; /* texts of up to k digits, "" too */

	if (len > KEY_DIGITS)
		return -1;
	/* below: the count of texts of up to KEY_DIGITS - 1 - i digits */
	for (int k = 0; k < KEY_DIGITS - 1; k++)
		below = below * 10 + 1;
	for (size_t i = 0; i < len; i++) {
		key += (digits[i] - '0') * below + 1;
		below /= 10;
	}
	return key;
}

/* The version and description diesel reads in the directory's name. */
static int parse_dir_name(struct entry *e, const struct alien *x,
                          struct problems *problems, struct arena *keep)
{
	const char *us = strchr(x->name, '_');
	size_t end = us ? (size_t)(us - x->name) : strlen(x->name);
	/* the digits, on the stack: this runs once per directory, before
	 * any file is read */
	char digits[KEY_DIGITS];
	size_t n_digits = 0;
	char *desc;

	for (size_t i = 0; i < end; i++) {
		char ch = x->name[i];

		if (ch == '-')
			continue;
		if (ch < '0' || ch > '9')
			return dir_error(
			        problems, x,
			        "diesel migration '%s' has a version that is not a number",
			        "Name the directory VERSION_NAME with VERSION in digits and dashes, as diesel migration generate does (2023-01-01-000000_create_users).");
		if (n_digits < KEY_DIGITS)
			digits[n_digits] = ch;
		n_digits++;
	}
	if (n_digits > KEY_DIGITS)
		return dir_error(
		        problems, x,
		        "diesel migration '%s' has a version of more than 18 digits",
		        "Name the directory with a version of at most 18 digits (diesel's 2023-01-01-000000 has 14).");
	if (!n_digits)
		return dir_error(
		        problems, x, "diesel migration '%s' has no version",
		        "Name the directory VERSION_NAME, as diesel migration generate does (2023-01-01-000000_create_users).");
	/* diesel orders versions as text: the key orders as the text */
	e->version = source_diesel_key(digits, n_digits);
	e->version_text = arena_strndup(keep, digits, n_digits);
	desc = arena_strdup(keep, us ? us + 1 : "");
	for (char *p = desc; *p; p++)
		if (*p == '_')
			*p = ' ';
	e->description = desc;
	return 0;
}

/*
 * metadata.toml, as far as diesel reads it: `run_in_transaction` (a TOML
 * boolean), other keys passed over as diesel passes them over. A file that
 * is not there is the default, a transaction.
 */
static int parse_metadata(bool *out_no_transaction, const char *dir_path,
                          size_t dir_path_len, const char *dir_name,
                          size_t dir_name_len, int dir_fd,
                          struct strata_error *err)
{
	struct sbuf path = SBUF_INIT, text = SBUF_INIT;
	int fd, line = 0, rc = 0;

	*out_no_transaction = false;
	sbuf_add(&path, dir_name, dir_name_len);
	sbuf_adds(&path, "/metadata.toml");
	fd = openat(dir_fd, path.buf, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		sbuf_release(&path);
		return 0;
	}
	for (;;) {
		ssize_t n;

		sbuf_grow(&text, 4096);
		n = read(fd, text.buf + text.len, text.alloc - text.len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		text.len += (size_t)n;
		text.buf[text.len] = '\0';
	}
	close(fd);
	for (const char *p = text.buf ? text.buf : ""; *p;) {
		const char *eol = strchr(p, '\n');
		size_t n = eol ? (size_t)(eol - p) : strlen(p);
		char key[32], value[16];

		line++;
		if (sscanf(p, " %31[A-Za-z_-] = %15[a-z\"]", key, value) == 2 &&
		    !strcmp(key, "run_in_transaction")) {
			if (strcmp(value, "true") && strcmp(value, "false")) {
				strata_error_set(
				        err, STRATA_EVALIDATE,
				        "'%.*s/metadata.toml' line %d: run_in_transaction is not true or false",
				        (int)dir_path_len, dir_path, line);
				strata_error_hint(
				        err,
				        "Write run_in_transaction = false (a TOML boolean, unquoted), as diesel reads it.");
				rc = -1;
				break;
			}
			*out_no_transaction = !strcmp(value, "false");
		}
		p += n + (eol != NULL);
	}
	sbuf_release(&path);
	sbuf_release(&text);
	return rc;
}

static int read_metadata(bool *out_no_transaction, const struct alien *x,
                         int dir_fd, struct problems *problems)
{
	struct strata_error e = STRATA_ERROR_INIT;

	*out_no_transaction = false;
	if (!(x->files & DIESEL_METADATA))
		return 0;
	if (parse_metadata(out_no_transaction, x->path, strlen(x->path),
	                   x->name, strlen(x->name), dir_fd, &e) == 0)
		return 0;
	error_set_location(&e, x->path, NULL, 0, 0);
	source_problems_add(problems, x->name, &e);
	return -1;
}

int source_probe_diesel(struct entry *e, struct reader *r,
                        struct strata_error *err)
{
	const char *file = e->kind == KIND_UP ? "/up.sql" : "/down.sql";
	size_t name_len = strlen(e->name) - strlen(file);
	/* the name ends the path (new_entry()) */
	size_t path_len = (size_t)(e->name - e->path) + name_len;
	struct stat st;
	int fd;

	/* status and check run nothing: whether a transaction is wanted is
	 * no part of what they read, as a down file's text is not */
	if (e->kind == KIND_UP && !r->is_checksums_only &&
	    parse_metadata(&e->is_diesel_no_transaction, e->path, path_len,
	                   e->name, name_len, r->dir_fd, err) < 0)
		return -1;
	/*
	 * A file that is read is opened at once, its type told by the open
	 * descriptor: no stat before the open. Never a link (the slower
	 * check follows one inside the folder) and never waiting on a FIFO.
	 */
	if (!(r->is_checksums_only && e->kind == KIND_DOWN)) {
		fd = openat(r->dir_fd, e->name,
		            O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY |
		                    O_CLOEXEC);
		if (fd < 0 && errno == ENOENT)
			goto missing;
		if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
			e->has_fd = true;
			e->fd = fd;
			e->fd_size = st.st_size;
			e->is_regular = true;
			return 0;
		}
		if (fd >= 0)
			close(fd);
	}
	/* status reads no down file: whether it is there is enough */
	if (fstatat(r->dir_fd, e->name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno != ENOENT)
			return strata_error_set(err, STRATA_EFAILED,
			                        "could not stat '%s': %s",
			                        e->path, strerror(errno));
		goto missing;
	}
	e->is_regular = S_ISREG(st.st_mode);
	return 0;
missing:
	if (e->kind == KIND_DOWN)
		return 1;
	return strata_error_set(err, STRATA_EVALIDATE,
	                        "diesel migration '%.*s' has no up.sql",
	                        (int)path_len, e->path);
}

/* DIR/FILE, from the directory's path as listed: no format to parse */
static struct entry *new_entry(const struct entry *named, const char *file,
                               size_t file_len, enum kind kind,
                               struct arena *scratch, struct arena *keep,
                               const struct alien *x)
{
	struct entry *e = arena_alloc(scratch, sizeof(*e));
	size_t path_len = strlen(x->path), name_len = strlen(x->name);
	char *path = arena_alloc(keep, path_len + 1 + file_len + 1);

	*e = *named;
	memcpy(path, x->path, path_len);
	path[path_len] = '/';
	memcpy(path + path_len + 1, file, file_len + 1);
	e->path = path;
	/* relative to the directory's descriptor, as files are opened */
	e->name = path + path_len - name_len;
	e->kind = kind;
	return e;
}

void source_add_diesel(struct entry ***v, size_t *n, size_t *alloc,
                       struct problems *problems, const struct aliens *a,
                       int dir_fd, struct arena *scratch, struct arena *keep)
{
	for (size_t i = 0; i < a->n; i++) {
		const struct alien *x = &a->v[i];
		struct entry named = { 0 }, *up;

		if (x->kind != ALIEN_DIESEL)
			continue;
		if (parse_dir_name(&named, x, problems, keep) < 0 ||
		    read_metadata(&named.is_diesel_no_transaction, x, dir_fd,
		                  problems) < 0)
			continue;
		if (x->files & DIESEL_UNSCANNED) {
			/* found out when read, on the reader threads */
			named.is_diesel = named.is_named = named.is_probe =
			        true;
			XGROW(*v, *alloc, *n + 2);
			up = new_entry(&named, "up.sql", 6, KIND_UP, scratch,
			               keep, x);
			/* read right after its up file, on the same thread */
			up->partner = new_entry(&named, "down.sql", 8,
			                        KIND_DOWN, scratch, keep, x);
			(*v)[(*n)++] = up;
			(*v)[(*n)++] = up->partner;
			continue;
		}
		if (!(x->files & DIESEL_UP)) {
			dir_error(problems, x,
			          "diesel migration '%s' has no up.sql",
			          "Add its up.sql, or remove the directory.");
			continue;
		}
		named.is_diesel = true;
		named.is_named = true;
		XGROW(*v, *alloc, *n + 2);
		named.is_regular = x->files & DIESEL_UP_REGULAR;
		(*v)[(*n)++] = new_entry(&named, "up.sql", 6, KIND_UP, scratch,
		                         keep, x);
		named.is_regular = x->files & DIESEL_DOWN_REGULAR;
		if (x->files & DIESEL_DOWN)
			(*v)[(*n)++] = new_entry(&named, "down.sql", 8,
			                         KIND_DOWN, scratch, keep, x);
	}
}
