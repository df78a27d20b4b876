/*
 * URLs (src/engine/url.c): driver selection, SQLite paths and modes, and
 * that no form of password survives redaction.
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
#include "engine/url.h"

static void assert_redacts(const char *url, const char *want)
{
	char *got = strata_url_redact(url);

	assert_string_equal(got, want);
	assert_null(strstr(got, "s3cr3t"));
	free(got);
}

static void test_redact_urls(void **state)
{
	(void)state;
	assert_redacts("postgres://app:s3cr3t@db.example.com:5432/prod",
	               "postgres://app:***@db.example.com:5432/prod");
	assert_redacts("postgresql://app@db/prod", "postgresql://app@db/prod");
	assert_redacts("postgres://app:s3cr3t@db/prod?sslmode=require",
	               "postgres://app:***@db/prod?sslmode=require");
	assert_redacts(
	        "postgres:///prod?user=app&password=s3cr3t&sslmode=verify-full",
	        "postgres:///prod?user=app&password=***&sslmode=verify-full");
	/* an '@' inside the password (not percent-encoded) */
	assert_redacts("postgres://app:s3cr3t@x@db/prod",
	               "postgres://app:***@db/prod");
	assert_redacts("sqlite:app.db", "sqlite:app.db");
	/* a query string does not make a SQLite URL a keyword string */
	assert_redacts("sqlite:/x.db?mode=rw", "sqlite:/x.db?mode=rw");
}

static void test_redact_keywords(void **state)
{
	char *got;

	(void)state;
	got = strata_url_redact("host=db dbname=prod password=s3cr3t user=app");
	assert_non_null(strstr(got, "password=***"));
	assert_non_null(strstr(got, "dbname=prod"));
	assert_null(strstr(got, "s3cr3t"));
	free(got);
	got = strata_url_redact("host=db password='s3cr3t with space'");
	assert_null(strstr(got, "s3cr3t"));
	free(got);
}

/* What libpq takes for the password, wherever it reads it from. */
static void test_redact_as_libpq_reads(void **state)
{
	struct strata_error err = STRATA_ERROR_INIT;
	struct strata_url u;
	char *got;

	(void)state;
	/* the user and password run to the first '@' before any '/' */
	assert_redacts("postgres://app:s3cr3t#1@db/prod",
	               "postgres://app:***@db/prod");
	assert_redacts("postgres://app:s3cr3t?1@db/prod",
	               "postgres://app:***@db/prod");
	assert_redacts("postgres://app?:s3cr3t@db", "postgres://app?:***@db");
	/* parameters split at '&' alone, their names percent-decoded */
	assert_redacts("postgres://db/prod?password=s3cr3t#1&sslmode=require",
	               "postgres://db/prod?password=***&sslmode=require");
	assert_redacts("postgres://db/prod?pass%77ord=s3cr3t",
	               "postgres://db/prod?pass%77ord=***");
	/* a '?' inside a host's brackets starts no parameters */
	assert_redacts("postgres://[a?b]:5/?password=s3cr3t",
	               "postgres://[a?b]:5/?password=***");
	/* another scheme, or no scheme at all, the same */
	assert_redacts("postgresql+psycopg2://app:s3cr3t@db/prod",
	               "postgresql+psycopg2://app:***@db/prod");
	assert_redacts(" postgres://app:s3cr3t@db", " postgres://app:***@db");
	/* keywords whose values hold "://" are keywords still */
	got = strata_url_redact(
	        "host=db password=s3cr3t application_name=a://b");
	assert_string_equal(got, "password=*** host=db application_name=a://b");
	free(got);
	assert_redacts("x=1 password=s3cr3t junk=a://b@c",
	               "(unparsable connection string)");
	assert_int_equal(
	        url_parse(&u, "host=db password=s3cr3t application_name=a://b",
	                  &err),
	        0);
	assert_int_equal(u.kind, URL_POSTGRES);
	url_release(&u);
	/* libpq's message quotes its input: not shown with a password */
	assert_int_equal(
	        url_parse(&u, "postgres://db/x?pass%77ord=s3cr3t%zz", &err),
	        -1);
	assert_null(strstr(err.message, "s3cr3t"));
	assert_null(err.detail);
	url_release(&u);
	strata_error_release(&err);
}

static void test_parse_kinds(void **state)
{
	struct strata_error err = STRATA_ERROR_INIT;
	struct strata_url u;

	(void)state;
	assert_int_equal(url_parse(&u, "postgres://a@b/c", &err), 0);
	assert_int_equal(u.kind, URL_POSTGRES);
	url_release(&u);
	assert_int_equal(url_parse(&u, "host=/tmp dbname=x", &err), 0);
	assert_int_equal(u.kind, URL_POSTGRES);
	url_release(&u);
	assert_int_equal(url_parse(&u, "sqlite:data/app.db", &err), 0);
	assert_int_equal(u.kind, URL_SQLITE);
	assert_string_equal(u.path, "data/app.db");
	assert_true(u.is_create);
	url_release(&u);
	assert_int_equal(
	        url_parse(&u, "sqlite:///var/lib/app.db?mode=ro", &err), 0);
	assert_string_equal(u.path, "/var/lib/app.db");
	assert_true(u.is_readonly);
	assert_false(u.is_create);
	url_release(&u);
	assert_int_equal(url_parse(&u, "sqlite::memory:", &err), 0);
	assert_true(u.is_memory);
	url_release(&u);
}

static void test_parse_errors(void **state)
{
	struct strata_error err = STRATA_ERROR_INIT;
	struct strata_url u;

	(void)state;
	assert_int_equal(url_parse(&u, "mysql://root:s3cr3t@db/x", &err), -1);
	assert_int_equal(err.code, STRATA_EUSAGE);
	assert_null(strstr(err.message, "s3cr3t"));
	assert_non_null(strstr(err.message, "mysql://root:***@db/x"));
	url_release(&u);
	strata_error_release(&err);
	assert_int_equal(url_parse(&u, "sqlite:", &err), -1);
	url_release(&u);
	strata_error_release(&err);
	assert_int_equal(url_parse(&u, "sqlite:x.db?mode=weird", &err), -1);
	assert_non_null(strstr(err.message, "mode=weird"));
	url_release(&u);
	strata_error_release(&err);
	assert_int_equal(
	        url_parse(&u, "postgres://a:s3cr3t@b/c?nosuchparam=1", &err),
	        -1);
	assert_null(strstr(err.message, "s3cr3t"));
	assert_true(!err.detail || !strstr(err.detail, "s3cr3t"));
	url_release(&u);
	strata_error_release(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_redact_urls),
		cmocka_unit_test(test_redact_keywords),
		cmocka_unit_test(test_redact_as_libpq_reads),
		cmocka_unit_test(test_parse_kinds),
		cmocka_unit_test(test_parse_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
