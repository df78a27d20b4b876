/*
 * The findings judged against the database, after the last file: rules
 * say what each finding is about (lint_on()), and one catalog query per
 * lint answers for all of them whether the relation exists, its table's
 * estimated rows (pg_class.reltuples) and size
 * (pg_total_relation_size()), both summed over partitions and inheritance
 * children since ALTER TABLE recurses to them, and a column's type.
 *
 * Then a finding about a relation or column the database does not have
 * (and the pending migrations did not create, or the rule would not have
 * spoken) is dropped: dropping or altering nothing locks nothing. A lock
 * or rewrite whose cost is its table's size says the size and is graded
 * by it: an error on a big table, a warning in between, a note on a
 * small one. A type change from a type the files never set is decided
 * by the column's type on the database. Without a database none of this
 * runs, and the rules' offline judgement stands.
 *
 * The SQL is PostgreSQL's: the linter runs only on drivers that speak it.
 */
#include "lint/session.h"
#include "drivers/driver.h"
#include "engine/db.h"
#include "util/error.h"
#include "util/sbuf.h"
#include "util/xalloc.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define SEP '\036' /* between names in a parameter: no identifier has it */

static const char catalog_sql[] =
        "WITH RECURSIVE o AS ("
        " SELECT o.*, EXISTS (SELECT FROM pg_catalog.pg_namespace n"
        " WHERE n.nspname = o.s"
        " AND NOT has_schema_privilege(n.oid, 'USAGE')) AS is_hidden"
        " FROM unnest(string_to_array($1, chr(30)),"
        " string_to_array($2, chr(30)), string_to_array($3, chr(30)))"
        " WITH ORDINALITY AS o(s, r, c, i)"
        "), q AS ("
        /* a schema this role may not use is not looked into */
        " SELECT o.i, o.is_hidden, nullif(o.c, '') AS col,"
        " CASE WHEN NOT o.is_hidden THEN to_regclass("
        " CASE WHEN coalesce(o.s, '') = '' THEN quote_ident(o.r)"
        " ELSE quote_ident(o.s) || '.' || quote_ident(o.r) END) END AS rel,"
        /* an unqualified name off this search path may be on the
         * migration's (SET search_path): the largest of that name */
        " (SELECT c.oid FROM pg_catalog.pg_class c"
        " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
        " WHERE coalesce(o.s, '') = '' AND c.relname = o.r"
        " AND n.nspname <> 'information_schema'"
        " AND n.nspname !~ '^pg_'"
        " ORDER BY c.relpages DESC LIMIT 1) AS elsewhere"
        " FROM o"
        "), q2 AS ("
        " SELECT q.i, q.col, coalesce(q.rel, q.elsewhere) AS rel,"
        " q.is_hidden OR (q.rel IS NULL AND q.elsewhere IS NOT NULL AND NOT"
        " has_schema_privilege((SELECT relnamespace FROM pg_catalog.pg_class"
        " WHERE oid = q.elsewhere), 'USAGE')) AS is_hidden"
        " FROM q"
        "), t AS ("
        " SELECT q.i, q.is_hidden, q.col, q.rel,"
        " coalesce(x.indrelid, q.rel) AS tbl"
        " FROM q2 q LEFT JOIN pg_catalog.pg_index x ON x.indexrelid = q.rel"
        "), tree AS ("
        " SELECT t.i, t.tbl AS oid FROM t WHERE t.tbl IS NOT NULL"
        " UNION"
        " SELECT tree.i, h.inhrelid FROM tree"
        " JOIN pg_catalog.pg_inherits h ON h.inhparent = tree.oid"
        "), sizes AS ("
        " SELECT tree.i,"
        /* rows as the planner estimates them: reltuples scaled to the
         * pages the table has now; a partitioned table's own reltuples
         * counts its partitions' again */
        " sum(CASE WHEN c.relkind NOT IN ('r', 'm') THEN 0"
        " WHEN c.relpages > 0 AND c.reltuples >= 0"
        " THEN c.reltuples / c.relpages * (pg_catalog.pg_relation_size(c.oid)"
        " / current_setting('block_size')::int)"
        " ELSE greatest(c.reltuples, 0) END)::bigint AS n_rows,"
        " coalesce(bool_or(c.reltuples < 0 AND c.relkind IN ('r', 'm')),"
        " false) AS is_never,"
        " sum(pg_catalog.pg_total_relation_size(c.oid))::bigint AS n_bytes"
        " FROM tree JOIN pg_catalog.pg_class c ON c.oid = tree.oid"
        " GROUP BY tree.i"
        ")"
        " SELECT t.i, t.rel IS NOT NULL, tc.relname, s.n_rows, s.is_never,"
        " s.n_bytes, a.attnum IS NOT NULL, t.is_hidden,"
        " CASE WHEN bt.typcategory = 'A' THEN et.typname ELSE bt.typname END,"
        " CASE WHEN at.typtype = 'd' THEN at.typtypmod ELSE a.atttypmod END,"
        " bt.typcategory = 'A',"
        " pg_catalog.format_type(a.atttypid, a.atttypmod)"
        " FROM t"
        " LEFT JOIN pg_catalog.pg_class tc ON tc.oid = t.tbl"
        " LEFT JOIN sizes s ON s.i = t.i"
        " LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = t.tbl"
        " AND a.attname = t.col AND a.attnum > 0 AND NOT a.attisdropped"
        " LEFT JOIN pg_catalog.pg_type at ON at.oid = a.atttypid"
        " LEFT JOIN pg_catalog.pg_type bt ON bt.oid = CASE"
        " WHEN at.typtype = 'd' THEN at.typbasetype ELSE at.oid END"
        " LEFT JOIN pg_catalog.pg_type et ON et.oid = bt.typelem"
        " ORDER BY t.i";

