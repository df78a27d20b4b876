/*
 * A batch migration's statement: `:batch_size` is no SQL the parser (or
 * the server) takes, so it is bound as $1, a bigint parameter sent with
 * each execution: one text, parsed once here and planned by the server
 * for each size without strata writing numbers into SQL; the shape is
 * then judged on the parse tree of that text.
 */
#include "sql/batchsql.h"
#include "sql/pgparse.h"
#include "sql/pgtree.h"
#include "util/error.h"
#include "util/xalloc.h"

#include <stdlib.h>
#include <string.h>

int batchsql_bind(size_t *out_n, char *sql, size_t len,
                  struct strata_error *err)
{
	struct pg_scan scanned;
	const PgQuery__ScanResult *toks;
	size_t name_len = strlen(BATCHSQL_PLACEHOLDER) - 1;

	*out_n = 0;
	if (pg_scan(&scanned, sql, len, err) < 0)
		return -1;
	/* with no tokens, the split says why, at its line */
	toks = scanned.toks;
	/* ':' then the word batch_size, touching: never in a string, a
	 * quoted name or a comment, which are tokens of their own */
	for (size_t i = 0; toks && i + 1 < toks->n_tokens; i++) {
		const PgQuery__ScanToken *colon = toks->tokens[i];
		const PgQuery__ScanToken *word = toks->tokens[i + 1];
		size_t at = (size_t)colon->start;

		if (colon->token != PG_QUERY__TOKEN__ASCII_58 ||
		    word->token != PG_QUERY__TOKEN__IDENT ||
		    word->start != colon->end ||
		    (size_t)(word->end - word->start) != name_len ||
		    (size_t)word->end > len ||
		    strncmp(sql + word->start, &BATCHSQL_PLACEHOLDER[1],
		            name_len))
			continue;
		memset(sql + at, ' ', (size_t)(word->end - colon->start));
		memcpy(sql + at, "$1", 2);
		(*out_n)++;
	}
	pg_scan_release(&scanned);
	return 0;
}

/* What a walk of the statement found. */
struct found {
	size_t n_params;      /* $1 anywhere */
	size_t n_limits;      /* $1 as a SELECT's LIMIT */
	size_t n_other_param; /* $2 and up: nothing binds them */
	int other_at;
	const PgQuery__SelectStmt *limited; /* the first such SELECT */
};

static bool is_param_1(const PgQuery__Node *n)
{
	return n && n->node_case == PG_QUERY__NODE__NODE_PARAM_REF &&
	       n->param_ref->number == 1;
}

static bool find_walk(const ProtobufCMessage *m, void *data)
{
	struct found *f = data;

	if (m->descriptor == &pg_query__param_ref__descriptor) {
		const PgQuery__ParamRef *p = (const PgQuery__ParamRef *)m;

		if (p->number == 1) {
			f->n_params++;
		} else if (!f->n_other_param++) {
			f->other_at = p->location;
		}
	} else if (m->descriptor == &pg_query__select_stmt__descriptor) {
		const PgQuery__SelectStmt *s = (const PgQuery__SelectStmt *)m;

		if (is_param_1(s->limit_count)) {
			f->n_limits++;
			if (!f->limited)
				f->limited = s;
		}
	}
	return false;
}

/* The columns an UPDATE sets, and whether a WHERE reads one of them. */
struct set_cols {
	const PgQuery__UpdateStmt *u;
	bool is_read;
};

static bool reads_set_column(const ProtobufCMessage *m, void *data)
{
	struct set_cols *sc = data;
	const PgQuery__ColumnRef *c;
	const char *name;

	if (m->descriptor != &pg_query__column_ref__descriptor)
		return false;
	c = (const PgQuery__ColumnRef *)m;
	name = c->n_fields ? node_string(c->fields[c->n_fields - 1]) : NULL;
	for (size_t i = 0; name && i < sc->u->n_target_list; i++) {
		const PgQuery__Node *t = sc->u->target_list[i];

		if (t->node_case == PG_QUERY__NODE__NODE_RES_TARGET &&
		    t->res_target->name && !strcmp(t->res_target->name, name)) {
			sc->is_read = true;
			return true;
		}
	}
	return false;
}

