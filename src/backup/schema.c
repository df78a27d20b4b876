/*
 * strata schema dump: the database's schema as SQL, the same bytes for
 * the same schema (design.md, Schema). The dump itself is the driver's
 * (schema_pg.c: pg_dump; schema_sqlite.c: sqlite_schema); here it is cut
 * into entries and written back without what differs between two dumps
 * of one schema: pg_dump's banners, its "Dumped from/by" versions, the
 * SET and set_config() lines it puts before entries, and the random key
 * of its \restrict and \unrestrict lines. The order of the entries is
 * pg_dump's own (by kind, schema and name, dependencies first), which
 * does not depend on the order objects were created in.
 *
 * Also the atomic write of a dump to a file (run --dump-schema).
 */
#include "util/common.h"
#include "util/xalloc.h"
#include "util/sbuf.h"
#include "util/cancel.h"
#include "util/error.h"
#include "drivers/driver.h"
#include "engine/db.h"
#include "backup/schema.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static bool starts_with(const char *s, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);

	return len >= n && memcmp(s, prefix, n) == 0;
}

/* Whether the line at `p` (of `len` bytes, no newline) is one of the
 * session settings pg_dump writes between entries. */
static bool is_setting(const char *p, size_t len)
{
	return starts_with(p, len, "SET ") ||
	       starts_with(p, len, "SELECT pg_catalog.set_config(") ||
	       starts_with(p, len, "\\restrict ") ||
	       starts_with(p, len, "\\unrestrict ") ||
	       (len == 2 && !memcmp(p, "--", 2)) ||
	       starts_with(p, len, "-- PostgreSQL database dump complete");
}

static bool is_blank(const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
			return false;
	return true;
}

/* A body less its blank lines at both ends and the settings and footer
 * pg_dump writes after the last statement, before the next header. */
static char *trimmed_body(const char *p, size_t len)
{
	size_t start = 0, end = len;

	for (;;) {
		size_t eol = start;

		while (eol < end && p[eol] != '\n')
			eol++;
		if (start >= end || !is_blank(p + start, eol - start))
			break;
		start = eol + 1;
	}
	while (end > start) {
		size_t bol = end;

		if (p[end - 1] == '\n') {
			end--;
			continue;
		}
		while (bol > start && p[bol - 1] != '\n')
			bol--;
		if (!is_blank(p + bol, end - bol) &&
		    !is_setting(p + bol, end - bol))
			break;
		end = bol;
	}
	return xstrndup(p + start, end > start ? end - start : 0);
}

/* "-- Name: N; Type: T; Schema: S; Owner: O", read from the right: a
 * quoted name may hold "; ". */
static bool parse_header(struct schema_entry *e, const char *line, size_t len)
{
	char *text =
	        xstrndup(line + strlen("-- Name: "), len - strlen("-- Name: "));
	char *owner = NULL, *schema = NULL, *type = NULL;

	owner = strstr(text, "; Owner: ");
	while (owner && strstr(owner + 1, "; Owner: "))
		owner = strstr(owner + 1, "; Owner: ");
	if (owner) {
		*owner = '\0';
		schema = strstr(text, "; Schema: ");
		while (schema && strstr(schema + 1, "; Schema: "))
			schema = strstr(schema + 1, "; Schema: ");
	}
	if (schema) {
		*schema = '\0';
		type = strstr(text, "; Type: ");
		while (type && strstr(type + 1, "; Type: "))
			type = strstr(type + 1, "; Type: ");
	}
	if (!type) {
		free(text);
		return false;
	}
	*type = '\0';
	e->name = xstrdup(text);
	e->type = xstrdup(type + strlen("; Type: "));
	e->schema = xstrdup(schema + strlen("; Schema: "));
	e->owner = xstrdup(owner + strlen("; Owner: "));
	free(text);
	return true;
}

/* The next line's start and length from `p`. */
static const char *line_end(const char *p)
{
	const char *nl = strchr(p, '\n');

	return nl ? nl : p + strlen(p);
}

/* Whether a header starts at `p` (a line start): "--", "-- Name: …",
 * "--"; its name line in *name, *name_len. */
static bool is_header(const char *p, const char **name, size_t *name_len,
                      const char **after)
{
	const char *l2, *e2, *l3, *e3;

	if (strncmp(p, "--\n", 3) != 0)
		return false;
	l2 = p + 3;
	if (strncmp(l2, "-- Name: ", strlen("-- Name: ")) != 0)
		return false;
	e2 = line_end(l2);
	if (!*e2)
		return false;
	l3 = e2 + 1;
	if (strncmp(l3, "--", 2) != 0)
		return false;
	e3 = line_end(l3);
	if (e3 != l3 + 2)
		return false;
	*name = l2;
	*name_len = (size_t)(e2 - l2);
	*after = *e3 ? e3 + 1 : e3;
	return true;
}

