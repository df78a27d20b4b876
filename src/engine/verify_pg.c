/*
 * strata verify on PostgreSQL: each check one catalog query, and where
 * the catalog cannot tell (orphaned rows, a sequence's column maximum,
 * amcheck), one query per object, built by the server with format('%I')
 * so that no name, however hostile, is pasted into SQL by hand.
 *
 * Everything runs in one READ ONLY transaction, each query in its own
 * savepoint with what is left of the budget as its statement_timeout: a
 * query the budget cancels (57014) or the role may not run (42501) is
 * rolled back to its savepoint and becomes a finding (not-run,
 * no-privilege) while the other checks go on. Only user schemas are
 * judged: not pg_catalog, information_schema, pg_toast, temporary schemas,
 * nor what extensions own.
 */
#include "engine/verify.h"
#include "drivers/driver.h"
#include "util/error.h"
#include "util/sbuf.h"
#include "util/cancel.h"

#include <math.h>
#include <stdlib.h>

/* A relation `c` (and its namespace `n`) of the user's schemas. */
#define USER_REL(c, n)                                                       \
	" " n ".nspname <> 'information_schema' AND " n ".nspname !~ '^pg_'" \
	" AND NOT EXISTS (SELECT FROM pg_catalog.pg_depend e"                \
	" WHERE e.classid = 'pg_catalog.pg_class'::regclass"                 \
	" AND e.objid = " c ".oid AND e.deptype = 'e')"

enum q_result {
	Q_OK,
	Q_OUT,    /* the budget ran out, before or during the query */
	Q_DENIED, /* 42501: err says what */
	Q_FAILED, /* another error of the query: err says what */
};

static int savepoint_end(struct verify *v, bool is_rollback,
                         struct strata_error *err)
{
	const struct strata_driver *drv = v->db->drv;

	return drv->exec(v->db->conn,
	                 is_rollback ? "ROLLBACK TO SAVEPOINT strata_verify;"
	                               " RELEASE SAVEPOINT strata_verify"
	                             : "RELEASE SAVEPOINT strata_verify",
	                 err);
}

/*
 * One query under what is left of the budget, in its own savepoint:
 * enum q_result, or -1 (err set) when the session itself failed (the
 * connection, a signal).
 */
static int run(struct verify *v, const char *sql, size_t n,
               const struct db_value *params, struct db_rows *rows,
               struct strata_error *err)
{
	const struct strata_driver *drv = v->db->drv;
	struct strata_error e2 = STRATA_ERROR_INIT;
	double left = verify_left(v);
	char set[128];
	int rc;

	if (v->is_out_of_time || left <= 0)
		return Q_OUT;
	/* whole milliseconds, at least one: 0 would mean no limit */
	snprintf(set, sizeof(set),
	         "SAVEPOINT strata_verify;"
	         " SET LOCAL statement_timeout = %.0f",
	         fmax(1, ceil(left * 1000)));
	if (drv->exec(v->db->conn, set, err) < 0)
		return -1;
	if (drv->query(v->db->conn, sql, n, params, rows, err) == 0)
		return savepoint_end(v, false, err) < 0 ? -1 : Q_OK;
	if (strata_is_cancelled() || !err->sqlstate[0] ||
	    !strncmp(err->sqlstate, "08", 2))
		return -1;
	if (!strcmp(err->sqlstate, "57014"))
		rc = Q_OUT;
	else if (!strcmp(err->sqlstate, "42501"))
		rc = Q_DENIED;
	else
		rc = Q_FAILED;
	if (savepoint_end(v, true, &e2) < 0) {
		error_move(err, &e2);
		return -1;
	}
	return rc;
}

/*
 * A catalog query of check `check`: Q_OK with its rows, else its finding
 * made (not-run, no-privilege) and the check over; -1 when the command
 * cannot go on.
 */
static int catalog(struct verify *v, const char *check, const char *sql,
                   size_t n, const struct db_value *params,
                   struct db_rows *rows, struct strata_error *err)
{
	int rc = run(v, sql, n, params, rows, err);

