/*
 * The schema dump's normalisation, without a server (src/backup/schema.c):
 * pg_dump's plain output cut into entries and written back without what
 * differs between two dumps of one schema.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "util/common.h"
#include "util/sbuf.h"
#include "backup/schema.h"

/* pg_dump 15.14 and newer: \restrict with a random key, then the rest. */
static const char raw[] =
        "--\n"
        "-- PostgreSQL database dump\n"
        "--\n"
        "\n"
        "\\restrict Pq0WoFLXALsviztIsKNRGIfsaFyG7B5xNDSJ\n"
        "\n"
        "-- Dumped from database version 15.20\n"
        "-- Dumped by pg_dump version 15.20\n"
        "\n"
        "SET statement_timeout = 0;\n"
        "SELECT pg_catalog.set_config('search_path', '', false);\n"
        "SET check_function_bodies = false;\n"
        "\n"
        "--\n"
        "-- Name: f(); Type: FUNCTION; Schema: public; Owner: -\n"
        "--\n"
        "\n"
        "CREATE FUNCTION public.f() RETURNS void\n"
        "    LANGUAGE plpgsql\n"
        "    AS $$BEGIN\n"
        "SET LOCAL work_mem = '1MB';\n"
        "END$$;\n"
        "\n"
        "\n"
        "SET default_tablespace = '';\n"
        "\n"
        "SET default_table_access_method = heap;\n"
        "\n"
        "--\n"
        "-- Name: a; b; Type: TABLE; Schema: public; Owner: -\n"
        "--\n"
        "\n"
        "CREATE TABLE public.\"a; b\" (\n"
        "    id integer\n"
        ");\n"
        "\n"
        "\n"
        "--\n"
        "-- PostgreSQL database dump complete\n"
        "--\n"
        "\n"
        "\\unrestrict Pq0WoFLXALsviztIsKNRGIfsaFyG7B5xNDSJ\n"
        "\n";

static const char normalised[] =
        "--\n"
        "-- Name: f(); Type: FUNCTION; Schema: public; Owner: -\n"
        "--\n"
        "\n"
        "CREATE FUNCTION public.f() RETURNS void\n"
        "    LANGUAGE plpgsql\n"
        "    AS $$BEGIN\n"
        "SET LOCAL work_mem = '1MB';\n"
        "END$$;\n"
        "\n"
        "\n"
        "--\n"
        "-- Name: a; b; Type: TABLE; Schema: public; Owner: -\n"
        "--\n"
        "\n"
        "CREATE TABLE public.\"a; b\" (\n"
        "    id integer\n"
        ");\n";

static void test_normalise(void **state)
{
	struct schema_entries e;
	struct sbuf out = SBUF_INIT;

	(void)state;
	schema_parse(&e, raw);
	assert_int_equal(e.n, 2);
	assert_string_equal(e.v[0].name, "f()");
	assert_string_equal(e.v[0].type, "FUNCTION");
	assert_string_equal(e.v[0].schema, "public");
	/* a name holding "; " is read from the right */
	assert_string_equal(e.v[1].name, "a; b");
	assert_string_equal(e.v[1].type, "TABLE");
	assert_string_equal(e.v[1].owner, "-");
	schema_format(&out, &e);
	assert_string_equal(out.buf, normalised);
	schema_entries_release(&e);

	/* a dump of ours reads back to itself */
	sbuf_reset(&out);
	schema_parse(&e, normalised);
	schema_format(&out, &e);
	assert_string_equal(out.buf, normalised);
	schema_entries_release(&e);
	sbuf_release(&out);
}

static void test_empty(void **state)
{
	struct schema_entries e;
	struct sbuf out = SBUF_INIT;

	(void)state;
	schema_parse(&e, "--\n-- PostgreSQL database dump\n--\n\nSET x = 1;\n");
	assert_int_equal(e.n, 0);
	schema_format(&out, &e);
	assert_string_equal(out.buf, "");
	schema_entries_release(&e);
	sbuf_release(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_normalise),
		cmocka_unit_test(test_empty),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