enum {
	COL_I,
	COL_EXISTS,
	COL_TABLE,
	COL_ROWS,
	COL_NEVER,
	COL_BYTES,
	COL_HAS_COL,
	COL_HIDDEN,
	COL_TYPE,
	COL_TYPMOD,
	COL_ARRAY,
	COL_SHOWN,
	N_COLS
};

static bool is_true(const char *v)
{
	return v && !strcmp(v, "t");
}

static int64_t to_i64(const char *v)
{
	return v ? strtoll(v, NULL, 10) : 0;
}

/* The typmod's parts, as the parser gives a type written with them. */
static void type_from_db(struct lint_type *out, const char *name,
                         int32_t typmod, bool is_array)
{
	memset(out, 0, sizeof(*out));
	out->name = name;
	out->is_array = is_array;
	if (typmod < 0)
		return;
	if (!strcmp(name, "varchar") || !strcmp(name, "bpchar")) {
		out->mods[out->n_mods++] = typmod - 4; /* VARHDRSZ */
	} else if (!strcmp(name, "numeric")) {
		out->mods[out->n_mods++] = ((typmod - 4) >> 16) & 0xffff;
		out->mods[out->n_mods++] = (typmod - 4) & 0xffff;
	} else if (!strcmp(name, "varbit") || !strcmp(name, "bit") ||
	           !strcmp(name, "timestamp") || !strcmp(name, "timestamptz") ||
	           !strcmp(name, "time") || !strcmp(name, "timetz")) {
		out->mods[out->n_mods++] = typmod;
	} else {
		out->is_other_mods = true;
	}
}

/* "~1.2M rows", as the estimate it is. */
static void add_rows(struct sbuf *sb, int64_t n)
{
	static const char *const units[] = { "k", "M", "G" };
	double v = (double)n;
	size_t u = 0;

	if (n < 1000) {
		sbuf_addf(sb, "~%" PRId64 " row%s", n, n == 1 ? "" : "s");
		return;
	}
	v /= 1e3;
	while (v >= 999.5 && u + 1 < ARRAY_SIZE(units)) {
		v /= 1e3;
		u++;
	}
	/* two figures at least: 1.2M, 12k, 120k */
	sbuf_addf(sb, v < 9.95 ? "~%.1f%s rows" : "~%.0f%s rows", v, units[u]);
}

/* A size as pg_size_pretty() writes it: "48 kB", "840 MB". */
static void add_size(struct sbuf *sb, int64_t n)
{
	static const char *const units[] = { "kB", "MB", "GB", "TB" };
	double v = (double)n;
	size_t u = 0;

	if (n < 10 * 1024) {
		sbuf_addf(sb, "%" PRId64 " bytes", n);
		return;
	}
	v /= 1024;
	while (v >= 10 * 1024 && u + 1 < ARRAY_SIZE(units)) {
		v /= 1024;
		u++;
	}
	sbuf_addf(sb, "%.0f %s", v, units[u]);
}

static int rank(enum strata_severity s)
{
	switch (s) {
	case STRATA_SEVERITY_ERROR:
		return 3;
	case STRATA_SEVERITY_WARNING:
		return 2;
	case STRATA_SEVERITY_NOTE:
		return 1;
	default:
		return 0;
	}
}

struct db_facts {
	const char *table;
	int64_t rows, bytes;
	bool is_never;
};

/* The finding's message with its table's size, and its severity by it. */
static void grade(struct strata_lint *l, struct strata_finding *f,
                  const struct db_facts *d)
{
	struct sbuf sb = SBUF_INIT;
	bool is_big = (!d->is_never && d->rows >= l->big_rows) ||
	              d->bytes >= l->big_size;
	bool is_small = (d->is_never || d->rows < l->small_rows) &&
	                d->bytes < l->small_size;
	enum strata_severity cap = is_big     ? STRATA_SEVERITY_ERROR
	                           : is_small ? STRATA_SEVERITY_NOTE
	                                      : STRATA_SEVERITY_WARNING;

	sbuf_addf(&sb, "%s (%s: ", f->message, d->table);
	if (d->is_never) {
		add_size(&sb, d->bytes);
		sbuf_adds(&sb, ", never analysed)");
	} else {
		add_rows(&sb, d->rows);
		sbuf_adds(&sb, ", ");
		add_size(&sb, d->bytes);
		sbuf_addch(&sb, ')');
	}
	f->message = arena_strndup(&l->arena, sb.buf, sb.len);
	if (rank(cap) < rank(f->severity))
		f->severity = cap;
	sbuf_release(&sb);
}

