/*
 * Parsing a text whose statements may nest without bound. Three things
 * would recurse once per level of the tree: libpg_query turning
 * PostgreSQL's nodes into protobuf, protobuf-c unpacking them, and
 * protobuf-c freeing them. The grammar bounds nesting in parentheses
 * (bison's stack: about 3,300 subqueries) but not a chain of operators
 * ("1+1+...": one level a term), and PostgreSQL itself refuses a tree
 * deeper than its max_stack_depth allows only after parsing it.
 *
 * So: before parsing, the tokens bound how deep the tree can be (an
 * estimate that is never below it), and libpg_query runs on a stack that
 * large (util/stack.h); before unpacking, the packed tree's depth is read
 * without recursion, refused past PG_PARSE_MAX_DEPTH, and unpacking runs
 * on a stack for that depth; the tree is freed all at once with the
 * memory it was unpacked into (sql/pgmem.h), and node_walk() walks it
 * without recursion. Stack costs were measured on libpg_query 15: about
 * 0.5 kB a level of nesting for the parse, 1 kB a protobuf message for
 * unpacking; twice that is reserved.
 */
#include "sql/pgparse.h"
#include "sql/pgmem.h"
#include "util/stack.h"
#include "util/xalloc.h"
#include "util/text.h"

#define PARSE_BASE       (512u << 10)
#define PARSE_PER_LEVEL  1024u
#define UNPACK_BASE      (256u << 10)
#define UNPACK_PER_LEVEL 2048u
/* bytes unpacked per byte packed, about: it sizes the first block */
#define UNPACKED_PER_BYTE 4u

/*
 * An upper bound of the tree's depth, in nesting "levels", from the
 * tokens: every token that can make a node above another (keywords,
 * operators) counts, and each pair of parentheses or brackets adds one to
 * what is inside it. Names, constants and commas count nothing: a list's
 * items are siblings, and a million-row VALUES stays shallow. The count
 * restarts after a statement's ';' (outside parentheses).
 */
static size_t depth_bound(const PgQuery__ScanResult *toks)
{
	struct level {
		size_t depth, cur;
	} *saved = NULL;
	size_t n = 0, alloc = 0, depth = 0, cur = 0, max = 0;

	for (size_t i = 0; toks && i < toks->n_tokens; i++) {
		switch (toks->tokens[i]->token) {
		case PG_QUERY__TOKEN__SQL_COMMENT:
		case PG_QUERY__TOKEN__C_COMMENT:
		case PG_QUERY__TOKEN__IDENT:
		case PG_QUERY__TOKEN__UIDENT:
		case PG_QUERY__TOKEN__FCONST:
		case PG_QUERY__TOKEN__SCONST:
		case PG_QUERY__TOKEN__USCONST:
		case PG_QUERY__TOKEN__BCONST:
		case PG_QUERY__TOKEN__XCONST:
		case PG_QUERY__TOKEN__ICONST:
		case PG_QUERY__TOKEN__PARAM:
		case PG_QUERY__TOKEN__ASCII_44: /* , */
		case PG_QUERY__TOKEN__ASCII_46: /* . */
			break;
		case PG_QUERY__TOKEN__ASCII_40: /* ( */
		case PG_QUERY__TOKEN__ASCII_91: /* [ */
			XGROW(saved, alloc, n + 1);
			saved[n].depth = depth;
			saved[n++].cur = cur;
			depth += cur + 1;
			cur = 0;
			break;
		case PG_QUERY__TOKEN__ASCII_41: /* ) */
		case PG_QUERY__TOKEN__ASCII_93: /* ] */
			if (n) {
				depth = saved[--n].depth;
				cur = saved[n].cur;
			}
			break;
		case PG_QUERY__TOKEN__ASCII_59: /* ; */
			if (!n)
				cur = 0;
			break;
		default:
			cur++;
			break;
		}
		if (depth + cur > max)
			max = depth + cur;
	}
	free(saved);
	return max;
}