	switch (rc) {
	case Q_OUT:
		verify_not_run(v, check, 0, NULL);
		break;
	case Q_DENIED:
		verify_add(v, "no-privilege", STRATA_SEVERITY_WARNING, check,
		           NULL, "check '%s' could not run: %s", check,
		           err->message);
		strata_error_release(err);
		break;
	case Q_FAILED:
		error_prefix(err, "verify could not run check '%s'", check);
		return -1;
	default:
		break;
	}
	return rc;
}

static bool is_true(const char *s)
{
	return s && !strcmp(s, "t");
}

/* ---- invalid-index ------------------------------------------------------ */

static const char invalid_sql[] =
        "SELECT format('%I.%I', n.nspname, i.relname),"
        " format('%I.%I', n.nspname, t.relname),"
        /* REINDEX CONCURRENTLY's leftovers: the index it rebuilt stands */
        " i.relname ~ '_cc(new|old)[0-9]*$',"
        " format('DROP INDEX CONCURRENTLY %I.%I;', n.nspname, i.relname),"
        " regexp_replace(pg_catalog.pg_get_indexdef(x.indexrelid),"
        " '^CREATE (UNIQUE )?INDEX ', 'CREATE \\1INDEX CONCURRENTLY ') || ';'"
        " FROM pg_catalog.pg_index x"
        " JOIN pg_catalog.pg_class i ON i.oid = x.indexrelid"
        " JOIN pg_catalog.pg_class t ON t.oid = x.indrelid"
        " JOIN pg_catalog.pg_namespace n ON n.oid = i.relnamespace"
        " WHERE NOT x.indisvalid AND i.relkind = 'i' AND" USER_REL("i", "n")
        /* one being built now is not a failure */
        " AND NOT EXISTS (SELECT FROM pg_catalog.pg_stat_progress_create_index p"
        " WHERE p.index_relid = x.indexrelid)"
        " ORDER BY 1";

static int check_invalid_indexes(struct verify *v, struct strata_error *err)
{
	struct db_rows rows = { 0 };
	struct sbuf fix = SBUF_INIT;
	int rc = catalog(v, "invalid-index", invalid_sql, 0, NULL, &rows, err);

	if (rc != Q_OK)
		goto done;
	for (size_t i = 0; i < rows.n_rows; i++) {
		const char *name = db_rows_get(&rows, i, 0);
		const char *table = db_rows_get(&rows, i, 1);

		sbuf_reset(&fix);
		sbuf_adds(&fix, db_rows_get(&rows, i, 3));
		if (is_true(db_rows_get(&rows, i, 2))) {
			verify_add(
			        v, "invalid-index", STRATA_SEVERITY_ERROR, name,
			        fix.buf,
			        "index %s on %s is invalid, left by a failed REINDEX CONCURRENTLY: the index it rebuilt stands, and this copy only slows every write",
			        name, table);
			continue;
		}
		sbuf_addf(&fix, "\n%s", db_rows_get(&rows, i, 4));
		verify_add(
		        v, "invalid-index", STRATA_SEVERITY_ERROR, name,
		        fix.buf,
		        "index %s on %s is invalid, left by a failed CREATE INDEX CONCURRENTLY: queries cannot use it, yet every write still maintains it",
		        name, table);
	}
	verify_done(v);
done:
	sbuf_release(&fix);
	db_rows_release(&rows);
	return rc < 0 ? -1 : 0;
}

/* ---- duplicate-index ---------------------------------------------------- */

