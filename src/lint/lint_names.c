/*
 * The names PostgreSQL gives what a statement creates without naming it:
 * a table's primary key "t_pkey", a unique constraint's index "t_a_key",
 * an exclusion constraint's "t_a_excl", an index "t_a_b_idx", a foreign
 * key "t_a_fkey", a CHECK "t_a_check" (or "t_check" when it reads other
 * than one column), a serial or identity column's sequence "t_a_seq".
 * Each is "name1_name2_label" cut to 63 bytes (NAMEDATALEN - 1) on a
 * character boundary, the longer of the two names losing a byte at a
 * time, and the label takes a number ("t_a_key1") while the name is
 * taken, as makeObjectName(), ChooseRelationName() and
 * ChooseConstraintName() do (indexcmds.c, heap.c, parse_utilcmd.c).
 *
 * A name is taken when this run created it: what the database already
 * holds is not known here, so a name chosen while the database had a
 * clash differs (the gate then asks the database, lint_db.c).
 */
#include "lint/session.h"
#include "util/arena.h"
#include "util/sbuf.h"
#include "util/strmap.h"

#include <stdio.h>
#include <string.h>

#define NAME_MAX_BYTES 63 /* NAMEDATALEN - 1 */

/* The bytes of `s` that fit in `limit` without cutting a UTF-8
 * character (pg_mbcliplen()). */
static size_t clip_utf8(const char *s, size_t len, size_t limit)
{
	size_t n = 0;

	while (n < len && s[n]) {
		unsigned char b = (unsigned char)s[n];
		size_t w = b < 0x80 ? 1 : b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : 2;

		if (n + w > limit)
			break;
		n += w;
	}
	return n;
}

void lint_object_name(struct sbuf *out, const char *name1, const char *name2,
                      const char *label)
{
	size_t n1 = strlen(name1), n2 = name2 ? strlen(name2) : 0;
	size_t overhead = (name2 ? 1 : 0) + (label ? strlen(label) + 1 : 0);
	size_t avail = NAME_MAX_BYTES - overhead;

	/* the longer name loses a byte at a time */
	while (n1 + n2 > avail) {
		if (n1 > n2)
			n1--;
		else
			n2--;
	}
	n1 = clip_utf8(name1, n1, n1);
	if (name2)
		n2 = clip_utf8(name2, n2, n2);
	sbuf_reset(out);
	sbuf_add(out, name1, n1);
	if (name2) {
		sbuf_addch(out, '_');
		sbuf_add(out, name2, n2);
	}
	if (label) {
		sbuf_addch(out, '_');
		sbuf_adds(out, label);
	}
}

enum taken {
	TAKEN_REL = 1,  /* relations: ChooseRelationName() */
	TAKEN_CON = 2,  /* constraints: ChooseConstraintName() */
	TAKEN_BOTH = 3, /* an index that is a constraint's */
};

static bool is_taken(struct strata_lint *l, const char *name, enum taken t)
{
	if ((t & TAKEN_REL) && (strmap_has(&l->new_rels, name) ||
	                        strmap_has(&l->new_indexes, name)))
		return true;
	return (t & TAKEN_CON) && strmap_has(&l->new_cons, name);
}

/* The first free name of "name1_name2_label", "..._label1", ... */
static const char *choose(struct strata_lint *l, const char *name1,
                          const char *name2, const char *label, enum taken t)
{
	struct sbuf name = SBUF_INIT;
	char modlabel[NAME_MAX_BYTES + 1];
	const char *s;

	snprintf(modlabel, sizeof(modlabel), "%s", label);
	for (int pass = 1;; pass++) {
		lint_object_name(&name, name1, name2, modlabel);
		if (!is_taken(l, name.buf, t))
			break;
		snprintf(modlabel, sizeof(modlabel), "%s%d", label, pass);
	}
	s = arena_strndup(&l->arena, name.buf, name.len);
	sbuf_release(&name);
	return s;
}

/* ---- column names of an index (ChooseIndexColumnNames()) ------------------
 */

struct colnames {
	const char *v[32];
	size_t n;
	bool is_more; /* past v: too many to matter (63 bytes) */
};

/* The name PostgreSQL figures for an index expression
 * (FigureIndexColname()), or NULL: "expr". */