static bool read_varint(const uint8_t **p, const uint8_t *end, uint64_t *out)
{
	uint64_t v = 0;

	for (unsigned shift = 0; *p < end && shift < 64; shift += 7) {
		uint8_t b = *(*p)++;

		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*out = v;
			return true;
		}
	}
	return false;
}

/* Past the field of wire type `wire` at *p; false when it runs out. */
static bool skip_field(const uint8_t **p, const uint8_t *end, unsigned wire)
{
	uint64_t v;

	switch (wire) {
	case 0:
		return read_varint(p, end, &v);
	case 1:
		v = 8;
		break;
	case 2:
		if (!read_varint(p, end, &v))
			return false;
		break;
	case 5:
		v = 4;
		break;
	default:
		return false;
	}
	if (v > (uint64_t)(end - *p))
		return false;
	*p += v;
	return true;
}

/* RawStmt.stmt_location (field 2) of the statement packed in [p, end). */
static size_t raw_stmt_location(const uint8_t *p, const uint8_t *end)
{
	uint64_t tag, v;

	while (p < end && read_varint(&p, end, &tag)) {
		if (tag == (2u << 3 | 0))
			return read_varint(&p, end, &v) ? (size_t)(int32_t)v
			                                : 0;
		if (!skip_field(&p, end, (unsigned)(tag & 7)))
			break;
	}
	return 0;
}

/*
 * The depth of the packed ParseResult in messages, read without recursion
 * and without unpacking. Past PG_PARSE_MAX_DEPTH it stops and sets
 * `*too_deep_at` to the statement's location.
 */
static size_t packed_depth(const uint8_t *buf, size_t len, bool *is_too_deep,
                           size_t *too_deep_at)
{
	/*
	 * Grown as deep as the tree goes: a frame for PG_PARSE_MAX_DEPTH up
	 * front was 640 kB a parse, which glibc gave back to the kernel at
	 * each free (an madvise, and a TLB flush on every core).
	 */
	struct frame {
		const ProtobufCMessageDescriptor *d;
		const uint8_t *end;
	} *st = NULL;
	const uint8_t *p = buf, *stmt = NULL, *stmt_end = NULL;
	size_t n = 1, max = 1, alloc = 0;
	uint64_t tag, v;

	XGROW(st, alloc, 64);
	*is_too_deep = false;
	st[0].d = &pg_query__parse_result__descriptor;
	st[0].end = buf + len;
	while (n) {
		const ProtobufCFieldDescriptor *f;

		if (p >= st[n - 1].end) {
			n--;
			continue;
		}
		if (!read_varint(&p, st[n - 1].end, &tag))
			break;
		f = (tag & 7) == 2 ? protobuf_c_message_descriptor_get_field(
		                             st[n - 1].d, (unsigned)(tag >> 3))
		                   : NULL;
		if (!f || f->type != PROTOBUF_C_TYPE_MESSAGE) {
			if (!skip_field(&p, st[n - 1].end, (unsigned)(tag & 7)))
				break;
			continue;
		}
		if (!read_varint(&p, st[n - 1].end, &v) ||
		    v > (uint64_t)(st[n - 1].end - p))
			break;
		if (n == 1) {
			stmt = p;
			stmt_end = p + v;
		}
		if (n > PG_PARSE_MAX_DEPTH) {
			*is_too_deep = true;
			*too_deep_at =
			        stmt ? raw_stmt_location(stmt, stmt_end) : 0;
			break;
		}
		XGROW(st, alloc, n + 1);
		st[n].d = f->descriptor;
		st[n].end = p + v;
		if (++n > max)
			max = n;
	}
	free(st);
	return max;
}

struct parse_job {
	const char *sql;
	PgQueryProtobufParseResult r;
	struct pgmem *mem;
	PgQuery__ParseResult *tree;
};

static void parse_job_run(void *arg)
{
	struct parse_job *job = arg;

	job->r = pg_query_parse_protobuf(job->sql);
}

static void unpack_job_run(void *arg)
{
	struct parse_job *job = arg;

	job->tree = pg_query__parse_result__unpack(
	        pgmem_allocator(job->mem), job->r.parse_tree.len,
	        (const uint8_t *)job->r.parse_tree.data);
}