static const char duplicate_sql[] =
        "SELECT DISTINCT ON (b.indexrelid)"
        " format('%I.%I', n.nspname, ib.relname),"
        " format('%I.%I', n.nspname, ia.relname),"
        " format('%I.%I', n.nspname, t.relname),"
        " format('DROP INDEX CONCURRENTLY %I.%I;', n.nspname, ib.relname)"
        " FROM pg_catalog.pg_index a"
        " JOIN pg_catalog.pg_index b ON b.indrelid = a.indrelid"
        " AND b.indexrelid <> a.indexrelid"
        " AND b.indkey::text = a.indkey::text"
        " AND b.indclass::text = a.indclass::text"
        " AND b.indcollation::text = a.indcollation::text"
        " AND b.indoption::text = a.indoption::text"
        " AND b.indisunique = a.indisunique"
        " AND coalesce(pg_catalog.pg_get_expr(b.indexprs, b.indrelid), '')"
        " = coalesce(pg_catalog.pg_get_expr(a.indexprs, a.indrelid), '')"
        " AND coalesce(pg_catalog.pg_get_expr(b.indpred, b.indrelid), '')"
        " = coalesce(pg_catalog.pg_get_expr(a.indpred, a.indrelid), '')"
        " JOIN pg_catalog.pg_class ia ON ia.oid = a.indexrelid"
        " JOIN pg_catalog.pg_class ib ON ib.oid = b.indexrelid"
        " JOIN pg_catalog.pg_class t ON t.oid = a.indrelid"
        " JOIN pg_catalog.pg_namespace n ON n.oid = t.relnamespace"
        " WHERE a.indisvalid AND b.indisvalid AND ia.relkind = 'i'"
        " AND ib.relkind = 'i' AND NOT ib.relispartition AND" USER_REL("t", "n")
        /* the one to drop backs no constraint (a key, a foreign key's
         * reference): the one kept may */
        " AND NOT EXISTS (SELECT FROM pg_catalog.pg_constraint k"
        " WHERE k.conindid = b.indexrelid)"
        " AND (EXISTS (SELECT FROM pg_catalog.pg_constraint k"
        " WHERE k.conindid = a.indexrelid) OR a.indexrelid < b.indexrelid)"
        " ORDER BY b.indexrelid, EXISTS (SELECT FROM pg_catalog.pg_constraint k"
        " WHERE k.conindid = a.indexrelid) DESC, a.indexrelid";

static int check_duplicate_indexes(struct verify *v, struct strata_error *err)
{
	struct db_rows rows = { 0 };
	int rc = catalog(v, "duplicate-index", duplicate_sql, 0, NULL, &rows,
	                 err);

	if (rc != Q_OK)
		goto done;
	for (size_t i = 0; i < rows.n_rows; i++)
		verify_add(
		        v, "duplicate-index", STRATA_SEVERITY_WARNING,
		        db_rows_get(&rows, i, 0), db_rows_get(&rows, i, 3),
		        "index %s duplicates %s on %s (same columns, operator classes, expressions, predicate and uniqueness): every write maintains both, and queries need one",
		        db_rows_get(&rows, i, 0), db_rows_get(&rows, i, 1),
		        db_rows_get(&rows, i, 2));
	verify_done(v);
done:
	db_rows_release(&rows);
	return rc < 0 ? -1 : 0;
}

/* ---- missing-primary-key ------------------------------------------------ */

static const char no_pk_sql[] =
        "SELECT format('%I.%I', n.nspname, c.relname),"
        /* a unique index on NOT NULL columns can become the key at once */
        " coalesce((SELECT format('ALTER TABLE %I.%I ADD CONSTRAINT %I"
        " PRIMARY KEY USING INDEX %I;', n.nspname, c.relname, i.relname,"
        " i.relname)"
        " FROM pg_catalog.pg_index x"
        " JOIN pg_catalog.pg_class i ON i.oid = x.indexrelid"
        " WHERE x.indrelid = c.oid AND x.indisunique AND x.indisvalid"
        " AND x.indexprs IS NULL AND x.indpred IS NULL AND i.relkind = 'i'"
        " AND NOT EXISTS (SELECT FROM pg_catalog.pg_constraint k"
        " WHERE k.conindid = x.indexrelid AND k.conrelid = c.oid)"
        " AND NOT EXISTS (SELECT FROM pg_catalog.pg_attribute a"
        " WHERE a.attrelid = c.oid AND a.attnum = ANY (x.indkey::int2[])"
        " AND NOT a.attnotnull)"
        " ORDER BY x.indnatts, i.relname LIMIT 1),"
        " format('ALTER TABLE %I.%I ADD PRIMARY KEY (column, ...);',"
        " n.nspname, c.relname))"
        " FROM pg_catalog.pg_class c"
        " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
        " WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition"
        " AND" USER_REL(
                "c", "n") " AND NOT EXISTS (SELECT FROM pg_catalog.pg_index x"
                          " WHERE x.indrelid = c.oid AND x.indisprimary)"
                          " AND c.oid IS DISTINCT FROM to_regclass($1)"
                          " AND c.oid IS DISTINCT FROM to_regclass($2)"
                          " AND c.oid IS DISTINCT FROM to_regclass($3)"
                          " ORDER BY 1";

