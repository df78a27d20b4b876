/*
 * What only the command line reads, through its own modules: the .env
 * file (src/cli/dotenv.c) and strata.conf (src/cli/config.c).
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

#include "cli/cli.h"

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
	assert_int_equal(dotenv_load(path, &err), 0);
	assert_string_equal(getenv("STRATA_T_A"), "plain value");
	assert_string_equal(getenv("STRATA_T_B"), "single # kept");
	assert_string_equal(getenv("STRATA_T_C"), "double \"quoted\"\n");
	assert_string_equal(getenv("STRATA_T_D"), "postgres://u:p#w@h/d");
	assert_string_equal(getenv("STRATA_T_KEEP"), "from-env");

	write_file(path, "OK=1\nthis line is wrong\n");
	assert_int_equal(dotenv_load(path, &err), -1);
	assert_int_equal(err.code, STRATA_EUSAGE);
	assert_int_equal(err.line, 2);
	assert_non_null(strstr(err.message, path));
	strata_error_release(&err);

	write_file(path, "X=\"unterminated\n");
	assert_int_equal(dotenv_load(path, &err), -1);
	strata_error_release(&err);
	unlink(path);
	assert_int_equal(dotenv_load(path, &err), 0);
}

static void test_config(void **state)
{
	struct strata_error err = STRATA_ERROR_INIT;
	struct strata_lint_setting s;
	char path[] = "/tmp/strata-conf-XXXXXX";
	struct config *c = NULL;
	bool is_in_env = false;
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	write_file(path, "[strata]\n"
	                 "database = sqlite:dev.db\n"
	                 "lock_wait = 5s\n"
	                 "[environment.prod]\n"
	                 "database = postgres://db/prod\n"
	                 "[lint]\n"
	                 "ban-drop-column = warning\n");
	assert_int_equal(config_load(&c, path, &err), 0);
	assert_string_equal(config_path(c), path);
	assert_string_equal(config_get(c, NULL, "database"), "sqlite:dev.db");
	assert_string_equal(config_get(c, "prod", "database"),
	                    "postgres://db/prod");
	/* an environment falls back to [strata] */
	assert_string_equal(config_get(c, "prod", "lock_wait"), "5s");
	assert_int_equal(config_line(c, "prod", "database", &is_in_env), 5);
	assert_true(is_in_env);
	assert_true(config_has_environment(c, "prod"));
	assert_false(config_has_environment(c, "staging"));
	assert_string_equal(config_environment_at(c, 0), "prod");
	assert_null(config_environment_at(c, 1));
	assert_true(config_lint_at(c, 0, &s));
	assert_string_equal(s.rule, "ban-drop-column");
	assert_int_equal(s.severity, STRATA_SEVERITY_WARNING);
	assert_false(config_lint_at(c, 1, &s));
	config_free(c);

	/* a typo names its line, and the rule list is the command's */
	write_file(path, "[strata]\nlock_wiat = 5s\n");
	assert_int_equal(config_load(&c, path, &err), -1);
	assert_int_equal(err.code, STRATA_EUSAGE);
	assert_int_equal(err.line, 2);
	assert_non_null(strstr(err.message, "unknown key 'lock_wiat'"));
	strata_error_release(&err);
	write_file(path, "[lint]\nno-such-rule = error\n");
	assert_int_equal(config_load(&c, path, &err), -1);
	assert_non_null(strstr(err.hint, "strata lint --list-rules"));
	strata_error_release(&err);
	unlink(path);
	/* a file named must exist; ./strata.conf need not */
	assert_int_equal(config_load(&c, path, &err), -1);
	strata_error_release(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dotenv),
		cmocka_unit_test(test_config),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
