/*
 * The .env reader (src/engine/dotenv.c): comments, export, quotes and
 * escapes, CRLF, real environment variables winning over the file, and
 * an error naming the line.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/common.h"

static void write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static void test_dotenv(void **state)
{
	struct strata_error err = STRATA_ERROR_INIT;
	char path[] = "/tmp/strata-dotenv-XXXXXX";
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	setenv("STRATA_T_KEEP", "from-env", 1);
	unsetenv("STRATA_T_A");
	unsetenv("STRATA_T_B");
	unsetenv("STRATA_T_C");
	unsetenv("STRATA_T_D");
	write_file(path, "# comment\n"
	                 "export STRATA_T_A=plain value # trailing\n"
	                 "STRATA_T_B = 'single # kept'\r\n"
	                 "STRATA_T_C=\"double \\\"quoted\\\"\\n\"\n"
	                 "\n"
	                 "STRATA_T_D=postgres://u:p#w@h/d\n"
	                 "STRATA_T_KEEP=from-file\n");
	assert_int_equal(strata_dotenv_load(path, &err), 0);
	assert_string_equal(getenv("STRATA_T_A"), "plain value");
	assert_string_equal(getenv("STRATA_T_B"), "single # kept");
	assert_string_equal(getenv("STRATA_T_C"), "double \"quoted\"\n");
	assert_string_equal(getenv("STRATA_T_D"), "postgres://u:p#w@h/d");
	assert_string_equal(getenv("STRATA_T_KEEP"), "from-env");

	write_file(path, "OK=1\nthis line is wrong\n");
	assert_int_equal(strata_dotenv_load(path, &err), -1);
	assert_int_equal(err.code, STRATA_EUSAGE);
	assert_int_equal(err.line, 2);
	assert_non_null(strstr(err.message, path));
	strata_error_release(&err);

	write_file(path, "X=\"unterminated\n");
	assert_int_equal(strata_dotenv_load(path, &err), -1);
	strata_error_release(&err);
	unlink(path);
	assert_int_equal(strata_dotenv_load(path, &err), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dotenv),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