static int check_primary_keys(struct verify *v, struct strata_error *err)
{
	struct db_value params[3];
	struct db_rows rows = { 0 };
	int rc;

	for (int i = 0; i < 3; i++) {
		const struct table_name *t = verify_own_table(v, i);

		params[i] = DBV_TEXT(t ? t->quoted : NULL);
	}
	rc = catalog(v, "missing-primary-key", no_pk_sql, 3, params, &rows,
	             err);
	if (rc != Q_OK)
		goto done;
	for (size_t i = 0; i < rows.n_rows; i++)
		verify_add(
		        v, "missing-primary-key", STRATA_SEVERITY_WARNING,
		        db_rows_get(&rows, i, 0), db_rows_get(&rows, i, 1),
		        "table %s has no primary key: its rows cannot be told apart, duplicates go unnoticed, and logical replication cannot replicate its updates and deletes",
		        db_rows_get(&rows, i, 0));
	verify_done(v);
done:
	db_rows_release(&rows);
	return rc < 0 ? -1 : 0;
}

/* ---- disabled-trigger --------------------------------------------------- */

static const char trigger_sql[] =
        "SELECT format('%I.%I', n.nspname, c.relname), format('%I', g.tgname),"
        " format('ALTER TABLE %I.%I ENABLE TRIGGER %I;', n.nspname,"
        " c.relname, g.tgname)"
        " FROM pg_catalog.pg_trigger g"
        " JOIN pg_catalog.pg_class c ON c.oid = g.tgrelid"
        " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
        " WHERE g.tgenabled = 'D' AND NOT g.tgisinternal AND" USER_REL(
                "c", "n") " ORDER BY 1, 2";

static int check_triggers(struct verify *v, struct strata_error *err)
{
	struct db_rows rows = { 0 };
	struct sbuf obj = SBUF_INIT;
	int rc = catalog(v, "disabled-trigger", trigger_sql, 0, NULL, &rows,
	                 err);

	if (rc != Q_OK)
		goto done;
	for (size_t i = 0; i < rows.n_rows; i++) {
		sbuf_reset(&obj);
		sbuf_addf(&obj, "%s on %s", db_rows_get(&rows, i, 1),
		          db_rows_get(&rows, i, 0));
		verify_add(
		        v, "disabled-trigger", STRATA_SEVERITY_WARNING, obj.buf,
		        db_rows_get(&rows, i, 2),
		        "trigger %s is disabled: what it does (an audit row, a derived column, a check) does not happen on writes",
		        obj.buf);
	}
	verify_done(v);
done:
	sbuf_release(&obj);
	db_rows_release(&rows);
	return rc < 0 ? -1 : 0;
}

/* ---- not-valid-constraint and orphaned-rows ----------------------------- */

