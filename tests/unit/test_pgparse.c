/*
 * Parsing deep statements (src/sql/pgparse.c, src/util/stack.c): a tree
 * as deep as PostgreSQL parses is parsed, walked and freed; a deeper one
 * is "stack depth limit exceeded" at its statement; without threads, a
 * statement that needs more stack than the caller has is an error, never
 * a crash. A tree's memory (src/sql/pgmem.c) is aligned for its fields,
 * gives back protobuf-c's large scratch when asked, and joins another's.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/common.h"
#include "util/sbuf.h"
#include "sql/pgparse.h"
#include "sql/pgmem.h"
#include "sql/pgtree.h"
#include "sql/split.h"

/* `prefix`, then SELECT 1+1+...+1; with `terms` terms */
static void plus_chain(struct sbuf *sb, const char *prefix, size_t terms)
{
	sbuf_reset(sb);
	sbuf_adds(sb, prefix);
	sbuf_adds(sb, "SELECT 1");
	for (size_t i = 1; i < terms; i++)
		sbuf_adds(sb, "+1");
	sbuf_adds(sb, ";");
}

static bool count_message(const ProtobufCMessage *m, void *data)
{
	(void)m;
	++*(size_t *)data;
	return false;
}

static void test_deep_tree_walked_and_freed(void **state)
{
	struct sbuf sb = SBUF_INIT;
	struct strata_script s;
	struct pg_trees keep = { NULL, NULL, NULL };
	size_t n = 0;

	(void)state;
	/* as deep as PostgreSQL 15 accepts at its largest max_stack_depth */
	plus_chain(&sb, "", 15000);
	assert_int_equal(split_pg_keep(&s, sb.buf, sb.len, &keep, NULL), 0);
	assert_true(s.is_parsed);
	assert_int_equal(s.n, 1);
	assert_non_null(keep.tree);
	assert_false(node_walk(keep.tree, count_message, &n));
	/* ParseResult, RawStmt, SelectStmt, ResTarget, 15,000 constants
	 * and 14,999 operators with their names */
	assert_true(n > 2 * 15000);
	pg_trees_release(&keep);
	script_release(&s);
	sbuf_release(&sb);
}

static void test_too_deep_is_a_parse_error(void **state)
{
	struct sbuf sb = SBUF_INIT;
	struct strata_script s;

	(void)state;
	plus_chain(&sb, "SELECT 1;\n-- next\n  ", 25000);
	assert_int_equal(split_pg(&s, sb.buf, sb.len, NULL), 0);
	assert_false(s.is_parsed);
	assert_string_equal(s.parse_error, PG_PARSE_TOO_DEEP);
	/* the statement's first token, past the comment */
	assert_int_equal(s.parse_error_at, strlen("SELECT 1;\n-- next\n  "));
	/* still split, as the server would take it */
	assert_int_equal(s.n, 2);
	script_release(&s);
	sbuf_release(&sb);
}

static void test_no_threads_no_crash(void **state)
{
	struct sbuf sb = SBUF_INIT;
	struct strata_script s;
	struct strata_error err = STRATA_ERROR_INIT;

	(void)state;
	strata_set_threads(false);
	/* shallow: on the caller's stack, as ever */
	plus_chain(&sb, "", 10);
	assert_int_equal(split_pg(&s, sb.buf, sb.len, &err), 0);
	assert_true(s.is_parsed);
	script_release(&s);
	/* a chain that needs more stack than the caller has */
	plus_chain(&sb, "", 200000);
	assert_int_equal(split_pg(&s, sb.buf, sb.len, &err), -1);
	assert_non_null(strstr(err.message, "of stack to parse the SQL"));
	strata_error_release(&err);
	strata_set_threads(true);
	sbuf_release(&sb);
}

static void test_tree_memory(void **state)
{
	struct pgmem *a = pgmem_new(0), *b = pgmem_new(1u << 20);
	ProtobufCAllocator *al = pgmem_allocator(a);
	void *small[600], *large[8];

	(void)state;
	/* many small pieces: several blocks, each piece aligned and apart */
	for (size_t i = 0; i < ARRAY_SIZE(small); i++) {
		small[i] = al->alloc(al->allocator_data, 1 + i % 200);
		assert_int_equal((uintptr_t)small[i] % sizeof(void *), 0);
		memset(small[i], (int)i, 1 + i % 200);
	}
	for (size_t i = 0; i < ARRAY_SIZE(small); i++)
		assert_int_equal(*(unsigned char *)small[i], (unsigned char)i);
	/* large pieces freed out of order, a small one's free ignored */
	for (size_t i = 0; i < ARRAY_SIZE(large); i++)
		large[i] = al->alloc(al->allocator_data, 1024u << i);
	al->free(al->allocator_data, large[3]);
	al->free(al->allocator_data, large[0]);
	al->free(al->allocator_data, large[7]);
	al->free(al->allocator_data, small[5]);
	al->free(al->allocator_data, NULL);
	memset(large[1], 1, 2048);
	memset(large[6], 6, 1024u << 6);
	al = pgmem_allocator(b);
	memset(al->alloc(al->allocator_data, 0), 0, 1);
	memset(al->alloc(al->allocator_data, 5000), 0, 5000);
	/* what is left of both goes with one free (ASan sees any leak) */
	assert_ptr_equal(pgmem_join(a, b), a);
	assert_ptr_equal(pgmem_join(a, NULL), a);
	assert_ptr_equal(pgmem_join(NULL, a), a);
	pgmem_free(a);
	pgmem_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_deep_tree_walked_and_freed),
		cmocka_unit_test(test_too_deep_is_a_parse_error),
		cmocka_unit_test(test_no_threads_no_crash),
		cmocka_unit_test(test_tree_memory),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