static void problem(struct batchsql_shape *out, const char *what, int at)
{
	out->problem = what;
	out->problem_at = at > 0 ? at : 0;
}

static void shape_of(struct batchsql_shape *out, const PgQuery__Node *top)
{
	const PgQuery__Node *where = NULL;
	struct found f = { 0 };

	switch (top->node_case) {
	case PG_QUERY__NODE__NODE_UPDATE_STMT:
		out->kind = "UPDATE";
		where = top->update_stmt->where_clause;
		break;
	case PG_QUERY__NODE__NODE_DELETE_STMT:
		out->kind = "DELETE";
		where = top->delete_stmt->where_clause;
		break;
	case PG_QUERY__NODE__NODE_INSERT_STMT:
		out->kind = "INSERT ... SELECT";
		if (!top->insert_stmt->select_stmt ||
		    top->insert_stmt->select_stmt->node_case !=
		            PG_QUERY__NODE__NODE_SELECT_STMT ||
		    top->insert_stmt->select_stmt->select_stmt
		            ->n_values_lists) {
			problem(out,
			        "an INSERT must take its rows from a SELECT",
			        0);
			return;
		}
		break;
	default:
		problem(out,
		        "it must be an UPDATE, a DELETE or an INSERT ... SELECT",
		        0);
		return;
	}
	node_walk((const ProtobufCMessage *)top, find_walk, &f);
	if (f.n_other_param) {
		problem(out, "only :batch_size is bound: $2 and up are not",
		        f.other_at);
		return;
	}
	if (!f.n_limits) {
		problem(out, "no SELECT in it has LIMIT :batch_size", 0);
		return;
	}
	if (f.n_params > f.n_limits) {
		problem(out, ":batch_size may only be a LIMIT", 0);
		return;
	}
	/*
	 * Done rows must drop out, or the same rows are changed forever: a
	 * DELETE's are gone; otherwise the limited SELECT's WHERE, or the
	 * statement's own beyond the `id IN (SELECT ...)` that limits it.
	 */
	if (top->node_case != PG_QUERY__NODE__NODE_DELETE_STMT &&
	    !f.limited->where_clause &&
	    (!where || where->node_case == PG_QUERY__NODE__NODE_SUB_LINK)) {
		problem(out,
		        "no WHERE leaves the rows already done out of the next batch",
		        0);
		return;
	}
	if (top->node_case == PG_QUERY__NODE__NODE_UPDATE_STMT) {
		struct set_cols sc = { .u = top->update_stmt };

		if (where)
			node_walk((const ProtobufCMessage *)where,
			          reads_set_column, &sc);
		if (!sc.is_read && f.limited->where_clause)
			node_walk((const ProtobufCMessage *)
			                  f.limited->where_clause,
			          reads_set_column, &sc);
		out->is_skip_unsure = !sc.is_read;
	}
}

void batchsql_shape_node(struct batchsql_shape *out, const PgQuery__Node *top)
{
	memset(out, 0, sizeof(*out));
	shape_of(out, top);
}

int batchsql_shape(struct batchsql_shape *out, const char *stmt,
                   struct strata_error *err)
{
	struct pg_parse parsed = { 0 };

	memset(out, 0, sizeof(*out));
	if (pg_parse(&parsed, stmt, strlen(stmt), NULL, err) < 0)
		return -1;
	if (!parsed.tree)
		problem(out, "it does not parse", (int)parsed.error_at);
	else if (parsed.tree->n_stmts != 1)
		problem(out, "it must hold exactly one statement", 0);
	else
		shape_of(out, parsed.tree->stmts[0]->stmt);
	pg_parse_release(&parsed);
	return 0;
}
