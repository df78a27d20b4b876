/*
 * strata.conf, read with inih: a [strata] section of defaults and one
 * [environment.NAME] section per environment (SPEC, Databases: the URL
 * comes from --database, else DATABASE_URL, else the active environment).
 * Unknown sections and keys are errors naming the line, so a typo never
 * silently falls back to a default. Values are taken literally.
 */
#include "internal.h"

#include <errno.h>
#include <ini.h>
#include <sys/stat.h>

#define ENV_PREFIX "environment."

struct config_entry {
	char *env; /* NULL for [strata] */
	char *key;
	char *value;
};

struct strata_config {
	char *path; /* NULL when no file was read */
	struct config_entry *entries;
	size_t n, alloc;
	char *problem; /* the first error seen by the handler */
};

static const char *const known_keys[] = {
	"database", "source", "table", "lock_wait", "backup", "backup_dir",
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

static int on_entry(void *user, const char *section, const char *key,
                    const char *value)
{
	struct strata_config *c = user;
	const char *env = NULL;
	struct config_entry *e;

	if (strncmp(section, ENV_PREFIX, strlen(ENV_PREFIX)) == 0 &&
	    section[strlen(ENV_PREFIX)])
		env = section + strlen(ENV_PREFIX);
	else if (strcmp(section, "strata") != 0) {
		if (!c->problem)
			c->problem = xstrfmt(
			        "unknown section '[%s]' (use [strata] or [environment.NAME])",
			        section);
		return 0;
	}
	if (!is_known_key(key, !env)) {
		if (!c->problem)
			c->problem = xstrfmt("unknown key '%s' in [%s]", key,
			                     section);
		return 0;
	}
	XGROW(c->entries, c->alloc, c->n + 1);
	e = &c->entries[c->n++];
	e->env = env ? xstrdup(env) : NULL;
	e->key = xstrdup(key);
	e->value = xstrdup(value);
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
		        "Keys: database, source, table, lock_wait, backup, backup_dir (and environment in [strata]).");
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

		if (strcmp(e->key, key) != 0)
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
