/*
 * strata.conf, read with inih: a [strata] section of defaults, one
 * [environment.NAME] section per environment (design.md, Databases: the URL
 * comes from --database, else DATABASE_URL, else the active environment),
 * and a [lint] section of rule severities (RULE = error | warning | off).
 * Unknown sections and keys are errors naming the line, so a typo never
 * silently falls back to a default. Values are taken literally.
 */
#include "util/common.h"
#include "util/xalloc.h"
#include "util/sbuf.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <sys/stat.h>

#define ENV_PREFIX "environment."

struct config_entry {
	char *env; /* NULL for [strata] and [lint] */
	char *key;
	char *value;
	int line;
	bool is_lint; /* [lint]: key is a rule id, value a severity */
};

struct strata_config {
	char *path; /* NULL when no file was read */
	struct config_entry *entries;
	size_t n, alloc;
	char **envs; /* every [environment.NAME] header, keys or not */
	size_t n_envs, envs_alloc;
	/* the first error, from the handler or the line reader */
	char *problem, *problem_hint;
	int problem_line;
	FILE *fp;
	int line; /* being read: inih counts one per read, so do we */
};

static const char *const known_keys[] = {
	"database",
	"source",
	"table",
	"lock_wait",
	"lock_timeout",
	"lock_probe",
	"statement_timeout",
	"retries",
	"backup",
	"backup_dir",
	"warn_after",
	"progress_interval",
	"connect_timeout",
	"concurrent_lock_timeout",
	"max_file_size",
};

/* What the key table holds, for the hint that lists it. */
static char *keys_hint(void)
{
	struct sbuf sb = SBUF_INIT;

	sbuf_adds(&sb, "Keys: ");
	for (size_t i = 0; i < ARRAY_SIZE(known_keys); i++)
		sbuf_addf(&sb, "%s%s", i ? ", " : "", known_keys[i]);
	sbuf_adds(
	        &sb,
	        " (and environment in [strata]); in [lint], RULE = error, warning or off.");
	return sbuf_detach(&sb, NULL);
}

/* The first problem wins: it is the one on the earliest line. */
static void set_problem(struct strata_config *c, char *msg, char *hint)
{
	if (c->problem) {
		free(msg);
		free(hint);
		return;
	}
	c->problem = msg;
	c->problem_hint = hint;
	c->problem_line = c->line;
}

static bool is_known_key(const char *key, bool is_main)
{
	if (is_main && strcmp(key, "environment") == 0)
		return true;
	if (strcmp(key, "concurrent_lock_timeout") == 0)
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
	e->line = c->line;
	e->is_lint = is_lint;
}

/* [lint] RULE = SEVERITY: both checked here, so a typo names its line. */
static int on_lint_entry(struct strata_config *c, const char *key,
                         const char *value)
{
	enum strata_severity sev;

	if (!strata_lint_rule_find(key)) {
		set_problem(c,
		            xstrfmt("'%s' in [lint] is not a lint rule", key),
		            xstrdup("'strata lint --list-rules' lists them."));
		return 0;
	}
	if (strata_severity_parse(&sev, value) < 0) {
		set_problem(
		        c,
		        xstrfmt("'%s' in [lint] wants error, warning or off, not '%s'",
		                key, value),
		        NULL);
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
		set_problem(
		        c,
		        *section
		                ? xstrfmt("unknown section '[%s]' (use [strata], [environment.NAME] or [lint])",
		                          section)
		                : xstrfmt("'%s' is in no section (use [strata], [environment.NAME] or [lint])",
		                          key),
		        NULL);
		return 0;
	}
	if (!is_known_key(key, !env)) {
		set_problem(c,
		            xstrfmt("unknown key '%s' in [%s]", key, section),
		            keys_hint());
		return 0;
	}
	add_entry(c, env, key, value, false);
	return 1;
}

/*
 * What inih passes over without a word to the handler: section headers,
 * and the line an error is found on. A header not closed is said so here
 * (inih would report it as a line of an unnamed section).
 */
