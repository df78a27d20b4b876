/*
 * strata drift: whether the database is what its applied migrations make
 * (design.md, Schema). The migrations the database has applied (the same
 * versions, none of the pending ones) are applied to a shadow database,
 * both schemas are dumped as strata_schema_dump() dumps them, and the
 * dumps are compared entry by entry (a table's columns one by one: from
 * pg_dump's lines, or SQLite's pragma_table_xinfo), then
 * shown as a unified diff (diff -u: diffutils is in every Debian system).
 *
 * The shadow (drift_shadow.c) is made and removed on every path from
 * here: strata_drift_check() has one exit.
 */
#include "util/common.h"
#include "util/xalloc.h"
#include "util/sbuf.h"
#include "util/spawn.h"
#include "util/cancel.h"
#include "util/error.h"
#include "engine/url.h"
#include "engine/source.h"
#include "drivers/driver.h"
#include "drivers/pgsession.h"
#include "engine/db.h"
#include "backup/backup.h"
#include "backup/backup_pg.h"
#include "backup/schema.h"
#include "backup/drift.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <signal.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

/* ---- comparing --------------------------------------------------------- */

static char *lower_kind(const char *type)
{
	char *k = xstrdup(type);

	for (char *p = k; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	if (!strcmp(k, "fk constraint")) {
		free(k);
		k = xstrdup("constraint");
	}
	return k;
}

/* pg_dump names an object of a table "TABLE NAME": "TABLE.NAME". */
static char *display_name(const char *name, const char *type)
{
	char *n = xstrdup(name);
	char *sp;

	if ((!strcmp(type, "CONSTRAINT") || !strcmp(type, "FK CONSTRAINT") ||
	     !strcmp(type, "TRIGGER") || !strcmp(type, "POLICY") ||
	     !strcmp(type, "DEFAULT") || !strcmp(type, "RULE")) &&
	    (sp = strchr(n, ' ')))
		*sp = '.';
	return n;
}

struct compare {
	struct strata_drift *d;
	const struct strata_drift_options *opts;
	size_t alloc;
	/* SQLite's: a table's columns read from each database */
	struct strata_db *want_db, *got_db;
};

static bool is_excluded(const struct strata_drift_options *opts,
                        const char *kind, const char *schema, const char *name)
{
	struct sbuf a = SBUF_INIT, b = SBUF_INIT, c = SBUF_INIT;
	bool hit = false;

	if (schema)
		sbuf_addf(&a, "%s.%s", schema, name);
	sbuf_addf(&b, "%s:%s", kind, name);
	if (schema)
		sbuf_addf(&c, "%s:%s.%s", kind, schema, name);
	for (size_t i = 0; i < opts->n_exclude && !hit; i++) {
		const char *p = opts->exclude[i];

		hit = !fnmatch(p, name, 0) ||
		      (a.len && !fnmatch(p, a.buf, 0)) ||
		      !fnmatch(p, b.buf, 0) || (c.len && !fnmatch(p, c.buf, 0));
	}
	sbuf_release(&a);
	sbuf_release(&b);
	sbuf_release(&c);
	return hit;
}

static void add_item(struct compare *cmp, enum strata_drift_state state,
                     const char *kind, const char *schema, const char *name)
{
	struct strata_drift *d = cmp->d;
	struct strata_drift_item *it;

	if (is_excluded(cmp->opts, kind, schema, name)) {
		d->n_excluded++;
		return;
	}
	XGROW(d->items, cmp->alloc, d->n_items + 1);
	it = &d->items[d->n_items++];
	it->state = state;
	it->kind = xstrdup(kind);
	it->schema = schema ? xstrdup(schema) : NULL;
	it->name = xstrdup(name);
}

/* A table's column lines ("    name type ...,"), CONSTRAINT lines left
 * out; each a copy without its trailing comma, in `out` (count). */
static size_t table_columns(char ***out, const char *body)
{
	const char *p = strstr(body, "(\n");
	char **v = NULL;
	size_t n = 0, alloc = 0;

	*out = NULL;
	if (!p)
		return 0;
	for (p += 2; *p && strncmp(p, ")", 1) != 0;) {
		size_t len = strcspn(p, "\n");

		if (len > 4 && !strncmp(p, "    ", 4) &&
		    strncmp(p + 4, "CONSTRAINT ", 11) != 0 && p[4] != ' ') {
			size_t l = len;

			if (p[l - 1] == ',')
				l--;
			XGROW(v, alloc, n + 1);
			v[n++] = xstrndup(p + 4, l - 4);
		}
		p += len + (p[len] == '\n');
	}
	*out = v;
	return n;
}

/* A column line's name: its first word, or a quoted identifier. */
static char *column_name(const char *line)
{
	size_t n;

	if (*line == '"') {
		const char *q = line + 1;

		while (*q && !(q[0] == '"' && q[1] != '"'))
			q += q[0] == '"' ? 2 : 1;
		return xstrndup(line, (size_t)(q - line) + (*q ? 1 : 0));
	}
	n = strcspn(line, " ");
	return xstrndup(line, n);
}

static void free_lines(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* A table that differs: which columns, else the table itself. */
static void compare_table(struct compare *cmp, const struct schema_entry *want,
                          const struct schema_entry *got, const char *schema)
{
	char **a, **b;
	size_t na = cmp->want_db
	                    ? sqliteschema_columns(&a, cmp->want_db, want->name)
	                    : table_columns(&a, want->body);
	size_t nb = cmp->got_db
	                    ? sqliteschema_columns(&b, cmp->got_db, got->name)
	                    : table_columns(&b, got->body);
	size_t before = cmp->d->n_items + cmp->d->n_excluded;
	bool is_other = false;

	for (size_t i = 0; i < na; i++) {
		char *name = column_name(a[i]), *full;
		size_t j;

		for (j = 0; j < nb; j++) {
			char *other = column_name(b[j]);
			bool same = !strcmp(name, other);

			free(other);
			if (same)
				break;
		}
		full = xstrfmt("%s.%s", want->name, name);
		if (j == nb)
			add_item(cmp, STRATA_DRIFT_MISSING, "column", schema,
			         full);
		else if (strcmp(a[i], b[j]) != 0)
			add_item(cmp, STRATA_DRIFT_CHANGED, "column", schema,
			         full);
		else if (i != j)
			is_other = true; /* the same columns in another order */
		free(full);
		free(name);
	}
	for (size_t j = 0; j < nb; j++) {
		char *name = column_name(b[j]), *full;
		size_t i;

		for (i = 0; i < na; i++) {
			char *other = column_name(a[i]);
			bool same = !strcmp(name, other);

			free(other);
			if (same)
				break;
		}
		if (i == na) {
			full = xstrfmt("%s.%s", want->name, name);
			add_item(cmp, STRATA_DRIFT_UNEXPECTED, "column", schema,
			         full);
			free(full);
		}
		free(name);
	}
	if (is_other || cmp->d->n_items + cmp->d->n_excluded == before)
		add_item(cmp, STRATA_DRIFT_CHANGED, "table", schema,
		         want->name);
	free_lines(a, na);
	free_lines(b, nb);
}

static bool same_object(const struct schema_entry *a,
                        const struct schema_entry *b)
{
	return !strcmp(a->type, b->type) && !strcmp(a->schema, b->schema) &&
	       !strcmp(a->name, b->name);
}

static void compare_entries(struct compare *cmp,
                            const struct schema_entries *want,
                            const struct schema_entries *got)
{
	for (size_t i = 0; i < want->n; i++) {
		const struct schema_entry *w = &want->v[i], *g = NULL;
		char *kind = lower_kind(w->type);
		char *name = display_name(w->name, w->type);
		const char *schema = strcmp(w->schema, "-") ? w->schema : NULL;

		for (size_t j = 0; j < got->n && !g; j++)
			if (same_object(w, &got->v[j]))
				g = &got->v[j];
		if (!g)
			add_item(cmp, STRATA_DRIFT_MISSING, kind, schema, name);
		else if (strcmp(w->body, g->body) != 0 &&
		         !strcmp(w->type, "TABLE"))
			compare_table(cmp, w, g, schema);
		else if (strcmp(w->body, g->body) != 0)
			add_item(cmp, STRATA_DRIFT_CHANGED, kind, schema, name);
		free(kind);
		free(name);
	}
	for (size_t j = 0; j < got->n; j++) {
		const struct schema_entry *g = &got->v[j];
		bool found = false;

		for (size_t i = 0; i < want->n && !found; i++)
			found = same_object(&want->v[i], g);
		if (!found) {
			char *kind = lower_kind(g->type);
			char *name = display_name(g->name, g->type);

			add_item(cmp, STRATA_DRIFT_UNEXPECTED, kind,
			         strcmp(g->schema, "-") ? g->schema : NULL,
			         name);
			free(kind);
			free(name);
		}
	}
}

static int item_order(const void *pa, const void *pb)
{
	const struct strata_drift_item *a = pa, *b = pb;
	int c = strcmp(a->kind, b->kind);

	if (c)
		return c;
	c = strcmp(a->schema ? a->schema : "", b->schema ? b->schema : "");
	return c ? c : strcmp(a->name, b->name);
}

/* The entries no exclude pattern matches, as a dump: what the diff shows. */
static void kept_text(struct sbuf *out, const struct schema_entries *e,
                      const struct strata_drift_options *opts)
{
	struct schema_entries kept = { 0 };

	kept.v = xcalloc(e->n ? e->n : 1, sizeof(*kept.v));
	for (size_t i = 0; i < e->n; i++) {
		char *kind = lower_kind(e->v[i].type);
		char *name = display_name(e->v[i].name, e->v[i].type);

		if (!is_excluded(opts, kind,
		                 strcmp(e->v[i].schema, "-") ? e->v[i].schema
		                                             : NULL,
		                 name))
			kept.v[kept.n++] = e->v[i];
		free(kind);
		free(name);
	}
	schema_format(out, &kept);
	free(kept.v);
}

static int write_temp(char **out, const char *text, struct strata_error *err)
{
	const char *tmp = getenv("TMPDIR");
	char *path =
	        xstrfmt("%s/strata-drift-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	int fd = mkstemp(path);
	size_t len = strlen(text), off = 0;

	while (fd >= 0 && off < len) {
		ssize_t w = write(fd, text + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			break;
		off += (size_t)w;
	}
	if (fd < 0 || off < len) {
		strata_error_set(err, STRATA_EFAILED,
		                 "could not write a temporary file in '%s': %s",
		                 tmp && *tmp ? tmp : "/tmp", strerror(errno));
		if (fd >= 0) {
			close(fd);
			unlink(path);
		}
		free(path);
		return -1;
	}
	close(fd);
	*out = path;
	return 0;
}

int schema_diff(char **out, const char *want, const char *got,
                const char *want_label, const char *got_label,
                struct strata_error *err)
{
	char *a = NULL, *b = NULL, *la, *lb;
	const char *argv[8];
	struct child c = CHILD_INIT;
	int rc = -1;

	*out = NULL;
	if (!strcmp(want, got)) {
		*out = xstrdup("");
		return 0;
	}
	la = xstrfmt("--label=%s", want_label);
	lb = xstrfmt("--label=%s", got_label);
	if (write_temp(&a, want, err) < 0 || write_temp(&b, got, err) < 0)
		goto done;
	argv[0] = "diff";
	argv[1] = "-u";
	argv[2] = la;
	argv[3] = lb;
	argv[4] = a;
	argv[5] = b;
	argv[6] = NULL;
	c.argv = argv;
	c.is_path_search = true;
	if (child_run(&c, err) < 0)
		goto done;
	/* 1: they differ, as we knew */
	if (c.exit_status != 0 && c.exit_status != 1) {
		struct sbuf how = SBUF_INIT;

		child_describe_status(&how, &c);
		strata_error_set(err, STRATA_EFAILED, "diff %s", how.buf);
		if (c.err.len)
			strata_error_detail(err, "%s", c.err.buf);
		sbuf_release(&how);
		goto done;
	}
	*out = sbuf_detach(&c.out, NULL);
	rc = 0;
done:
	if (a)
		unlink(a);
	if (b)
		unlink(b);
	free(a);
	free(b);
	free(la);
	free(lb);
	child_release(&c);
	return rc;
}

/* ---- the check --------------------------------------------------------- */

/* The applied versions of `src` (keep[i]), or why the shadow cannot be
 * built; the edited ones into d->edited. */
static int applied_set(bool *keep, struct strata_drift *d, struct strata_db *db,
                       const struct strata_source *src,
                       struct strata_error *err)
{
	struct history h = { 0 };
	size_t n = strata_source_count(src), alloc = 0;
	int rc = -1;

	if (history_read(db->conn, &db->hist, &h, err) < 0)
		goto done;
	for (size_t r = 0; r < h.n; r++) {
		const struct history_row *row = &h.rows[r];
		const struct strata_migration *m = NULL;
		size_t i;

		for (i = 0; i < n && !m; i++)
			if (strata_source_at(src, i)->version == row->version)
				m = strata_source_at(src, i);
		if (!row->success) {
			strata_error_set(
			        err, STRATA_EVALIDATE,
			        "migration %s has a failed record: the schema it leaves cannot be known",
			        row->version_text ? row->version_text
			        : m               ? m->version_text
			                          : "?");
			strata_error_reason(err, STRATA_REASON_SEE_STATUS, -1);
			goto done;
		}
		if (!m) {
			char v[32];

			snprintf(v, sizeof(v), "%" PRId64, row->version);
			strata_error_set(
			        err, STRATA_EVALIDATE,
			        "applied migration %s is missing from the source: the shadow cannot be built",
			        row->version_text ? row->version_text : v);
			strata_error_hint(
			        err,
			        "Bring its file back (a branch switched?), then compare again.");
			goto done;
		}
		keep[i - 1] = true;
		d->n_applied++;
		if (!history_checksum_matches(row, m)) {
			XGROW(d->edited, alloc, d->n_edited + 1);
			d->edited[d->n_edited++] = m->version;
		}
	}
	rc = 0;
done:
	history_release(&h);
	return rc;
}

void strata_drift_free(struct strata_drift *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n_items; i++) {
		free(d->items[i].kind);
		free(d->items[i].schema);
		free(d->items[i].name);
	}
	free(d->items);
	free(d->expected);
	free(d->actual);
	free(d->diff);
	free(d->edited);
	free(d->shadow);
	free(d);
}

/* A dump begun with pgschema_dump_start(), as strata_schema_dump()
 * gives it, into *out. */
static int dump_finish(char **out, struct pgschema_job *job,
                       struct strata_error *err)
{
	struct sbuf raw = SBUF_INIT, text = SBUF_INIT;
	struct schema_entries e = { 0 };
	int rc = -1;

	if (pgschema_dump_finish(job, &raw, err) < 0)
		goto done;
	schema_parse(&e, raw.buf);
	schema_format(&text, &e);
	*out = sbuf_detach(&text, NULL);
	rc = 0;
done:
	schema_entries_release(&e);
	sbuf_release(&raw);
	sbuf_release(&text);
	return rc;
}

int strata_drift_check(struct strata_drift **out, struct strata_db *db,
                       const struct strata_source *src,
                       const struct strata_drift_options *opts,
                       struct strata_error *err)
{
	struct strata_drift_options defaults = STRATA_DRIFT_OPTIONS_INIT;
	struct strata_schema_options so = STRATA_SCHEMA_OPTIONS_INIT;
	struct strata_run_options ro = STRATA_RUN_OPTIONS_INIT;
	struct strata_run_result res = { 0 };
	struct strata_drift *d = xcalloc(1, sizeof(*d));
	struct schema_entries want = { 0 }, got = { 0 };
	struct sbuf a = SBUF_INIT, b = SBUF_INIT;
	struct strata_source *sub = NULL;
	struct shadow s = { 0 };
	struct pgschema_job *job = NULL;
	struct compare cmp = { .d = d };
	bool *keep = NULL;
	int rc = -1;

	*out = NULL;
	if (OPTIONS_CHECK(opts, STRATA_DRIFT_OPTIONS_VERSION,
	                  "strata_drift_options", err) < 0)
		goto done;
	if (!opts)
		opts = &defaults;
	cmp.opts = opts;
	so.is_owners = opts->is_owners;
	so.is_privileges = opts->is_privileges;
	so.pg_bindir = opts->pg_bindir;
	so.src = src;
	if (db_bind_layout(db, src, err) < 0)
		goto done;
	keep = xcalloc(strata_source_count(src) + 1, sizeof(*keep));
	if (applied_set(keep, d, db, src, err) < 0)
		goto done;
	/*
	 * The database's first: a pg_dump that cannot be found fails before a
	 * shadow is made. PostgreSQL's runs on while the shadow is built, as
	 * it does not depend on it, and is collected after the shadow's.
	 */
	if (db->drv->caps & DRV_PG_SQL) {
		if (cancel_check(err) < 0 ||
		    pgschema_dump_start(&job, db, &so, NULL, err) < 0)
			goto done;
	} else if (strata_schema_dump(&d->actual, NULL, db, &so, err) < 0) {
		goto done;
	}
	if (source_subset(&sub, src, keep, db->hist.layout, err) < 0 ||
	    cancel_check(err) < 0 ||
	    drift_shadow_open(&s, db, sub, opts, &d->shadow, err) < 0)
		goto done;
	/* the migrations as they were applied: the gate judged them then */
	ro.is_allow_unsafe = true;
	ro.is_ignore_missing = false;
	if ((s.db->drv->caps & DRV_PG_SQL) &&
	    drift_check_extensions(&s, sub, err) < 0)
		goto done;
	if (strata_migrate_run(&res, s.db, sub, &ro, err) < 0) {
		drift_shadow_failed(err, d->shadow);
		goto done;
	}
	so.src = sub;
	if (job) {
		struct pgschema_job *mine = NULL, *j;

		if (cancel_check(err) < 0 ||
		    db_bind_layout(s.db, sub, err) < 0 ||
		    pgschema_dump_start(&mine, s.db, &so, job, err) < 0 ||
		    dump_finish(&d->expected, mine, err) < 0)
			goto done;
		j = job;
		job = NULL;
		if (dump_finish(&d->actual, j, err) < 0)
			goto done;
	} else if (strata_schema_dump(&d->expected, NULL, s.db, &so, err) < 0) {
		goto done;
	}
	schema_parse(&want, d->expected);
	schema_parse(&got, d->actual);
	if (!(db->drv->caps & DRV_PG_SQL)) {
		cmp.want_db = s.db;
		cmp.got_db = db;
	}
	compare_entries(&cmp, &want, &got);
	if (d->n_items > 1)
		qsort(d->items, d->n_items, sizeof(*d->items), item_order);
	kept_text(&a, &want, opts);
	kept_text(&b, &got, opts);
	if (schema_diff(&d->diff, a.buf, b.buf,
	                "expected (the migrations, on the shadow)",
	                "actual (the database)", err) < 0)
		goto done;
	*out = d;
	d = NULL;
	rc = 0;
done:
	/* on every path, strata_cancel() included: nothing is left behind,
	 * the database's pg_dump ended and reaped too */
	pgschema_dump_abort(job);
	drift_shadow_remove(&s, db, d ? d->shadow : (*out)->shadow);
	schema_entries_release(&want);
	schema_entries_release(&got);
	sbuf_release(&a);
	sbuf_release(&b);
	strata_source_free(sub);
	strata_drift_free(d);
	free(keep);
	return rc;
}