static const char *expr_name(const PgQuery__Node *e)
{
	if (!e)
		return NULL;
	switch (e->node_case) {
	case PG_QUERY__NODE__NODE_FUNC_CALL:
		return names_last(e->func_call->funcname,
		                  e->func_call->n_funcname);
	case PG_QUERY__NODE__NODE_COLUMN_REF:
		return names_last(e->column_ref->fields,
		                  e->column_ref->n_fields);
	case PG_QUERY__NODE__NODE_TYPE_CAST: {
		const char *s = expr_name(e->type_cast->arg);

		if (s || !e->type_cast->type_name)
			return s;
		return names_last(e->type_cast->type_name->names,
		                  e->type_cast->type_name->n_names);
	}
	case PG_QUERY__NODE__NODE_COLLATE_CLAUSE:
		return expr_name(e->collate_clause->arg);
	case PG_QUERY__NODE__NODE_CASE_EXPR:
		return "case";
	case PG_QUERY__NODE__NODE_COALESCE_EXPR:
		return "coalesce";
	case PG_QUERY__NODE__NODE_A_ARRAY_EXPR:
		return "array";
	case PG_QUERY__NODE__NODE_ROW_EXPR:
		return "row";
	default:
		return NULL;
	}
}

static void add_colname(struct strata_lint *l, struct colnames *cn,
                        const char *orig)
{
	const char *cur = orig;

	if (cn->n == ARRAY_SIZE(cn->v)) {
		cn->is_more = true;
		return;
	}
	/* a name already in the list takes a number */
	for (int i = 1;; i++) {
		bool is_dup = false;
		char nbuf[16];
		size_t nlen;

		for (size_t k = 0; k < cn->n && !is_dup; k++)
			is_dup = !strcmp(cn->v[k], cur);
		if (!is_dup)
			break;
		snprintf(nbuf, sizeof(nbuf), "%d", i);
		nlen = clip_utf8(orig, strlen(orig),
		                 NAME_MAX_BYTES - strlen(nbuf));
		cur = arena_strfmt(&l->arena, "%.*s%s", (int)nlen, orig, nbuf);
	}
	cn->v[cn->n++] = cur;
}

static void add_elems(struct strata_lint *l, struct colnames *cn,
                      PgQuery__Node **elems, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const char *name = NULL;

		if (elems[i]->node_case == PG_QUERY__NODE__NODE_INDEX_ELEM) {
			const PgQuery__IndexElem *e = elems[i]->index_elem;

			if (e->indexcolname && *e->indexcolname)
				name = e->indexcolname;
			else if (e->name && *e->name)
				name = e->name;
			else
				name = expr_name(e->expr);
		} else {
			name = node_string(elems[i]);
		}
		add_colname(l, cn, name ? name : "expr");
	}
}

/* ChooseIndexNameAddition(): the names joined by '_', cut near 63. */
static const char *join_colnames(struct strata_lint *l,
                                 const struct colnames *cn)
{
	struct sbuf sb = SBUF_INIT;
	const char *s;

	for (size_t i = 0; i < cn->n; i++) {
		if (sb.len)
			sbuf_addch(&sb, '_');
		sbuf_add(&sb, cn->v[i], strnlen(cn->v[i], NAME_MAX_BYTES));
		if (sb.len >= NAME_MAX_BYTES + 1)
			break;
	}
	s = arena_strndup(&l->arena, sb.buf, sb.len);
	sbuf_release(&sb);
	return s;
}

/* ---- what statements create ------------------------------------------------
 */

static void put(struct strmap *m, struct strata_lint *l, const char *name)
{
	strmap_put(m, &l->arena, name, NULL);
}

/* The one column a CHECK reads, or NULL (none, or more than one). */
struct check_cols {
	const char *col;
	bool is_many;
};

static bool find_cols(const ProtobufCMessage *m, void *data)
{
	struct check_cols *w = data;
	const PgQuery__ColumnRef *r;
	const char *name;

	if (m->descriptor != &pg_query__column_ref__descriptor)
		return false;
	r = (const PgQuery__ColumnRef *)m;
	name = names_last(r->fields, r->n_fields);
	if (!name)
		return false;
	if (w->col && strcmp(w->col, name) != 0) {
		w->is_many = true;
		return true;
	}
	w->col = name;
	return false;
}

static const char *check_column(const PgQuery__Constraint *k)
{
	struct check_cols w = { NULL, false };

	if (k->raw_expr)
		node_walk(&k->raw_expr->base, find_cols, &w);
	return w.is_many ? NULL : w.col;
}

