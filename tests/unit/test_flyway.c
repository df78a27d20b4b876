/*
 * Flyway's layout (src/engine/source_flyway.c): its checksum and the order
 * of its versions. The checksums below were computed independently of the
 * code under test, by Java's own java.util.zip.CRC32 fed line by line from
 * a java.io.BufferedReader(4096), the BOM dropped from the first line and
 * the value cast to int, as Flyway's ChecksumCalculator does; the lock
 * keys likewise by Java, as PostgreSQLAdvisoryLockTemplate computes them.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "strata.h"
#include "engine/source.h"
#include "drivers/lockkey.h"

static int32_t sum(const char *s)
{
	return source_flyway_checksum(s, strlen(s));
}

static void test_checksum_is_flyways(void **state)
{
	(void)state;
	assert_int_equal(sum(""), 0);
	assert_int_equal(sum("\n"), 0);
	assert_int_equal(sum("SELECT 1;"), 78787420);
	assert_int_equal(sum("SELECT 1;\n"), 78787420);
	assert_int_equal(
	        sum("CREATE TABLE a (id int);\nINSERT INTO a VALUES (1);\n"),
	        -279898995);
	/* line endings and a BOM change nothing */
	assert_int_equal(
	        sum("CREATE TABLE a (id int);\r\nINSERT INTO a VALUES (1);\r\n"),
	        -279898995);
	assert_int_equal(
	        sum("CREATE TABLE a (id int);\rINSERT INTO a VALUES (1);\r"),
	        -279898995);
	assert_int_equal(
	        sum("\xEF\xBB\xBF"
	            "CREATE TABLE a (id int);\nINSERT INTO a VALUES (1);\n"),
	        -279898995);
	/* an empty line is no bytes; "\r\n" is one line end, not two */
	assert_int_equal(sum("a\n\nb"), -1635563411);
	assert_int_equal(sum("a\r\n\r\nb\n"), -1635563411);
	/* UTF-8 as it is */
	assert_int_equal(sum("-- caf\xC3\xA9 \xE2\x98\x83\nSELECT 'x';"),
	                 553729011);
}

static int64_t key(const char *v)
{
	return source_flyway_key(v, strlen(v));
}

static void test_versions_order_as_flyway(void **state)
{
	(void)state;
	/* trailing zeros, leading zeros and '_' change nothing */
	assert_true(key("1") == key("1.0"));
	assert_true(key("1") == key("1.0.0"));
	assert_true(key("1.1") == key("1_1"));
	assert_true(key("01.002") == key("1.2"));
	/* part by part, as numbers */
	assert_true(key("1") < key("1.1"));
	assert_true(key("1.1") < key("1.2"));
	assert_true(key("1.2") < key("1.10"));
	assert_true(key("1.10") < key("2"));
	assert_true(key("2") < key("10"));
	assert_true(key("1.0.1") < key("1.1"));
	assert_true(key("9") < key("20240101120000"));
	assert_true(key("20240101120000") < key("20240101120001"));
	assert_true(key("99999999") < key("100000000"));
	assert_true(key("0") < key("0.1"));
	assert_true(key("0") >= 0);
	/* not a version */
	assert_true(key("") == -1);
	assert_true(key("1.") == -1);
	assert_true(key(".1") == -1);
	assert_true(key("1..2") == -1);
	assert_true(key("1a") == -1);
	/* too long to order in 64 bits: said so, not wrapped */
	assert_true(key("1234567890123456789") == -2);
	assert_true(key("1.2.3.4.5.6.7.8.9.10") == -2);
	assert_true(key("1.2.3.4.5.6.7.8.9") > 0);
}

/* Java's own "Flyway" magic + String.hashCode() of "schema"."table" */
static void test_lock_key_is_flyways(void **state)
{
	(void)state;
	assert_true(lockkey_flyway("public", "flyway_schema_history") ==
	            77433833903597LL);
	assert_true(lockkey_flyway("app", "hist") == 77430559573730LL);
	/* UTF-16 code units: é is one, an emoji two (a surrogate pair) */
	assert_true(lockkey_flyway("sch\xC3\xA9ma", "t\xF0\x9F\x98\x80") ==
	            77430796461139LL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_checksum_is_flyways),
		cmocka_unit_test(test_versions_order_as_flyway),
		cmocka_unit_test(test_lock_key_is_flyways),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
