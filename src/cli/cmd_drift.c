/*
 * strata drift: is the database what its applied migrations make? One
 * library call (strata_drift_check()); this prints its differences, one
 * line per object, then the unified diff of the two dumps, or JSON. Exit
 * 0 when they agree, 4 when the database drifted (design.md, Exit codes).
 */
#include "cli.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

static const char usage[] =
        "[--shadow URL [--shadow-reset] | --shadow cluster] [--exclude PATTERN]... [--owners] [--privileges]";

static const char *state_name(enum strata_drift_state s)
{
	switch (s) {
	case STRATA_DRIFT_MISSING:
		return "missing";
	case STRATA_DRIFT_UNEXPECTED:
		return "unexpected";
	case STRATA_DRIFT_CHANGED:
		return "changed";
	}
	return "changed";
}

static const char *state_text(enum strata_drift_state s)
{
	switch (s) {
	case STRATA_DRIFT_MISSING:
		return "missing from the database";
	case STRATA_DRIFT_UNEXPECTED:
		return "unexpected: not made by the migrations";
	case STRATA_DRIFT_CHANGED:
		return "changed";
	}
	return "changed";
}

/* strata.conf's [drift] exclude, a list split at commas and spaces, added
 * to `l`; the copies go in `keep` to be freed. */
static char *conf_excludes(struct cli *cli, struct opt_strings *l)
{
	const char *v =
	        cli->settings ? config_get(cli->settings, NULL, "drift.exclude")
	                      : NULL;
	char *copy, *p;

	if (!v)
		return NULL;
	copy = strdup(v);
	if (!copy)
		abort();
	for (p = copy; *p;) {
		size_t skip = strspn(p, ", \t"), len;
		const char **nv;

		p += skip;
		len = strcspn(p, ", \t");
		if (!len)
			break;
		nv = realloc(l->v, (l->n + 1) * sizeof(*nv));
		if (!nv)
			abort();
		l->v = nv;
		l->v[l->n++] = p;
		p += len;
		if (*p)
			*p++ = '\0';
	}
	return copy;
}

static void print_json(const struct strata_drift *d)
{
	json_t *doc = json_object(), *items = json_array(),
	       *edited = json_array();

	for (size_t i = 0; i < d->n_items; i++) {
		const struct strata_drift_item *it = &d->items[i];
		json_t *o = json_object();

		json_object_set_new(o, "kind", cli_json_text(it->kind));
		json_object_set_new(o, "schema",
		                    it->schema ? cli_json_text(it->schema)
		                               : json_null());
		json_object_set_new(o, "name", cli_json_text(it->name));
		json_object_set_new(o, "state",
		                    json_string(state_name(it->state)));
		json_array_append_new(items, o);
	}
	for (size_t i = 0; i < d->n_edited; i++)
		json_array_append_new(edited, json_integer(d->edited[i]));
	json_object_set_new(doc, "drift", json_boolean(d->n_items > 0));
	json_object_set_new(doc, "differences", items);
	json_object_set_new(doc, "excluded",
	                    json_integer((json_int_t)d->n_excluded));
	json_object_set_new(doc, "applied_migrations",
	                    json_integer((json_int_t)d->n_applied));
	json_object_set_new(doc, "edited_migrations", edited);
	json_object_set_new(doc, "shadow", cli_json_text(d->shadow));
	json_object_set_new(doc, "diff", cli_json_text(d->diff));
	cli_print_json(doc);
}