/* An index a constraint builds (PRIMARY KEY, UNIQUE, EXCLUDE), named. */
static void constraint_index(struct strata_lint *l, const char *rel,
                             const PgQuery__Constraint *k, const char *col)
{
	struct colnames cn = { 0 };
	const char *name;

	if (*k->indexname)
		return; /* USING INDEX: the index exists, and is renamed */
	if (*k->conname) {
		put(&l->new_indexes, l, k->conname);
		put(&l->new_cons, l, k->conname);
		return;
	}
	if (k->contype == PG_QUERY__CONSTR_TYPE__CONSTR_PRIMARY) {
		name = choose(l, rel, NULL, "pkey", TAKEN_BOTH);
	} else {
		if (col)
			add_colname(l, &cn, col);
		if (k->contype == PG_QUERY__CONSTR_TYPE__CONSTR_EXCLUSION) {
			for (size_t i = 0; i < k->n_exclusions; i++) {
				const PgQuery__Node *pair = k->exclusions[i];

				if (pair->node_case ==
				            PG_QUERY__NODE__NODE_LIST &&
				    pair->list->n_items)
					add_elems(l, &cn, pair->list->items, 1);
			}
		}
		add_elems(l, &cn, k->keys, k->n_keys);
		add_elems(l, &cn, k->including, k->n_including);
		name = choose(
		        l, rel, join_colnames(l, &cn),
		        k->contype == PG_QUERY__CONSTR_TYPE__CONSTR_EXCLUSION
		                ? "excl"
		                : "key",
		        TAKEN_BOTH);
	}
	put(&l->new_indexes, l, name);
	put(&l->new_cons, l, name);
}

/* The name of a CHECK or FOREIGN KEY constraint (of column `col`). */
static const char *check_or_fk_name(struct strata_lint *l, const char *rel,
                                    const PgQuery__Constraint *k,
                                    const char *col)
{
	struct colnames cn = { 0 };

	if (*k->conname)
		return k->conname;
	if (k->contype == PG_QUERY__CONSTR_TYPE__CONSTR_CHECK)
		return choose(l, rel, check_column(k), "check", TAKEN_CON);
	if (col)
		add_colname(l, &cn, col);
	add_elems(l, &cn, k->fk_attrs, k->n_fk_attrs);
	return choose(l, rel, join_colnames(l, &cn), "fkey", TAKEN_CON);
}

const char *lint_constraint_name(struct strata_lint *l, const char *rel,
                                 const PgQuery__Constraint *k)
{
	if (k->contype != PG_QUERY__CONSTR_TYPE__CONSTR_CHECK &&
	    k->contype != PG_QUERY__CONSTR_TYPE__CONSTR_FOREIGN)
		return *k->conname ? k->conname : NULL;
	return check_or_fk_name(l, rel, k, NULL);
}

static void constraint_name(struct strata_lint *l, const char *rel,
                            const PgQuery__Constraint *k, const char *col)
{
	put(&l->new_cons, l, check_or_fk_name(l, rel, k, col));
}

static bool is_index_constraint(const PgQuery__Constraint *k)
{
	return k->contype == PG_QUERY__CONSTR_TYPE__CONSTR_PRIMARY ||
	       k->contype == PG_QUERY__CONSTR_TYPE__CONSTR_UNIQUE ||
	       k->contype == PG_QUERY__CONSTR_TYPE__CONSTR_EXCLUSION;
}

/* A column's sequence (serial, identity). */
static void column_sequence(struct strata_lint *l, const char *rel,
                            const PgQuery__ColumnDef *d)
{
	static const char *const serials[] = {
		"serial",  "serial2",     "serial4",
		"serial8", "smallserial", "bigserial",
	};
	const char *type = d->type_name ? names_last(d->type_name->names,
	                                             d->type_name->n_names)
	                                : NULL;
	bool is_seq = false;

	for (size_t i = 0; type && i < ARRAY_SIZE(serials); i++)
		is_seq = is_seq || !strcmp(type, serials[i]);

	for (size_t i = 0; !is_seq && i < d->n_constraints; i++)
		is_seq = d->constraints[i]->node_case ==
		                 PG_QUERY__NODE__NODE_CONSTRAINT &&
		         d->constraints[i]->constraint->contype ==
		                 PG_QUERY__CONSTR_TYPE__CONSTR_IDENTITY;
	if (is_seq)
		put(&l->new_rels, l,
		    choose(l, rel, d->colname, "seq", TAKEN_REL));
}

/* The constraints of a column definition, in the order PostgreSQL names
 * them: CHECKs with the table, then the indexes, then foreign keys. */
enum pass { PASS_CHECK, PASS_INDEX, PASS_FK };