void schema_parse(struct schema_entries *out, const char *text)
{
	const char *p = text, *body = NULL;
	struct schema_entry cur = { 0 };
	bool has_cur = false;

	memset(out, 0, sizeof(*out));
	for (;;) {
		const char *name, *after;
		size_t name_len;
		bool is_end = !*p;
		bool is_head =
		        !is_end && is_header(p, &name, &name_len, &after);

		if ((is_end || is_head) && has_cur) {
			cur.body = trimmed_body(body, (size_t)(p - body));
			XGROW(out->v, out->alloc, out->n + 1);
			out->v[out->n++] = cur;
			memset(&cur, 0, sizeof(cur));
			has_cur = false;
		}
		if (is_end)
			break;
		if (is_head) {
			if (parse_header(&cur, name, name_len)) {
				cur.header = xstrfmt("--\n%.*s\n--",
				                     (int)name_len, name);
				has_cur = true;
				body = after;
			}
			p = after;
			continue;
		}
		p = line_end(p);
		if (*p)
			p++;
	}
}

void schema_entries_release(struct schema_entries *e)
{
	for (size_t i = 0; i < e->n; i++) {
		free(e->v[i].name);
		free(e->v[i].type);
		free(e->v[i].schema);
		free(e->v[i].owner);
		free(e->v[i].header);
		free(e->v[i].body);
	}
	free(e->v);
	memset(e, 0, sizeof(*e));
}

void schema_format(struct sbuf *out, const struct schema_entries *e)
{
	for (size_t i = 0; i < e->n; i++) {
		if (i)
			sbuf_adds(out, "\n\n");
		sbuf_addf(out, "%s\n\n", e->v[i].header);
		if (e->v[i].body[0])
			sbuf_addf(out, "%s\n", e->v[i].body);
	}
}

void schema_own_tables(const struct strata_db *db,
                       const struct table_name *out[4])
{
	size_t n = 0;

	out[n++] = &db->hist.own;
	if (db->hist.layout != STRATA_LAYOUT_SQLX && db->hist.tool.name)
		out[n++] = &db->hist.tool;
	out[n++] = &db->audit;
	out[n] = NULL;
}

int strata_schema_dump(char **out, size_t *out_len, struct strata_db *db,
                       const struct strata_schema_options *opts,
                       struct strata_error *err)
{
	struct strata_schema_options defaults = STRATA_SCHEMA_OPTIONS_INIT;
	struct sbuf raw = SBUF_INIT, text = SBUF_INIT;
	struct schema_entries e = { 0 };
	int rc = -1;

	*out = NULL;
	if (out_len)
		*out_len = 0;
	if (OPTIONS_CHECK(opts, STRATA_SCHEMA_OPTIONS_VERSION,
	                  "strata_schema_options", err) < 0)
		return -1;
	if (!opts)
		opts = &defaults;
	if (cancel_check(err) < 0)
		return -1;
	if (opts->src && db_bind_layout(db, opts->src, err) < 0)
		return -1;
	if (db->drv->caps & DRV_PG_SQL) {
		if (pgschema_dump(&raw, db, opts, err) < 0)
			goto done;
	} else if (sqliteschema_dump(&raw, db, err) < 0) {
		goto done;
	}
	schema_parse(&e, raw.buf);
	schema_format(&text, &e);
	if (out_len)
		*out_len = text.len;
	*out = sbuf_detach(&text, NULL);
	rc = 0;
done:
	schema_entries_release(&e);
	sbuf_release(&raw);
	sbuf_release(&text);
	return rc;
}

static int write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t w = write(fd, p, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

int strata_schema_write(const char *path, const char *text, size_t len,
                        struct strata_error *err)
{
	const char *slash = strrchr(path, '/');
	char *dir = slash ? xstrndup(path, (size_t)(slash - path + 1))
	                  : xstrdup("");
	char *tmp = xstrfmt("%s.%s.tmp-XXXXXX", dir, slash ? slash + 1 : path);
	int fd, dfd, rc = -1;

	fd = mkstemp(tmp);
	if (fd < 0) {
		strata_error_set(err, STRATA_EFAILED,
		                 "could not create a file beside '%s': %s",
		                 path, strerror(errno));
		goto done;
	}
	/* a file to commit and review: readable as any other */
	if (fchmod(fd, 0644) < 0 || write_all(fd, text, len) < 0 ||
	    fsync(fd) < 0) {
		strata_error_set(err, STRATA_EFAILED,
		                 "could not write '%s': %s", tmp,
		                 strerror(errno));
		close(fd);
		unlink(tmp);
		goto done;
	}
	if (close(fd) < 0 || rename(tmp, path) < 0) {
		strata_error_set(err, STRATA_EFAILED,
		                 "could not write '%s': %s", path,
		                 strerror(errno));
		unlink(tmp);
		goto done;
	}
	/* the rename itself survives a crash once the folder is synced */
	dfd = open(*dir ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	rc = 0;
done:
	free(dir);
	free(tmp);
	return rc;
}