static void look_at_line(struct strata_config *c, const char *line)
{
	const char *p = line, *end;
	size_t n;

	if (c->line == 1 && !strncmp(p, "\xEF\xBB\xBF", 3))
		p += 3; /* a byte-order mark, which inih passes over too */
	if (*p != '[')
		return; /* indented: a value's continuation, as inih reads it */
	end = strchr(p, ']');
	if (!end) {
		n = strcspn(p, "\r\n");
		while (n && isspace((unsigned char)p[n - 1]))
			n--;
		set_problem(
		        c,
		        xstrfmt("the section header '%.*s' is not closed",
		                (int)n, p),
		        xstrdup("End it with ']', as in [strata] or [environment.production]."));
		return;
	}
	n = strlen(ENV_PREFIX);
	if ((size_t)(end - p - 1) > n && strncmp(p + 1, ENV_PREFIX, n) == 0) {
		XGROW(c->envs, c->envs_alloc, c->n_envs + 1);
		c->envs[c->n_envs++] =
		        xstrndup(p + 1 + n, (size_t)(end - p - 1) - n);
	}
}

/* inih's reader (fgets), counting what it reads: the handler's line. */
static char *read_line(char *str, int num, void *stream)
{
	struct strata_config *c = stream;
	char *s = fgets(str, num, c->fp);

	if (s) {
		c->line++;
		look_at_line(c, s);
	}
	return s;
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
	c->fp = fopen(file, "r");
	if (!c->fp) {
		strata_error_set(err, STRATA_EUSAGE,
		                 "could not read configuration '%s': %s", file,
		                 strerror(errno));
		goto fail;
	}
	line = ini_parse_stream(read_line, c, on_entry, c);
	if (line < 0 || ferror(c->fp)) {
		strata_error_set(err, STRATA_EUSAGE,
		                 "could not read configuration '%s': %s", file,
		                 strerror(line < 0 ? ENOMEM : EIO));
		goto fail;
	}
	if (line > 0) {
		/* inih's line is the first error: the handler's, or a line
		 * it could not read */
		bool is_ours = c->problem && c->problem_line == line;

		strata_error_set(err, STRATA_EUSAGE, "%s at '%s' line %d",
		                 is_ours ? c->problem
		                         : "not a KEY = VALUE line",
		                 file, line);
		err->file = xstrdup(file);
		err->line = line;
		if (is_ours && c->problem_hint)
			strata_error_hint(err, "%s", c->problem_hint);
		else if (!is_ours) {
			char *hint = keys_hint();

			strata_error_hint(err, "%s", hint);
			free(hint);
		}
		goto fail;
	}
	fclose(c->fp);
	c->fp = NULL;
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
	for (size_t i = 0; i < c->n_envs; i++)
		free(c->envs[i]);
	free(c->envs);
	free(c->entries);
	free(c->path);
	free(c->problem);
	free(c->problem_hint);
	if (c->fp)
		fclose(c->fp);
	free(c);
}

static const struct config_entry *lookup_entry(const struct strata_config *c,
                                               const char *env, const char *key)
{
	const struct config_entry *found = NULL;

	/* the last assignment wins, as in most INI readers */
	for (size_t i = 0; i < c->n; i++) {
		const struct config_entry *e = &c->entries[i];

		if (e->is_lint || strcmp(e->key, key) != 0)
			continue;
		if ((!env && !e->env) ||
		    (env && e->env && !strcmp(env, e->env)))
			found = e;
	}
	return found;
}

static const char *lookup(const struct strata_config *c, const char *env,
                          const char *key)
{
	const struct config_entry *e = lookup_entry(c, env, key);

	return e ? e->value : NULL;
}

bool strata_config_has_environment(const struct strata_config *c,
                                   const char *env)
{
	for (size_t i = 0; i < c->n_envs; i++)
		if (strcmp(c->envs[i], env) == 0)
			return true;
	return false;
}

const char *strata_config_environment_at(const struct strata_config *c,
                                         size_t i)
{
	/* a section may come twice: each name once, in the file's order */
	for (size_t k = 0; k < c->n_envs; k++) {
		bool is_repeat = false;

		for (size_t j = 0; j < k && !is_repeat; j++)
			is_repeat = !strcmp(c->envs[j], c->envs[k]);
		if (!is_repeat && !i--)
			return c->envs[k];
	}
	return NULL;
}

int strata_config_line(const struct strata_config *c, const char *env,
                       const char *key, bool *is_in_env)
{
	const struct config_entry *e = env ? lookup_entry(c, env, key) : NULL;

	if (is_in_env)
		*is_in_env = e != NULL;
	if (!e)
		e = lookup_entry(c, NULL, key);
	return e ? e->line : 0;
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
