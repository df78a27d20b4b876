/*
 * Checksums (src/engine/checksum.c): the SHA-384 sqlx records, of a text
 * and of a loaded migration's up file only. The oracle below was computed
 * once with `printf 'SELECT 1;\n' | openssl dgst -sha384`, independently
 * of the code under test.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "strata.h"
#include "tmpdir.h"

#define SELECT_1_SHA384 \
	"24454095d8d7876ca8e842f34296ca645c83e0f7b50f048c99db4b2ff4da659267afc4ef3e994f3d74e18c741165d931"

static void hex(char *out, const unsigned char *data, size_t len)
{
	for (size_t i = 0; i < len; i++)
		snprintf(out + 2 * i, 3, "%02x", data[i]);
}

static void test_checksum_is_sha384(void **state)
{
	struct fixture *f = *state;
	struct strata_source *src;
	unsigned char sum[STRATA_CHECKSUM_LEN];
	char text[2 * STRATA_CHECKSUM_LEN + 1];

	strata_checksum(sum, "SELECT 1;\n", 10);
	hex(text, sum, sizeof(sum));
	assert_string_equal(text, SELECT_1_SHA384);

	/* of the up file's bytes only, not of the down file */
	put(f->dir, "1_one.up.sql", "SELECT 1;\n");
	put(f->dir, "1_one.down.sql", "SELECT 2;\n");
	src = load_ok(f->dir);
	hex(text, strata_source_at(src, 0)->checksum, STRATA_CHECKSUM_LEN);
	assert_string_equal(text, SELECT_1_SHA384);
	strata_source_free(src);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_checksum_is_sha384),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
