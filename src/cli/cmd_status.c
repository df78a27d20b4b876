/*
 * strata status (alias info): every migration with its state, as a table
 * or as JSON.
 */
#include "cli.h"

#include <inttypes.h>
#include <string.h>

#include "util/banned.h"

static const char usage[] = "[options]";

static void hex(char *out, const unsigned char *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
}

json_t *cli_json_status_entry(const struct strata_status_entry *e)
{
	json_t *o = json_object();
	char sum[2 * STRATA_CHECKSUM_LEN + 1];

	json_object_set_new(o, "version", json_integer(e->version));
	json_object_set_new(o, "description", cli_json_text(e->description));
	json_object_set_new(o, "state",
	                    json_string(strata_state_name(e->state)));
	json_object_set_new(o, "file",
	                    e->migration ? cli_json_text(e->migration->up_path)
	                                 : json_null());
	json_object_set_new(o, "down_file",
	                    e->migration && e->migration->down_path
	                            ? cli_json_text(e->migration->down_path)
	                            : json_null());
	json_object_set_new(o, "installed_on",
	                    e->is_recorded ? cli_json_text(e->installed_on)
	                                   : json_null());
	json_object_set_new(o, "execution_time_ns",
	                    e->is_recorded ? json_integer(e->execution_time_ns)
	                                   : json_null());
	if (e->migration) {
		hex(sum, e->migration->checksum, STRATA_CHECKSUM_LEN);
		json_object_set_new(o, "checksum", json_string(sum));
	} else {
		json_object_set_new(o, "checksum", json_null());
	}
	/* another tool's row strata never saw has no checksum */
	if (e->is_recorded && e->recorded_checksum_len) {
		hex(sum, e->recorded_checksum, e->recorded_checksum_len);
		json_object_set_new(o, "applied_checksum", json_string(sum));
	} else {
		json_object_set_new(o, "applied_checksum", json_null());
	}
	json_object_set_new(o, "applied_by",
	                    e->applied_by ? cli_json_text(e->applied_by)
	                                  : json_null());
	if (e->state == STRATA_STATE_CHECKSUM_MISMATCH)
		json_object_set_new(o, "whitespace_only_change",
		                    json_boolean(e->is_whitespace_only_change));
	/* as the layout writes it: diesel's text, not the number that
	 * orders it */
	json_object_set_new(o, "version_text", cli_json_text(e->version_text));
	return o;
}

static const char *state_color(enum strata_state s)
{
	switch (s) {
	case STRATA_STATE_APPLIED:
		return "32";
	case STRATA_STATE_PENDING:
	case STRATA_STATE_OUT_OF_ORDER:
		return "33";
	default:
		return "31";
	}
}

/* fputs() for a caller that holds stdout's lock (flockfile()). */
static void put_str(const char *s)
{
	while (*s)
		putchar_unlocked(*s++);
}

/* `s` left-aligned in `width` columns, then a space (as "%-*s "), likewise. */
static void put_column(const char *s, size_t width)
{
	size_t n = strlen(s);

	put_str(s);
	for (; n < width; n++)
		putchar_unlocked(' ');
	putchar_unlocked(' ');
}

/*
 * By hand rather than one printf() per row, and with stdout locked once:
 * on 10,000 migrations the formatting was a fifth of status.
 */
static void print_text(struct cli *cli, const struct strata_status *st)
{
	int width = 16; /* a timestamp version; diesel's may be 18 digits */

	for (size_t i = 0; i < st->count; i++)
		if (strlen(st->entries[i].version_text) > (size_t)width)
			width = (int)strlen(st->entries[i].version_text);
	flockfile(stdout);
	printf("%-*s %-18s %-20s %-10s %-16s %s\n", width, "VERSION", "STATE",
	       "INSTALLED ON", "DURATION", "BY", "DESCRIPTION");
	for (size_t i = 0; i < st->count; i++) {
		const struct strata_status_entry *e = &st->entries[i];
		/* a Flyway repeatable's version is its name */
		char when[20] = "-", dur[32] = "-", version[256];

		if (e->is_recorded && strlen(e->installed_on) >= 19) {
			memcpy(when, e->installed_on, 19);
			when[10] = ' ';
			when[19] = '\0';
		}
		if (e->is_recorded)
			cli_format_duration(dur, sizeof(dur),
			                    e->execution_time_ns);
		snprintf(version, sizeof(version), "%s", e->version_text);
		put_column(version, (size_t)width);
		put_str(cli_color(cli, false, state_color(e->state)));
		put_str(strata_state_name(e->state));
		for (size_t n = strlen(strata_state_name(e->state)); n < 18;
		     n++)
			putchar_unlocked(' ');
		put_str(cli_color(cli, false, NULL));
		putchar_unlocked(' ');
		put_column(when, 20);
		put_column(dur, 10);
		put_column(e->applied_by ? cli_safe(e->applied_by) : "-", 16);
		put_str(cli_safe(e->description));
		putchar_unlocked('\n');
		if (e->state == STRATA_STATE_CHECKSUM_MISMATCH &&
		    e->is_whitespace_only_change)
			printf("%-*s   (only line endings or a byte-order mark differ)\n",
			       width, "");
	}
	printf("\n%zu applied, %zu pending", st->n_applied, st->n_pending);
	if (st->n_failed)
		printf(", %zu failed", st->n_failed);
	if (st->n_mismatch)
		printf(", %zu changed after applying", st->n_mismatch);
	if (st->n_missing)
		printf(", %zu missing from the source", st->n_missing);
	printf(".\n");
	funlockfile(stdout);
}

int cmd_status(struct cli *cli, int argc, char **argv)
{
	struct strata_error err = STRATA_ERROR_INIT;
	struct strata_source *src = NULL;
	struct strata_status *st = NULL;
	struct strata_db *db = NULL;
	const struct opt opts[] = { OPT_END };
	int rc = cli_parse_options(cli, argv[0], usage, opts, &argc, &argv);

	if (rc)
		return rc < 0 ? 0 : rc;
	if (argc)
		return cli_usage_error(cli, "status",
		                       "unexpected argument '%s'", argv[0]);
	if ((rc = cli_read_status(cli, true, &src, &db, &st)))
		goto done;
	if (cli->format == FORMAT_JSON) {
		json_t *doc = json_object(), *list = json_array();
		json_t *sum = json_object();

		for (size_t i = 0; i < st->count; i++)
			json_array_append_new(
			        list, cli_json_status_entry(&st->entries[i]));
		cli_json_counts(sum, st);
		json_object_set_new(doc, "migrations", list);
		json_object_set_new(doc, "summary", sum);
		cli_print_json(doc);
	} else {
		print_text(cli, st);
	}
done:
	strata_error_release(&err);
	strata_status_free(st);
	strata_db_close(db);
	strata_source_free(src);
	return rc;
}