static const char not_valid_sql[] =
        "SELECT format('%I on %I.%I', k.conname, n.nspname, t.relname),"
        " pg_catalog.pg_get_constraintdef(k.oid),"
        " format('ALTER TABLE %I.%I VALIDATE CONSTRAINT %I;', n.nspname,"
        " t.relname, k.conname),"
        " k.contype = 'f',"
        " format('%I.%I', n.nspname, t.relname),"
        " format('%I.%I', pn.nspname, p.relname),"
        /* the child's rows whose key is set (MATCH SIMPLE) and found in
         * no row of the parent */
        " CASE WHEN k.contype = 'f' THEN"
        " format('FROM %I.%I c WHERE %s AND NOT EXISTS (SELECT 1 FROM %I.%I p"
        " WHERE %s)', n.nspname, t.relname,"
        " (SELECT string_agg(format('c.%I IS NOT NULL', a.attname), ' AND '"
        " ORDER BY u.i) FROM unnest(k.conkey) WITH ORDINALITY u(n, i)"
        " JOIN pg_catalog.pg_attribute a ON a.attrelid = k.conrelid"
        " AND a.attnum = u.n),"
        " pn.nspname, p.relname,"
        " (SELECT string_agg(format('p.%I = c.%I', pa.attname, a.attname),"
        " ' AND ' ORDER BY u.i)"
        " FROM unnest(k.conkey, k.confkey) WITH ORDINALITY u(n, f, i)"
        " JOIN pg_catalog.pg_attribute a ON a.attrelid = k.conrelid"
        " AND a.attnum = u.n"
        " JOIN pg_catalog.pg_attribute pa ON pa.attrelid = k.confrelid"
        " AND pa.attnum = u.f)) END,"
        " k.contype <> 'f' OR ((has_table_privilege(k.conrelid, 'SELECT')"
        " OR has_any_column_privilege(k.conrelid, 'SELECT'))"
        " AND (has_table_privilege(k.confrelid, 'SELECT')"
        " OR has_any_column_privilege(k.confrelid, 'SELECT')))"
        " FROM pg_catalog.pg_constraint k"
        " JOIN pg_catalog.pg_class t ON t.oid = k.conrelid"
        " JOIN pg_catalog.pg_namespace n ON n.oid = t.relnamespace"
        " LEFT JOIN pg_catalog.pg_class p ON p.oid = k.confrelid"
        " LEFT JOIN pg_catalog.pg_namespace pn ON pn.oid = p.relnamespace"
        " WHERE NOT k.convalidated AND" USER_REL("t", "n") " ORDER BY 5, 1";

enum {
	NV_NAME,
	NV_DEF,
	NV_FIX,
	NV_IS_FK,
	NV_TABLE,
	NV_PARENT,
	NV_FROM,
	NV_CAN_READ,
};

/* The orphans of one NOT VALID foreign key: -1, or an enum q_result. */
static int count_orphans(struct verify *v, const struct db_rows *rows, size_t i,
                         struct strata_error *err)
{
	const char *name = db_rows_get(rows, i, NV_NAME);
	const char *from = db_rows_get(rows, i, NV_FROM);
	struct db_rows count = { 0 };
	struct sbuf sql = SBUF_INIT, fix = SBUF_INIT;
	int rc;

	if (!is_true(db_rows_get(rows, i, NV_CAN_READ))) {
		verify_add(
		        v, "no-privilege", STRATA_SEVERITY_WARNING, name, NULL,
		        "check 'orphaned-rows' could not run on constraint %s: this role may not read %s or %s",
		        name, db_rows_get(rows, i, NV_TABLE),
		        db_rows_get(rows, i, NV_PARENT));
		return Q_DENIED;
	}
	/* counted up to a bound: the answer is whether, and roughly */
	sbuf_addf(&sql, "SELECT count(*) FROM (SELECT 1 %s LIMIT 1000) o",
	          from);
	rc = run(v, sql.buf, 0, NULL, &count, err);
	if (rc == Q_DENIED) {
		verify_add(
		        v, "no-privilege", STRATA_SEVERITY_WARNING, name, NULL,
		        "check 'orphaned-rows' could not run on constraint %s: %s",
		        name, err->message);
		strata_error_release(err);
	} else if (rc == Q_FAILED) {
		error_prefix(
		        err,
		        "verify could not count the orphaned rows of constraint %s",
		        name);
		rc = -1;
	}
	if (rc != Q_OK)
		goto done;
	if (strcmp(db_rows_get(&count, 0, 0), "0")) {
		const char *n = db_rows_get(&count, 0, 0);

		sbuf_addf(&fix, "SELECT c.* %s;", from);
		verify_add(
		        v, "orphaned-rows", STRATA_SEVERITY_ERROR, name,
		        fix.buf,
		        "%s%s row%s of %s reference%s no row of %s: VALIDATE CONSTRAINT fails until %s fixed or deleted",
		        n, strcmp(n, "1000") ? "" : " or more",
		        strcmp(n, "1") ? "s" : "",
		        db_rows_get(rows, i, NV_TABLE),
		        strcmp(n, "1") ? "" : "s",
		        db_rows_get(rows, i, NV_PARENT),
		        strcmp(n, "1") ? "they are" : "it is");
	}
done:
	db_rows_release(&count);
	sbuf_release(&sql);
	sbuf_release(&fix);
	return rc;
}

