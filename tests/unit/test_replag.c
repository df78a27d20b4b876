/*
 * A standby's lag by WAL position (src/engine/replag.c): the age of the
 * oldest batch it has not replayed, and pg_lsn's text.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "util/common.h"
#include "engine/replag.h"

#define S INT64_C(1000000000)

static void test_lag_is_the_oldest_unreplayed(void **state)
{
	struct replag q = REPLAG_INIT;

	(void)state;
	/* nothing noted: no lag, whatever the standby says */
	assert_true(replag_lag(&q, 0, 5 * S) == 0);
	replag_note(&q, 100, 1 * S);
	replag_note(&q, 200, 2 * S);
	replag_note(&q, 300, 3 * S);
	/* replayed nothing of them: the first batch's age */
	assert_true(replag_lag(&q, 50, 10 * S) == 9);
	/* replayed the first: the second's */
	assert_true(replag_lag(&q, 100, 10 * S) == 8);
	/* part way into the third's WAL: still the third's */
	assert_true(replag_lag(&q, 250, 10 * S) == 7);
	/* everything, or beyond (other sessions' WAL): none */
	assert_true(replag_lag(&q, 300, 10 * S) == 0);
	assert_true(replag_lag(&q, 900, 10 * S) == 0);
	/* a clock read before the mark says no lag, never a negative one */
	assert_true(replag_lag(&q, 0, 0) == 0);
	replag_release(&q);
}

static void test_no_new_wal_keeps_the_older_mark(void **state)
{
	struct replag q = REPLAG_INIT;

	(void)state;
	replag_note(&q, 100, 1 * S);
	/* a batch that wrote nothing: its changes are the earlier ones */
	replag_note(&q, 100, 4 * S);
	replag_note(&q, 90, 5 * S);
	assert_int_equal(q.n, 1);
	assert_true(replag_lag(&q, 0, 6 * S) == 5);
	replag_release(&q);
}

static void test_forget(void **state)
{
	struct replag q = REPLAG_INIT;

	(void)state;
	/* nothing noted yet: nothing to drop */
	replag_forget(&q, 500);
	assert_int_equal(q.n, 0);
	replag_note(&q, 100, 1 * S);
	replag_note(&q, 200, 2 * S);
	replag_note(&q, 300, 3 * S);
	replag_forget(&q, 50);
	assert_int_equal(q.n, 3);
	replag_forget(&q, 199);
	assert_int_equal(q.n, 2);
	assert_true(replag_lag(&q, 0, 10 * S) == 8);
	replag_forget(&q, 300);
	assert_int_equal(q.n, 0);
	assert_true(replag_lag(&q, 0, 10 * S) == 0);
	replag_note(&q, 400, 11 * S);
	assert_true(replag_lag(&q, 300, 12 * S) == 1);
	replag_release(&q);
}

static void test_parse_lsn(void **state)
{
	uint64_t v = 0;

	(void)state;
	assert_int_equal(replag_parse_lsn(&v, "0/0"), 0);
	assert_true(v == 0);
	assert_int_equal(replag_parse_lsn(&v, "16/B374D848"), 0);
	assert_true(v == UINT64_C(0x16B374D848));
	assert_int_equal(replag_parse_lsn(&v, "FFFFFFFF/ffffffff"), 0);
	assert_true(v == UINT64_MAX);
	assert_int_equal(replag_parse_lsn(&v, NULL), -1);
	assert_int_equal(replag_parse_lsn(&v, ""), -1);
	assert_int_equal(replag_parse_lsn(&v, "16B374D848"), -1);
	assert_int_equal(replag_parse_lsn(&v, "/1"), -1);
	assert_int_equal(replag_parse_lsn(&v, "1/"), -1);
	assert_int_equal(replag_parse_lsn(&v, "1/2/3"), -1);
	assert_int_equal(replag_parse_lsn(&v, "1/G"), -1);
	assert_int_equal(replag_parse_lsn(&v, "123456789/0"), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lag_is_the_oldest_unreplayed),
		cmocka_unit_test(test_no_new_wal_keeps_the_older_mark),
		cmocka_unit_test(test_forget),
		cmocka_unit_test(test_parse_lsn),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