static void column_constraints(struct strata_lint *l, const char *rel,
                               const PgQuery__ColumnDef *d, enum pass p)
{
	for (size_t i = 0; i < d->n_constraints; i++) {
		const PgQuery__Constraint *k;

		if (d->constraints[i]->node_case !=
		    PG_QUERY__NODE__NODE_CONSTRAINT)
			continue;
		k = d->constraints[i]->constraint;
		if (p == PASS_CHECK &&
		    k->contype == PG_QUERY__CONSTR_TYPE__CONSTR_CHECK)
			constraint_name(l, rel, k, NULL);
		else if (p == PASS_INDEX && is_index_constraint(k))
			constraint_index(l, rel, k, d->colname);
		else if (p == PASS_FK &&
		         k->contype == PG_QUERY__CONSTR_TYPE__CONSTR_FOREIGN)
			constraint_name(l, rel, k, d->colname);
	}
}

static void table_constraint(struct strata_lint *l, const char *rel,
                             const PgQuery__Constraint *k, enum pass p)
{
	if (p == PASS_CHECK &&
	    k->contype == PG_QUERY__CONSTR_TYPE__CONSTR_CHECK)
		constraint_name(l, rel, k, NULL);
	else if (p == PASS_INDEX && is_index_constraint(k))
		constraint_index(l, rel, k, NULL);
	else if (p == PASS_FK &&
	         k->contype == PG_QUERY__CONSTR_TYPE__CONSTR_FOREIGN)
		constraint_name(l, rel, k, NULL);
}

/* Whether a constraint is the primary key (PostgreSQL builds it first). */
static bool is_pk(const PgQuery__Node *n)
{
	return n->node_case == PG_QUERY__NODE__NODE_CONSTRAINT &&
	       n->constraint->contype == PG_QUERY__CONSTR_TYPE__CONSTR_PRIMARY;
}

/* An index a CREATE TABLE's constraint builds, in the order PostgreSQL
 * builds them (transformIndexConstraints()). */
struct table_index {
	const PgQuery__Constraint *k;
	const char *col;  /* of a column constraint */
	const char *name; /* given, or moved from a redundant twin */
};

static const char *key_at(const struct table_index *x, size_t i)
{
	if (!x->k->n_keys)
		return i ? NULL : x->col;
	return i < x->k->n_keys ? node_string(x->k->keys[i]) : NULL;
}

static bool same_names(PgQuery__Node **a, size_t na, PgQuery__Node **b,
                       size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++) {
		const char *x = node_string(a[i]), *y = node_string(b[i]);

		if (!x || !y || strcmp(x, y) != 0)
			return false;
	}
	return true;
}

/* A PRIMARY KEY or UNIQUE that repeats an earlier one: PostgreSQL builds
 * one index for both, under the first one's name (or the second's, when
 * only it has one). */
static bool is_twin(const struct table_index *a, const struct table_index *b)
{
	size_t na = a->k->n_keys ? a->k->n_keys : 1;
	size_t nb = b->k->n_keys ? b->k->n_keys : 1;

	if (a->k->contype == PG_QUERY__CONSTR_TYPE__CONSTR_EXCLUSION ||
	    b->k->contype == PG_QUERY__CONSTR_TYPE__CONSTR_EXCLUSION ||
	    a->k->where_clause || b->k->where_clause || na != nb ||
	    a->k->deferrable != b->k->deferrable ||
	    a->k->initdeferred != b->k->initdeferred ||
	    a->k->nulls_not_distinct != b->k->nulls_not_distinct ||
	    strcmp(a->k->access_method, b->k->access_method) != 0 ||
	    !same_names(a->k->including, a->k->n_including, b->k->including,
	                b->k->n_including))
		return false;
	for (size_t i = 0; i < na; i++)
		if (!key_at(a, i) || !key_at(b, i) ||
		    strcmp(key_at(a, i), key_at(b, i)) != 0)
			return false;
	return true;
}

static void add_table_index(struct table_index *v, size_t *n, size_t cap,
                            const PgQuery__Constraint *k, const char *col)
{
	struct table_index x = { k, col, *k->conname ? k->conname : NULL };

	if (*k->indexname)
		return; /* USING INDEX: the index exists, and is renamed */
	for (size_t i = 0; i < *n; i++) {
		if (!is_twin(&v[i], &x))
			continue;
		if (!v[i].name)
			v[i].name = x.name;
		return;
	}
	if (*n < cap)
		v[(*n)++] = x;
}