/* A type change from an unseen type, now that the old type is known:
 * false when it is free (the finding goes). */
static bool judge_type(struct strata_lint *l, struct strata_finding *f,
                       struct lint_subject *s, const char *const *row)
{
	struct lint_type from;
	size_t r = lint_rule_index(f->rule);

	type_from_db(&from, row[COL_TYPE] ? row[COL_TYPE] : "",
	             (int32_t)to_i64(row[COL_TYPMOD]), is_true(row[COL_ARRAY]));
	if (lint_type_is_free_change(&from, &s->to))
		return false;
	f->message = arena_strfmt(
	        &l->arena,
	        "changing the type of column '%s' of '%s' from %s to %s rewrites the table under an ACCESS EXCLUSIVE lock",
	        s->col, row[COL_TABLE], row[COL_SHOWN],
	        s->to_shown ? s->to_shown : s->to.name);
	if (r < lint_rules_count) {
		f->severity = l->sev[r];
		f->hint = lint_rules[r].info.hint;
	}
	s->flags |= LINT_ON_SIZE;
	return true;
}

/* Whether finding `i` stands, judged by its row of the catalog query. */
static bool judge(struct strata_lint *l, size_t i, const char *const *row)
{
	struct strata_finding *f = &l->findings[i];
	struct lint_subject *s = &l->subjects[i];
	struct db_facts d;

	if (is_true(row[COL_HIDDEN]))
		return true; /* unknown: the offline judgement stands */
	if (!is_true(row[COL_EXISTS]))
		return false; /* nothing to lock, nothing to break */
	if ((s->flags & LINT_ON_COLUMN) && !is_true(row[COL_HAS_COL]))
		return false;
	if ((s->flags & LINT_ON_TYPE) && is_true(row[COL_HAS_COL]) &&
	    !judge_type(l, f, s, row))
		return false;
	if (!(s->flags & LINT_ON_SIZE) || !row[COL_TABLE])
		return true;
	d.table = row[COL_TABLE];
	d.rows = to_i64(row[COL_ROWS]);
	d.bytes = to_i64(row[COL_BYTES]);
	d.is_never = is_true(row[COL_NEVER]);
	grade(l, f, &d);
	return true;
}

static bool is_plain(const char *s)
{
	return !s || !strchr(s, SEP);
}

int lint_db_apply(struct strata_lint *l, struct strata_db *db,
                  struct strata_error *err)
{
	struct sbuf schemas = SBUF_INIT, rels = SBUF_INIT, cols = SBUF_INIT;
	struct db_rows rows = { 0 };
	struct db_value params[3];
	size_t *asked = NULL, n_asked = 0, kept = 0;
	bool *is_kept = NULL;
	int rc = -1;

	if (!db || !l->n || !(db->drv->caps & DRV_PG_SQL))
		return 0;
	asked = xcalloc(l->n, sizeof(*asked));
	is_kept = xcalloc(l->n, sizeof(*is_kept));
	for (size_t i = 0; i < l->n; i++) {
		const struct lint_subject *s = &l->subjects[i];

		is_kept[i] = true;
		if (!s->rel || !is_plain(s->schema) || !is_plain(s->rel) ||
		    !is_plain(s->col))
			continue;
		if (n_asked) {
			sbuf_addch(&schemas, SEP);
			sbuf_addch(&rels, SEP);
			sbuf_addch(&cols, SEP);
		}
		sbuf_adds(&schemas, s->schema ? s->schema : "");
		sbuf_adds(&rels, s->rel);
		sbuf_adds(&cols, s->col ? s->col : "");
		asked[n_asked++] = i;
	}
	if (!n_asked) {
		rc = 0;
		goto done;
	}
	params[0] = DBV_TEXT(schemas.buf);
	params[1] = DBV_TEXT(rels.buf);
	params[2] = DBV_TEXT(cols.buf);
	if (db->drv->query(db->conn, catalog_sql, 3, params, &rows, err) < 0) {
		error_prefix(err, "could not read the tables the migrations "
		                  "touch for the linter");
		goto done;
	}
	if (rows.n_cols != N_COLS || rows.n_rows != n_asked) {
		strata_error_set(err, STRATA_EFAILED,
		                 "the linter's catalog query gave %zu rows of "
		                 "%zu columns for %zu objects",
		                 rows.n_rows, rows.n_cols, n_asked);
		goto done;
	}
	for (size_t r = 0; r < rows.n_rows; r++) {
		const char *const *row =
		        (const char *const *)&rows.cells[r * rows.n_cols];

		is_kept[asked[r]] = judge(l, asked[r], row);
	}
	for (size_t i = 0; i < l->n; i++) {
		if (!is_kept[i])
			continue;
		l->findings[kept] = l->findings[i];
		l->subjects[kept] = l->subjects[i];
		kept++;
	}
	l->n = kept;
	rc = 0;
done:
	db_rows_release(&rows);
	sbuf_release(&schemas);
	sbuf_release(&rels);
	sbuf_release(&cols);
	free(asked);
	free(is_kept);
	return rc;
}
