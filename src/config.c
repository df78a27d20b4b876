/*
 * strata.conf, read with inih: a [strata] section of defaults, one
 * [environment.NAME] section per environment (SPEC, Databases: the URL
 * comes from --database, else DATABASE_URL, else the active environment),
 * and a [lint] section of rule severities (RULE = error | warning | off).
 * Unknown sections and keys are errors naming the line, so a typo never
 * silently falls back to a default. Values are taken literally.
 */
#include "internal.h"

#include <errno.h>
#include <ini.h>
#include <sys/stat.h>

#define ENV_PREFIX "environment."

struct config_entry {
	char *env; /* NULL for [strata] and [lint] */
	char *key;
	char *value;
	bool is_lint; /* [lint]: key is a rule id, value a severity */
};

struct strata_config {
	char *path; /* NULL when no file was read */
	struct config_entry *entries;
	size_t n, alloc;
	char *problem; /* the first error seen by the handler */
};

static const char *const known_keys[] = {
	"database",          "source",       "table",
	"lock_wait",         "lock_timeout", "lock_probe",
	"statement_timeout", "retries",      "backup",
	"backup_dir",        "warn_after",   "progress_interval",
	"max_file_size",
};

static bool is_known_key(const char *key, bool is_main)
{
	if (is_main && strcmp(key, "environment") == 0)
		return true;
	for (size_t i = 0; i < ARRAY_SIZE(known_keys); i++)
		if (strcmp(known_keys[i], key) == 0)
			return true;
	return false;
}

static void add_entry(struct strata_config *c, const char *env, const char *key,
                      const char *value, bool is_lint)
{
	struct config_entry *e;

	XGROW(c->entries, c->alloc, c->n + 1);
	e = &c->entries[c->n++];
	e->env = env ? xstrdup(env) : NULL;
	e->key = xstrdup(key);
	e->value = xstrdup(value);
	e->is_lint = is_lint;
}

/* [lint] RULE = SEVERITY: both checked here, so a typo names its line. */
static int on_lint_entry(struct strata_config *c, const char *key,
                         const char *value)
{
	enum strata_severity sev;

	if (!strata_lint_rule_find(key)) {
		if (!c->problem)
			c->problem = xstrfmt(
			        "'%s' in [lint] is not a lint rule", key);
		return 0;
	}
	if (strata_severity_parse(&sev, value) < 0) {
		if (!c->problem)
			c->problem = xstrfmt(
			        "'%s' in [lint] wants error, warning or off, not '%s'",
			        key, value);
		return 0;
	}
	add_entry(c, NULL, key, value, true);
	return 1;
}

static int on_entry(void *user, const char *section, const char *key,
                    const char *value)
{
	struct strata_config *c = user;
	const char *env = NULL;

	if (strcmp(section, "lint") == 0)
		return on_lint_entry(c, key, value);
	if (strncmp(section, ENV_PREFIX, strlen(ENV_PREFIX)) == 0 &&
	    section[strlen(ENV_PREFIX)])
		env = section + strlen(ENV_PREFIX);
	else if (strcmp(section, "strata") != 0) {
		if (!c->problem)
			c->problem = xstrfmt(
			        "unknown section '[%s]' (use [strata], [environment.NAME] or [lint])",
			        section);
		return 0;
	}
	if (!is_known_key(key, !env)) {
		if (!c->problem)
			c->problem = xstrfmt("unknown key '%s' in [%s]", key,
			                     section);
		return 0;
	}
	add_entry(c, env, key, value, false);
	return 1;
}

int strata_config_load(struct strata_config **out, const char *path,
                       struct strata_error *err)
{
	struct strata_config *c = xcalloc(1, sizeof(*c));
	const char *file = path ? path : "strata.conf";
	struct stat st;
	int line;

	*out = NULL;
	if (!path && stat(file, &st) < 0 && errno == ENOENT) {
		*out = c; /* no file: an empty configuration */
		return 0;
	}
	c->path = xstrdup(file);
	line = ini_parse(file, on_entry, c);
	if (line < 0) {
		strata_error_set(err, STRATA_EUSAGE,
		                 "could not read configuration '%s': %s", file,
		                 strerror(errno ? errno : ENOENT));
		goto fail;
	}
	if (line > 0) {
		strata_error_set(err, STRATA_EUSAGE, "%s at '%s' line %d",
		                 c->problem ? c->problem
		                            : "not a KEY = VALUE line",
		                 file, line);
		err->file = xstrdup(file);
		err->line = line;
		strata_error_hint(
		        err,
		        "Keys: database, source, table, lock_wait, lock_timeout, lock_probe, statement_timeout, retries, backup, backup_dir, warn_after, progress_interval, max_file_size (and environment in [strata]); in [lint], RULE = error, warning or off.");
		goto fail;
	}
	*out = c;
	return 0;
fail:
	strata_config_free(c);
	return -1;
}

void strata_config_free(struct strata_config *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++) {
		free(c->entries[i].env);
		free(c->entries[i].key);
		free(c->entries[i].value);
	}
	free(c->entries);
	free(c->path);
	free(c->problem);
	free(c);
}

static const char *lookup(const struct strata_config *c, const char *env,
                          const char *key)
{
	const char *found = NULL;

	/* the last assignment wins, as in most INI readers */
	for (size_t i = 0; i < c->n; i++) {
		const struct config_entry *e = &c->entries[i];

		if (e->is_lint || strcmp(e->key, key) != 0)
			continue;
		if ((!env && !e->env) ||
		    (env && e->env && !strcmp(env, e->env)))
			found = e->value;
	}
	return found;
}

bool strata_config_has_environment(const struct strata_config *c,
                                   const char *env)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->entries[i].env && strcmp(c->entries[i].env, env) == 0)
			return true;
	return false;
}

const char *strata_config_get(const struct strata_config *c, const char *env,
                              const char *key)
{
	const char *v = env ? lookup(c, env, key) : NULL;

	return v ? v : lookup(c, NULL, key);
}

const char *strata_config_path(const struct strata_config *c)
{
	return c->path;
}

bool strata_config_lint_at(const struct strata_config *c, size_t i,
                           struct strata_lint_setting *out)
{
	for (size_t k = 0; k < c->n; k++) {
		const struct config_entry *e = &c->entries[k];

		if (!e->is_lint || i--)
			continue;
		out->rule = e->key;
		if (strata_severity_parse(&out->severity, e->value) < 0)
			BUG("a [lint] severity checked on load");
		return true;
	}
	return false;
}