/*
 * One query per object of `rows` (those `wants`, NULL: every one), made by
 * `one` while the budget lasts; the objects left are said as not run.
 * -1 when the command cannot go on.
 */
static int each_object(struct verify *v, const struct db_rows *rows,
                       bool (*wants)(const struct db_rows *, size_t),
                       int (*one)(struct verify *, const struct db_rows *,
                                  size_t, struct strata_error *),
                       const char *check, const char *noun, const char *nouns,
                       struct strata_error *err)
{
	size_t left = 0;

	for (size_t i = 0; i < rows->n_rows; i++)
		left += !wants || wants(rows, i);
	for (size_t i = 0; i < rows->n_rows && left; i++) {
		int rc;

		if (wants && !wants(rows, i))
			continue;
		rc = one(v, rows, i, err);
		if (rc < 0)
			return -1;
		if (rc == Q_OUT)
			break;
		left--;
	}
	if (left)
		verify_not_run(v, check, left, left == 1 ? noun : nouns);
	else
		verify_done(v);
	return 0;
}

static bool is_foreign_key(const struct db_rows *rows, size_t i)
{
	return is_true(db_rows_get(rows, i, NV_IS_FK));
}

static int check_not_valid(struct verify *v, struct strata_error *err)
{
	struct db_rows rows = { 0 };
	size_t i;
	int rc = catalog(v, "not-valid-constraint", not_valid_sql, 0, NULL,
	                 &rows, err);

	if (rc != Q_OK)
		goto done;
	for (i = 0; i < rows.n_rows; i++) {
		bool is_fk = is_true(db_rows_get(&rows, i, NV_IS_FK));

		verify_add(
		        v, "not-valid-constraint", STRATA_SEVERITY_WARNING,
		        db_rows_get(&rows, i, NV_NAME),
		        db_rows_get(&rows, i, NV_FIX),
		        "constraint %s (%s) is NOT VALID: the rows written before it was added were never checked%s",
		        db_rows_get(&rows, i, NV_NAME),
		        db_rows_get(&rows, i, NV_DEF),
		        is_fk ? "" : ", and the planner cannot rely on it");
	}
	verify_done(v);
	/* then the costly part, table by table, as long as the budget lasts */
	rc = each_object(v, &rows, is_foreign_key, count_orphans,
	                 "orphaned-rows", "foreign key", "foreign keys", err);
done:
	db_rows_release(&rows);
	return rc < 0 ? -1 : 0;
}

/* ---- sequence-behind ---------------------------------------------------- */

static const char sequence_sql[] =
        "SELECT format('%I.%I', sn.nspname, s.relname),"
        " format('%I.%I.%I', tn.nspname, t.relname, a.attname),"
        /* the value nextval() gives next */
        " CASE WHEN has_sequence_privilege(s.oid, 'SELECT,USAGE') THEN"
        " coalesce(pg_catalog.pg_sequence_last_value(s.oid)::numeric"
        " + q.seqincrement, q.seqstart)::text END,"
        " format('SELECT x.m::text, x.m >= $1::numeric FROM"
        " (SELECT max(%I)::numeric AS m FROM %I.%I) x', a.attname,"
        " tn.nspname, t.relname),"
        " format('SELECT setval(%L, (SELECT max(%I) FROM %I.%I));',"
        " format('%I.%I', sn.nspname, s.relname), a.attname, tn.nspname,"
        " t.relname),"
        " has_table_privilege(t.oid, 'SELECT')"
        " OR has_column_privilege(t.oid, a.attnum, 'SELECT')"
        " FROM pg_catalog.pg_depend d"
        " JOIN pg_catalog.pg_class s ON s.oid = d.objid AND s.relkind = 'S'"
        " JOIN pg_catalog.pg_sequence q ON q.seqrelid = s.oid"
        " JOIN pg_catalog.pg_namespace sn ON sn.oid = s.relnamespace"
        " JOIN pg_catalog.pg_class t ON t.oid = d.refobjid"
        " JOIN pg_catalog.pg_namespace tn ON tn.oid = t.relnamespace"
        " JOIN pg_catalog.pg_attribute a ON a.attrelid = t.oid"
        " AND a.attnum = d.refobjsubid"
        " WHERE d.classid = 'pg_catalog.pg_class'::regclass"
        " AND d.refclassid = 'pg_catalog.pg_class'::regclass"
        " AND d.deptype IN ('a', 'i') AND q.seqincrement > 0"
        " AND t.relkind IN ('r', 'p') AND" USER_REL("t", "tn") " ORDER BY 2";