static void track_table_indexes(struct strata_lint *l, const char *rel,
                                const PgQuery__CreateStmt *s)
{
	struct table_index v[64];
	size_t n = 0;

	/* the primary key first, then the others in the order written */
	for (int is_primary = 1; is_primary >= 0; is_primary--) {
		for (size_t i = 0; i < s->n_table_elts; i++) {
			const PgQuery__Node *e = s->table_elts[i];
			const PgQuery__ColumnDef *d;

			if (e->node_case == PG_QUERY__NODE__NODE_CONSTRAINT &&
			    is_index_constraint(e->constraint) &&
			    is_pk(e) == is_primary)
				add_table_index(v, &n, ARRAY_SIZE(v),
				                e->constraint, NULL);
			if (e->node_case != PG_QUERY__NODE__NODE_COLUMN_DEF)
				continue;
			d = e->column_def;
			for (size_t k = 0; k < d->n_constraints; k++)
				if (d->constraints[k]->node_case ==
				            PG_QUERY__NODE__NODE_CONSTRAINT &&
				    is_index_constraint(
				            d->constraints[k]->constraint) &&
				    is_pk(d->constraints[k]) == is_primary)
					add_table_index(
					        v, &n, ARRAY_SIZE(v),
					        d->constraints[k]->constraint,
					        d->colname);
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (v[i].name) {
			put(&l->new_indexes, l, v[i].name);
			put(&l->new_cons, l, v[i].name);
		} else {
			constraint_index(l, rel, v[i].k, v[i].col);
		}
	}
}

static void track_create_table(struct strata_lint *l,
                               const PgQuery__CreateStmt *s)
{
	const char *rel = s->relation->relname;
	PgQuery__Node **e = s->table_elts;
	size_t n = s->n_table_elts;

	for (size_t i = 0; i < n; i++)
		if (e[i]->node_case == PG_QUERY__NODE__NODE_COLUMN_DEF)
			column_sequence(l, rel, e[i]->column_def);
	/* CHECKs are named with the table, then the indexes are built, then
	 * the foreign keys added */
	for (enum pass p = PASS_CHECK; p <= PASS_FK; p++) {
		if (p == PASS_INDEX) {
			track_table_indexes(l, rel, s);
			continue;
		}
		for (size_t i = 0; i < n; i++) {
			if (e[i]->node_case == PG_QUERY__NODE__NODE_CONSTRAINT)
				table_constraint(l, rel, e[i]->constraint, p);
			else if (e[i]->node_case ==
			         PG_QUERY__NODE__NODE_COLUMN_DEF)
				column_constraints(l, rel, e[i]->column_def, p);
		}
	}
}

static void track_index(struct strata_lint *l, const PgQuery__IndexStmt *s)
{
	struct colnames cn = { 0 };

	if (*s->idxname || !s->relation)
		return; /* named: lint_track() has it */
	add_elems(l, &cn, s->index_params, s->n_index_params);
	add_elems(l, &cn, s->index_including_params,
	          s->n_index_including_params);
	put(&l->new_indexes, l,
	    choose(l, s->relation->relname, join_colnames(l, &cn), "idx",
	           TAKEN_REL));
}

static void track_alter(struct strata_lint *l, const PgQuery__AlterTableStmt *a)
{
	const char *rel = a->relation ? a->relation->relname : NULL;

	for (size_t i = 0; rel && i < a->n_cmds; i++) {
		const PgQuery__AlterTableCmd *cmd;

		if (a->cmds[i]->node_case !=
		    PG_QUERY__NODE__NODE_ALTER_TABLE_CMD)
			continue;
		cmd = a->cmds[i]->alter_table_cmd;
		if (!cmd->def)
			continue;
		if (cmd->subtype == PG_QUERY__ALTER_TABLE_TYPE__AT_AddColumn &&
		    cmd->def->node_case == PG_QUERY__NODE__NODE_COLUMN_DEF) {
			const PgQuery__ColumnDef *d = cmd->def->column_def;

			column_sequence(l, rel, d);
			for (enum pass p = PASS_CHECK; p <= PASS_FK; p++)
				column_constraints(l, rel, d, p);
		} else if (
		        cmd->subtype ==
		                PG_QUERY__ALTER_TABLE_TYPE__AT_AddConstraint &&
		        cmd->def->node_case ==
		                PG_QUERY__NODE__NODE_CONSTRAINT) {
			for (enum pass p = PASS_CHECK; p <= PASS_FK; p++)
				table_constraint(l, rel, cmd->def->constraint,
				                 p);
		}
	}
}

void lint_track_names(struct strata_lint *l, const PgQuery__Node *n)
{
	switch (n->node_case) {
	case PG_QUERY__NODE__NODE_CREATE_STMT:
		if (n->create_stmt->relation)
			track_create_table(l, n->create_stmt);
		break;
	case PG_QUERY__NODE__NODE_INDEX_STMT:
		track_index(l, n->index_stmt);
		break;
	case PG_QUERY__NODE__NODE_ALTER_TABLE_STMT:
		track_alter(l, n->alter_table_stmt);
		break;
	default:
		break;
	}
}