/* The first token at or after byte `at` that is not a comment. */
static size_t token_from(const PgQuery__ScanResult *toks, size_t at)
{
	for (size_t i = 0; toks && i < toks->n_tokens; i++) {
		const PgQuery__ScanToken *t = toks->tokens[i];

		if ((size_t)t->start >= at &&
		    t->token != PG_QUERY__TOKEN__SQL_COMMENT &&
		    t->token != PG_QUERY__TOKEN__C_COMMENT)
			return (size_t)t->start;
	}
	return at;
}

int pg_scan(struct pg_scan *out, const char *sql, size_t len,
            struct strata_error *err)
{
	PgQueryScanResult r = pg_query_scan(sql);
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (r.error) {
		int pos = r.error->cursorpos;

		out->error = xstrdup(r.error->message);
		/* cursorpos counts characters from 1, as the server's. */
		out->error_at = pos > 0 ? text_char_to_byte(sql, len, pos) : 0;
		rc = 0;
		goto done;
	}
	out->mem = pgmem_new(r.pbuf.len * UNPACKED_PER_BYTE);
	out->toks = pg_query__scan_result__unpack(pgmem_allocator(out->mem),
	                                          r.pbuf.len,
	                                          (const uint8_t *)r.pbuf.data);
	if (!out->toks) {
		pgmem_free(out->mem);
		out->mem = NULL;
		strata_error_set(err, STRATA_EFAILED,
		                 "could not decode the SQL scanner's result");
		goto done;
	}
	rc = 0;
done:
	pg_query_free_scan_result(r);
	return rc;
}

void pg_scan_release(struct pg_scan *s)
{
	pgmem_free(s->mem);
	free(s->error);
	memset(s, 0, sizeof(*s));
}

static int no_stack(struct strata_error *err, size_t need)
{
	strata_error_set(err, STRATA_EFAILED,
	                 "could not get %zu MB of stack to parse the SQL",
	                 need >> 20);
	return strata_error_hint(
	        err,
	        "The statement nests deeply: allow strata its threads, or split the statement.");
}

int pg_parse(struct pg_parse *out, const char *sql, size_t len,
             const PgQuery__ScanResult *toks, struct strata_error *err)
{
	struct parse_job job = { 0 };
	size_t depth, at = 0, need;
	bool is_too_deep;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	job.sql = sql;
	need = PARSE_BASE + PARSE_PER_LEVEL * depth_bound(toks);
	if (stack_run(need, parse_job_run, &job) < 0) {
		no_stack(err, need);
		return -1;
	}
	if (job.r.error) {
		int pos = job.r.error->cursorpos;

		out->error = xstrdup(job.r.error->message);
		/* cursorpos counts characters from 1, as the server's. */
		out->error_at = pos > 0 ? text_char_to_byte(sql, len, pos) : 0;
		rc = 0;
		goto done;
	}
	depth = packed_depth((const uint8_t *)job.r.parse_tree.data,
	                     job.r.parse_tree.len, &is_too_deep, &at);
	if (is_too_deep) {
		out->error = xstrdup(PG_PARSE_TOO_DEEP);
		out->error_at = token_from(toks, at < len ? at : 0);
		rc = 0;
		goto done;
	}
	need = UNPACK_BASE + UNPACK_PER_LEVEL * depth;
	job.mem = pgmem_new(job.r.parse_tree.len * UNPACKED_PER_BYTE);
	if (stack_run(need, unpack_job_run, &job) < 0) {
		no_stack(err, need);
		goto done;
	}
	if (!job.tree) {
		strata_error_set(err, STRATA_EFAILED,
		                 "could not decode the SQL parse tree");
		goto done;
	}
	out->tree = job.tree;
	out->mem = job.mem;
	job.mem = NULL;
	rc = 0;
done:
	pgmem_free(job.mem);
	pg_query_free_protobuf_parse_result(job.r);
	return rc;
}

void pg_parse_release(struct pg_parse *p)
{
	pgmem_free(p->mem);
	free(p->error);
	memset(p, 0, sizeof(*p));
}