enum {
	SQ_SEQ,
	SQ_COLUMN,
	SQ_NEXT,
	SQ_MAX_SQL,
	SQ_FIX,
	SQ_CAN_READ,
};

/* One sequence against its column: -1, or an enum q_result. */
static int sequence_one(struct verify *v, const struct db_rows *rows, size_t i,
                        struct strata_error *err)
{
	const char *seq = db_rows_get(rows, i, SQ_SEQ);
	const char *col = db_rows_get(rows, i, SQ_COLUMN);
	const char *next = db_rows_get(rows, i, SQ_NEXT);
	struct db_rows max = { 0 };
	struct db_value p;
	int rc;

	if (!next || !is_true(db_rows_get(rows, i, SQ_CAN_READ))) {
		verify_add(
		        v, "no-privilege", STRATA_SEVERITY_WARNING, seq, NULL,
		        "check 'sequence-behind' could not run on sequence %s: this role may not read %s",
		        seq, next ? col : seq);
		return Q_DENIED;
	}
	p = DBV_TEXT(next);
	rc = run(v, db_rows_get(rows, i, SQ_MAX_SQL), 1, &p, &max, err);
	if (rc == Q_DENIED) {
		verify_add(
		        v, "no-privilege", STRATA_SEVERITY_WARNING, seq, NULL,
		        "check 'sequence-behind' could not run on sequence %s: %s",
		        seq, err->message);
		strata_error_release(err);
	} else if (rc == Q_FAILED) {
		error_prefix(err, "verify could not read the maximum of %s",
		             col);
		rc = -1;
	}
	if (rc == Q_OK && is_true(db_rows_get(&max, 0, 1)))
		verify_add(
		        v, "sequence-behind", STRATA_SEVERITY_ERROR, seq,
		        db_rows_get(rows, i, SQ_FIX),
		        "sequence %s is behind its column %s: it gives %s next, and the column already holds up to %s, so inserts that take the default collide with existing rows",
		        seq, col, next, db_rows_get(&max, 0, 0));
	db_rows_release(&max);
	return rc;
}

static int check_sequences(struct verify *v, struct strata_error *err)
{
	struct db_rows rows = { 0 };
	int rc = catalog(v, "sequence-behind", sequence_sql, 0, NULL, &rows,
	                 err);

	if (rc != Q_OK)
		goto done;
	rc = each_object(v, &rows, NULL, sequence_one, "sequence-behind",
	                 "sequence", "sequences", err);
done:
	db_rows_release(&rows);
	return rc < 0 ? -1 : 0;
}

/* ---- corrupt-index (--deep) --------------------------------------------- */

static const char amcheck_sql[] =
        "SELECT n.nspname, has_function_privilege(format("
        "'%I.bt_index_check(regclass)', n.nspname), 'EXECUTE')"
        " FROM pg_catalog.pg_extension e"
        " JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace"
        " WHERE e.extname = 'amcheck'";

/* smallest first: the biggest is the likeliest to outlast the budget */
static const char btree_sql[] =
        "SELECT format('%I.%I', n.nspname, i.relname),"
        " format('SELECT %I.bt_index_check(%s::oid::regclass)', $1::text,"
        " i.oid),"
        " format('REINDEX INDEX CONCURRENTLY %I.%I;', n.nspname, i.relname)"
        " FROM pg_catalog.pg_index x"
        " JOIN pg_catalog.pg_class i ON i.oid = x.indexrelid"
        " JOIN pg_catalog.pg_namespace n ON n.oid = i.relnamespace"
        " JOIN pg_catalog.pg_am am ON am.oid = i.relam"
        " WHERE am.amname = 'btree' AND i.relkind = 'i' AND x.indisvalid"
        " AND x.indisready AND i.relpersistence <> 't' AND" USER_REL(
                "i", "n") " ORDER BY pg_catalog.pg_relation_size(i.oid), 1";