static void print_text(struct cli *cli, const struct strata_drift *d)
{
	if (!d->n_items) {
		if (cli->verbosity >= 0)
			printf("No drift: the database is what its %zu applied migration%s make%s%s.\n",
			       d->n_applied, d->n_applied == 1 ? "" : "s",
			       d->n_applied == 1 ? "s" : "",
			       d->n_excluded ? " (excluded differences aside)"
			                     : "");
		return;
	}
	printf("Drift: %zu difference%s between the database and its %zu applied migration%s:\n",
	       d->n_items, d->n_items == 1 ? "" : "s", d->n_applied,
	       d->n_applied == 1 ? "" : "s");
	for (size_t i = 0; i < d->n_items; i++) {
		const struct strata_drift_item *it = &d->items[i];

		printf("  %-10s %s%s%s: %s\n", cli_safe(it->kind),
		       it->schema ? cli_safe(it->schema) : "",
		       it->schema ? "." : "", cli_safe(it->name),
		       state_text(it->state));
	}
	if (d->n_excluded)
		printf("(%zu more excluded.)\n", d->n_excluded);
	if (d->diff[0]) {
		printf("\n");
		fputs(cli_safe_lines(d->diff), stdout);
	}
}

int cmd_drift(struct cli *cli, int argc, char **argv)
{
	struct strata_drift_options o = STRATA_DRIFT_OPTIONS_INIT;
	struct strata_error err = STRATA_ERROR_INIT;
	struct strata_source *src = NULL;
	struct strata_db *db = NULL;
	struct strata_drift *d = NULL;
	struct opt_strings excludes = { 0 };
	const char *shadow = NULL;
	char *conf_copy = NULL;
	const struct opt opts[] = {
		{ 0, "shadow", OPT_STRING, &shadow, NULL, "URL|cluster",
		  "build on this database (emptied first), or 'cluster': a private throwaway cluster, instead of a temporary database" },
		{ 0, "shadow-reset", OPT_FLAG, &o.is_shadow_reset, NULL, NULL,
		  "empty the --shadow database even when it holds tables strata did not make" },
		{ 0, "exclude", OPT_STRINGS, &excludes, NULL, "PATTERN",
		  "ignore objects whose name matches (a glob: NAME, SCHEMA.NAME, KIND:NAME); repeatable" },
		{ 0, "owners", OPT_FLAG, &o.is_owners, NULL, NULL,
		  "compare who owns each object too" },
		{ 0, "privileges", OPT_FLAG, &o.is_privileges, NULL, NULL,
		  "compare GRANT and REVOKE too" },
		OPT_END,
	};
	int rc = cli_parse_options(cli, "drift", usage, opts, &argc, &argv);

	if (rc)
		goto done;
	if (argc) {
		rc = cli_usage_error(cli, "drift", "unexpected argument '%s'",
		                     argv[0]);
		goto done;
	}
	if (o.is_shadow_reset &&
	    (!shadow || !strcmp(shadow, STRATA_SHADOW_CLUSTER))) {
		rc = cli_usage_error(cli, "drift",
		                     "--shadow-reset needs --shadow URL");
		goto done;
	}
	conf_copy = conf_excludes(cli, &excludes);
	o.shadow_url = shadow;
	o.exclude = excludes.v;
	o.n_exclude = excludes.n;
	o.pg_bindir = cli_pg_bindir();
	cli->is_read_only = true;
	if ((rc = cli_load_source_and_open_db(cli, false, false, &src, &db)))
		goto done;
	if (strata_drift_check(&d, db, src, &o, &err) < 0) {
		rc = cli_error(cli, &err);
		goto done;
	}
	/* said before the comparison: it explains what follows */
	for (size_t i = 0; i < d->n_edited && cli->format != FORMAT_JSON; i++)
		cli_warn(
		        cli,
		        "migration %" PRId64
		        " changed after it was applied (its checksum differs from the recorded one): the shadow applied the file as it is now",
		        d->edited[i]);
	if (cli->format == FORMAT_JSON)
		print_json(d);
	else
		print_text(cli, d);
	rc = d->n_items ? EXIT_VALIDATE : EXIT_OK;
done:
	if (rc < 0)
		rc = 0; /* --help */
	strata_error_release(&err);
	strata_drift_free(d);
	strata_db_close(db);
	strata_source_free(src);
	free(excludes.v);
	free(conf_copy);
	return rc;
}
