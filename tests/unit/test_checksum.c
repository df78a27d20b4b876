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

/*
 * Lengths either side of SHA-384's padding (a block of 128 bytes, 112 of
 * them before the length) and of several blocks, bytes i % 251; the
 * oracle is `openssl dgst -sha384` of the same bytes.
 */
static void test_checksum_at_block_edges(void **state)
{
	static const struct {
		size_t len;
		const char *sha384;
	} cases[] = {
		{ 0,
		  "38b060a751ac96384cd9327eb1b1e36a21fdb71114be07434c0cc7bf63f6e1da274edebfe76f65fbd51ad2f14898b95b" },
		{ 111,
		  "f5f9fe110d809d34029de262a01b208356caec6e054c7f926b2591f6c9780579d4b59f5578c6f531a84f158a33660cef" },
		{ 112,
		  "33ba080ec0ccb378e4e95fed3b26c23aa1a280476e007519ee47f60cd9c5c8a65d627259a9aa2fd33ca06d3c14ee5548" },
		{ 127,
		  "d5fcfe2fcf6b3ef375ede37c8123d9b78065fecc1d55197e2f7721e6e9a93d0ba4d7fd15f9b96dea2744df24141ba2ef" },
		{ 128,
		  "ca2385773319124534111a36d0581fc3f00815e907034b90cff9c3a861e126a741d5dfcff65a417b6d7296863ac0ec17" },
		{ 129,
		  "ef49ae5b9ad51433d00323528d81ea8d2e4d2b507dbd9f1cb84f952b66249a788b1c89fcdb77a0db9f1feb901d47fc73" },
		{ 239,
		  "2556cf077a788c49bb6d600f4a3cee635c4443832d169f761537afee2980742b9f34afbc87f598dd0aedc4a826ed6a73" },
		{ 240,
		  "d64769ad58f5a338669b935f3431e5bef31667d0a2437bff78f1e5275075f434fff675f9833ea04ac4e5c2e2c2c99b8c" },
		{ 100000,
		  "733e508f6f8e154f52b87add09a5b732df33fb64e82704ba62f20ecedf03faa1d73bd72e17b2b42a7265ba2223b026ce" },
	};
	static unsigned char data[100000];
	unsigned char sum[STRATA_CHECKSUM_LEN];
	char text[2 * STRATA_CHECKSUM_LEN + 1];

	(void)state;
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)(i % 251);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		strata_checksum(sum, data, cases[i].len);
		hex(text, sum, sizeof(sum));
		assert_string_equal(text, cases[i].sha384);
	}
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_checksum_is_sha384),
		T(test_checksum_at_block_edges),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