/* bt_index_check() of index `i`: what amcheck found, as a finding */
static int btree_one(struct verify *v, const struct db_rows *rows, size_t i,
                     struct strata_error *err)
{
	struct db_rows res = { 0 };
	const char *name = db_rows_get(rows, i, 0);
	int rc = run(v, db_rows_get(rows, i, 1), 0, NULL, &res, err);

	db_rows_release(&res);
	if (rc == Q_DENIED) {
		verify_add(
		        v, "no-privilege", STRATA_SEVERITY_WARNING, name, NULL,
		        "check 'corrupt-index' could not run on index %s: %s",
		        name, err->message);
	} else if (rc == Q_FAILED) {
		/* XX002, index_corrupted, and its kin: what amcheck found */
		verify_add(v, "corrupt-index", STRATA_SEVERITY_ERROR, name,
		           db_rows_get(rows, i, 2),
		           "index %s failed bt_index_check(): %s%s%s", name,
		           err->message, err->detail ? " " : "",
		           err->detail ? err->detail : "");
	}
	if (rc == Q_DENIED || rc == Q_FAILED)
		strata_error_release(err);
	return rc;
}

static int check_btree(struct verify *v, struct strata_error *err)
{
	struct db_rows ext = { 0 }, rows = { 0 };
	struct db_value p;
	int rc = catalog(v, "corrupt-index", amcheck_sql, 0, NULL, &ext, err);

	if (rc != Q_OK)
		goto done;
	if (!ext.n_rows) {
		verify_add(
		        v, "amcheck-missing", STRATA_SEVERITY_WARNING,
		        "amcheck", "CREATE EXTENSION amcheck;",
		        "the deep check needs the amcheck extension, which this database does not have: no B-tree index was checked");
		goto done;
	}
	if (!is_true(db_rows_get(&ext, 0, 1))) {
		verify_add(
		        v, "no-privilege", STRATA_SEVERITY_WARNING,
		        "corrupt-index", NULL,
		        "check 'corrupt-index' could not run: this role may not execute bt_index_check() of the amcheck extension");
		goto done;
	}
	p = DBV_TEXT(db_rows_get(&ext, 0, 0));
	if ((rc = catalog(v, "corrupt-index", btree_sql, 1, &p, &rows, err)) !=
	    Q_OK)
		goto done;
	rc = each_object(v, &rows, NULL, btree_one, "corrupt-index", "index",
	                 "indexes", err);
done:
	db_rows_release(&rows);
	db_rows_release(&ext);
	return rc < 0 ? -1 : 0;
}

/* ---- the whole ---------------------------------------------------------- */

static int (*const checks[])(struct verify *, struct strata_error *) = {
	/* the catalog's first: cheap, whatever the tables' size */
	check_invalid_indexes, check_duplicate_indexes, check_primary_keys,
	check_triggers,        check_not_valid,         check_sequences,
};

static const char *const check_names[] = {
	"invalid-index",    "duplicate-index",      "missing-primary-key",
	"disabled-trigger", "not-valid-constraint", "sequence-behind",
};

int verify_pg(struct verify *v, struct strata_error *err)
{
	const struct strata_driver *drv = v->db->drv;
	size_t i;
	int rc = -1;

	/* one snapshot for every check, and nothing written whatever runs */
	if (drv->exec(v->db->conn,
	              "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
	              err) < 0)
		return -1;
	for (i = 0; i < ARRAY_SIZE(checks); i++) {
		if (v->is_out_of_time || verify_left(v) <= 0) {
			verify_not_run(v, check_names[i], 0, NULL);
			continue;
		}
		if (checks[i](v, err) < 0)
			goto done;
	}
	if (v->is_deep) {
		if (v->is_out_of_time || verify_left(v) <= 0)
			verify_not_run(v, "corrupt-index", 0, NULL);
		else if (check_btree(v, err) < 0)
			goto done;
	}
	rc = drv->exec(v->db->conn, "ROLLBACK", err);
done:
	if (rc < 0)
		drv->rollback(v->db->conn);
	return rc;
}
