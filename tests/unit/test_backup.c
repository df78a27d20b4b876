/*
 * What backups rest on, without a server (src/backup/backup*.c): times as
 * manifests write them, kinds, and the scrubbing of secrets from
 * messages.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>

#include "util/common.h"
#include "backup/backup.h"

static void test_time_parse(void **state)
{
	int64_t t = -1;

	(void)state;
	assert_int_equal(strata_time_parse(&t, "2025-03-15T12:00:00Z"), 0);
	assert_int_equal(t, 1742040000);
	assert_int_equal(strata_time_parse(&t, "1970-01-01T00:00:00Z"), 0);
	assert_int_equal(t, 0);
	assert_int_equal(strata_time_parse(&t, "@1742040000"), 0);
	assert_int_equal(t, 1742040000);
	assert_int_equal(strata_time_parse(&t, "86400"), 0);
	assert_int_equal(t, 86400);
	assert_int_equal(strata_time_parse(&t, "2025-03-15 12:00:00"), -1);
	assert_int_equal(strata_time_parse(&t, "2025-03-15T12:00:00Zx"), -1);
	assert_int_equal(strata_time_parse(&t, "2025-13-15T12:00:00Z"), -1);
	assert_int_equal(strata_time_parse(&t, "yesterday"), -1);
	assert_int_equal(strata_time_parse(&t, ""), -1);
	assert_int_equal(strata_time_parse(&t, "-5"), -1);
}

static void test_kinds(void **state)
{
	enum strata_backup_kind k;

	(void)state;
	for (int i = STRATA_BACKUP_FULL; i <= STRATA_BACKUP_DATA; i++) {
		assert_int_equal(
		        strata_backup_kind_parse(
		                &k, strata_backup_kind_name(
		                            (enum strata_backup_kind)i)),
		        0);
		assert_int_equal(k, i);
	}
	assert_int_equal(strata_backup_kind_parse(&k, "everything"), -1);
	assert_int_equal(strata_backup_kind_parse(&k, NULL), -1);
}

static void test_scrub(void **state)
{
	char *s;

	(void)state;
	s = backup_scrub("a pw and pw again", "pw");
	assert_string_equal(s, "a *** and *** again");
	free(s);
	s = backup_scrub("nothing", NULL);
	assert_string_equal(s, "nothing");
	free(s);
	s = backup_scrub(NULL, "x");
	assert_string_equal(s, "");
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_time_parse),
		cmocka_unit_test(test_kinds),
		cmocka_unit_test(test_scrub),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
