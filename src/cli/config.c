/*
 * strata.conf, read with inih: a [strata] section of defaults, one
 * [environment.NAME] section per environment (design.md, Databases: the URL
 * comes from --database, else DATABASE_URL, else the active environment),
 * and a [lint] section of rule severities (RULE = error | warning | off)
 * and the table sizes that grade findings against a database.
 * Unknown sections and keys are errors naming the line, so a typo never
 * silently falls back to a default. Values are taken literally.
 */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/banned.h"

#define ENV_PREFIX "environment."

/* Out of memory ends the command line, as everywhere in it. */
static void *checked(void *p)
{
	if (!p)
		abort();
	return p;
}

static char *copy_n(const char *s, size_t n)
{
	char *d = checked(malloc(n + 1));

	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

static char *copy(const char *s)
{
	return copy_n(s, strlen(s));
}

static char *format(const char *fmt, ...) STRATA_PRINTF(1, 2);
static char *format(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	s = checked(malloc((size_t)n + 1));
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return s;
}

/* Room for `n` items of `size` in `*items`, which holds `*alloc`. */
static void grow(void *items, size_t *alloc, size_t n, size_t size)
{
	void **p = items;

	if (n <= *alloc)
		return;
	*alloc = *alloc * 2 > n ? *alloc * 2 : n + 8;
	*p = checked(realloc(*p, *alloc * size));
}

struct config_entry {
	char *env; /* NULL for [strata] and [lint] */
	char *key;
	char *value;
	int line;
	bool is_lint; /* [lint]: key is a rule id, value a severity */
	char *fleet;  /* [fleet.NAME]: NAME; NULL elsewhere */
};

struct config {
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
	"layout",
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
	"seeds",
	"allow_seed",
	"verify",
	"dump_schema",
	"replica",
};

/* What the key table holds, for the hint that lists it. */
static char *keys_hint(void)
{
	char keys[1024];
	size_t len = 0;

	for (size_t i = 0; i < sizeof(known_keys) / sizeof(known_keys[0]); i++)
		len += (size_t)snprintf(keys + len, sizeof(keys) - len, "%s%s",
		                        i ? ", " : "", known_keys[i]);
	return format(
	        "Keys: %s (and environment in [strata]); in [lint], RULE = error, warning or off, and big_table_rows, big_table_size, small_table_rows, small_table_size.",
	        keys);
}

/* The first problem wins: it is the one on the earliest line. */
static void set_problem(struct config *c, char *msg, char *hint)
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
	for (size_t i = 0; i < sizeof(known_keys) / sizeof(known_keys[0]); i++)
		if (strcmp(known_keys[i], key) == 0)
			return true;
	return false;
}

static void add_entry(struct config *c, const char *env, const char *key,
                      const char *value, bool is_lint)
{
	struct config_entry *e;

	grow(&c->entries, &c->alloc, c->n + 1, sizeof(*c->entries));
	e = &c->entries[c->n++];
	e->env = env ? copy(env) : NULL;
	e->key = copy(key);
	e->value = copy(value);
	e->line = c->line;
	e->is_lint = is_lint;
	e->fleet = NULL;
}

/* [lint] keys that are not rules: the sizes of a big and a small table. */
static const char *const lint_keys[] = {
	"big_table_rows",
	"big_table_size",
	"small_table_rows",
	"small_table_size",
};

bool config_is_lint_key(const char *key)
{
	for (size_t i = 0; i < sizeof(lint_keys) / sizeof(lint_keys[0]); i++)
		if (strcmp(lint_keys[i], key) == 0)
			return true;
	return false;
}

/* A count of rows: a whole number above 0, '_' between digits allowed. */
int config_parse_rows(int64_t *out, const char *text)
{
	int64_t v = 0;
	bool has_digit = false;

	for (const char *p = text; *p; p++) {
		if (*p == '_' && has_digit && p[1] >= '0' && p[1] <= '9')
			continue;
		if (*p < '0' || *p > '9' || v > (INT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (*p - '0');
		has_digit = true;
	}
	if (!has_digit || v <= 0)
		return -1;
	*out = v;
	return 0;
}

/* A table's size in postgresql.conf's units: B, kB, MB, GB, TB (1024). */
int config_parse_table_size(int64_t *out, const char *text)
{
	static const char *const units[] = { "B", "kB", "MB", "GB", "TB" };
	const char *p = text;
	int64_t v = 0;

	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (INT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (*p - '0');
	}
	while (*p == ' ')
		p++;
	if (*p) {
		size_t u = 0;

		while (u < sizeof(units) / sizeof(units[0]) &&
		       strcmp(p, units[u]) != 0)
			u++;
		if (u == sizeof(units) / sizeof(units[0]))
			return -1;
		for (; u > 0; u--) {
			if (v > INT64_MAX / 1024)
				return -1;
			v *= 1024;
		}
	}
	if (v <= 0)
		return -1;
	*out = v;
	return 0;
}

static int on_lint_size_entry(struct config *c, const char *key,
                              const char *value)
{
	int64_t v;
	bool is_rows = strstr(key, "_rows") != NULL;

	if (is_rows ? config_parse_rows(&v, value) < 0
	            : config_parse_table_size(&v, value) < 0) {
		set_problem(c,
		            format("'%s' in [lint] wants %s, not '%s'", key,
		                   is_rows ? "a number of rows such as 1000000"
		                           : "a size such as 100MB or 1GB",
		                   value),
		            NULL);
		return 0;
	}
	add_entry(c, NULL, key, value, false);
	return 1;
}

/* [lint] RULE = SEVERITY: both checked here, so a typo names its line. */
static int on_lint_entry(struct config *c, const char *key, const char *value)
{
	enum strata_severity sev;

	if (config_is_lint_key(key))
		return on_lint_size_entry(c, key, value);
	if (!strata_lint_rule_find(key)) {
		set_problem(
		        c, format("'%s' in [lint] is not a lint rule", key),
		        copy("'strata lint --list-rules' lists them; the other keys of [lint] are big_table_rows, big_table_size, small_table_rows and small_table_size."));
		return 0;
	}
	if (strata_severity_parse(&sev, value) < 0) {
		set_problem(
		        c,
		        format("'%s' in [lint] wants error, warning or off, not '%s'",
		               key, value),
		        NULL);
		return 0;
	}
	add_entry(c, NULL, key, value, true);
	return 1;
}

/* [fleet.NAME]: what --fleet NAME stands for (design.md, Fleets). */
static const char *const fleet_keys[] = {
	"targets", "targets_query", "schemas", "jobs", "fail_fast", "canary"
};

static int on_fleet_entry(struct config *c, const char *fleet, const char *key,
                          const char *value)
{
	bool is_known = false;

	for (size_t i = 0; i < sizeof(fleet_keys) / sizeof(fleet_keys[0]); i++)
		is_known = is_known || !strcmp(fleet_keys[i], key);
	if (!is_known) {
		set_problem(
		        c, format("unknown key '%s' in [fleet.%s]", key, fleet),
		        copy("A fleet's keys: targets (a file), targets_query (SQL), schemas (a LIKE pattern), jobs, fail_fast, canary."));
		return 0;
	}
	add_entry(c, NULL, key, value, false);
	c->entries[c->n - 1].fleet = copy(fleet);
	return 1;
}

const char *config_fleet_get(const struct config *c, const char *fleet,
                             const char *key)
{
	const char *found = NULL;

	for (size_t i = 0; i < c->n; i++)
		if (c->entries[i].fleet &&
		    !strcmp(c->entries[i].fleet, fleet) &&
		    !strcmp(c->entries[i].key, key))
			found = c->entries[i].value;
	return found;
}

bool config_has_fleet(const struct config *c, const char *fleet)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->entries[i].fleet && !strcmp(c->entries[i].fleet, fleet))
			return true;
	return false;
}

/* [drift] exclude = PATTERN, PATTERN: repeated lines add to the list. */
static int on_drift_entry(struct config *c, const char *key, const char *value)
{
	if (strcmp(key, "exclude") != 0) {
		set_problem(
		        c, format("unknown key '%s' in [drift]", key),
		        copy("[drift] takes exclude = PATTERN, PATTERN, ... (globs on object names)."));
		return 0;
	}
	for (size_t i = 0; i < c->n; i++) {
		struct config_entry *e = &c->entries[i];

		if (!e->env && !strcmp(e->key, "drift.exclude")) {
			char *both = format("%s, %s", e->value, value);

			free(e->value);
			e->value = both;
			return 1;
		}
	}
	add_entry(c, NULL, "drift.exclude", value, false);
	return 1;
}

static int on_entry(void *user, const char *section, const char *key,
                    const char *value)
{
	struct config *c = user;
	const char *env = NULL;

	if (strcmp(section, "lint") == 0)
		return on_lint_entry(c, key, value);
	if (!strncmp(section, "fleet.", 6) && section[6])
		return on_fleet_entry(c, section + 6, key, value);
	if (strcmp(section, "drift") == 0)
		return on_drift_entry(c, key, value);
	/* Flyway's flyway.placeholders.NAME: any name, as written */
	if (strcmp(section, "placeholders") == 0) {
		char *k = format("placeholder.%s", key);

		add_entry(c, NULL, k, value, false);
		free(k);
		return 1;
	}
	if (strncmp(section, ENV_PREFIX, strlen(ENV_PREFIX)) == 0 &&
	    section[strlen(ENV_PREFIX)])
		env = section + strlen(ENV_PREFIX);
	else if (strcmp(section, "strata") != 0) {
		set_problem(
		        c,
		        *section
		                ? format("unknown section '[%s]' (use [strata], [environment.NAME], [fleet.NAME], [lint], [drift] or [placeholders])",
		                         section)
		                : format("'%s' is in no section (use [strata], [environment.NAME], [fleet.NAME], [lint], [drift] or [placeholders])",
		                         key),
		        NULL);
		return 0;
	}
	if (!is_known_key(key, !env)) {
		set_problem(c, format("unknown key '%s' in [%s]", key, section),
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
static void look_at_line(struct config *c, const char *line)
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
		        format("the section header '%.*s' is not closed",
		               (int)n, p),
		        copy("End it with ']', as in [strata] or [environment.production]."));
		return;
	}
	n = strlen(ENV_PREFIX);
	if ((size_t)(end - p - 1) > n && strncmp(p + 1, ENV_PREFIX, n) == 0) {
		grow(&c->envs, &c->envs_alloc, c->n_envs + 1, sizeof(*c->envs));
		c->envs[c->n_envs++] =
		        copy_n(p + 1 + n, (size_t)(end - p - 1) - n);
	}
}

/* inih's reader (fgets), counting what it reads: the handler's line. */
static char *read_line(char *str, int num, void *stream)
{
	struct config *c = stream;
	char *s = fgets(str, num, c->fp);

	if (s) {
		c->line++;
		look_at_line(c, s);
	}
	return s;
}

int config_load(struct config **out, const char *path, struct strata_error *err)
{
	struct config *c = checked(calloc(1, sizeof(*c)));
	const char *file = path ? path : "strata.conf";
	struct stat st;
	int line;

	*out = NULL;
	if (!path && stat(file, &st) < 0 && errno == ENOENT) {
		*out = c; /* no file: an empty configuration */
		return 0;
	}
	c->path = copy(file);
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
		err->file = copy(file);
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
	config_free(c);
	return -1;
}

void config_free(struct config *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++) {
		free(c->entries[i].env);
		free(c->entries[i].fleet);
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

static const struct config_entry *lookup_entry(const struct config *c,
                                               const char *env, const char *key)
{
	const struct config_entry *found = NULL;

	/* the last assignment wins, as in most INI readers */
	for (size_t i = 0; i < c->n; i++) {
		const struct config_entry *e = &c->entries[i];

		if (e->is_lint || e->fleet || strcmp(e->key, key) != 0)
			continue;
		if ((!env && !e->env) ||
		    (env && e->env && !strcmp(env, e->env)))
			found = e;
	}
	return found;
}

static const char *lookup(const struct config *c, const char *env,
                          const char *key)
{
	const struct config_entry *e = lookup_entry(c, env, key);

	return e ? e->value : NULL;
}

bool config_has_environment(const struct config *c, const char *env)
{
	for (size_t i = 0; i < c->n_envs; i++)
		if (strcmp(c->envs[i], env) == 0)
			return true;
	return false;
}

const char *config_environment_at(const struct config *c, size_t i)
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

int config_line(const struct config *c, const char *env, const char *key,
                bool *is_in_env)
{
	const struct config_entry *e = env ? lookup_entry(c, env, key) : NULL;

	if (is_in_env)
		*is_in_env = e != NULL;
	if (!e)
		e = lookup_entry(c, NULL, key);
	return e ? e->line : 0;
}

const char *config_get(const struct config *c, const char *env, const char *key)
{
	const char *v = env ? lookup(c, env, key) : NULL;

	return v ? v : lookup(c, NULL, key);
}

const char *config_get_at(const struct config *c, const char *env,
                          const char *key, size_t i)
{
	/* the environment's lines replace [strata]'s, all of them */
	const char *from = env && lookup_entry(c, env, key) ? env : NULL;

	for (size_t k = 0; k < c->n; k++) {
		const struct config_entry *e = &c->entries[k];

		if (e->is_lint || e->fleet || strcmp(e->key, key) != 0)
			continue;
		if (((!from && !e->env) ||
		     (from && e->env && !strcmp(from, e->env))) &&
		    !i--)
			return e->value;
	}
	return NULL;
}

const char *config_path(const struct config *c)
{
	return c->path;
}

bool config_placeholder_at(const struct config *c, size_t i,
                           struct strata_placeholder *out)
{
	for (size_t k = 0; k < c->n; k++) {
		const struct config_entry *e = &c->entries[k];

		if (e->env || e->fleet || strncmp(e->key, "placeholder.", 12) ||
		    i--)
			continue;
		out->name = e->key + 12;
		out->value = e->value;
		return true;
	}
	return false;
}

bool config_lint_at(const struct config *c, size_t i,
                    struct strata_lint_setting *out)
{
	for (size_t k = 0; k < c->n; k++) {
		const struct config_entry *e = &c->entries[k];

		if (!e->is_lint || i--)
			continue;
		out->rule = e->key;
		if (strata_severity_parse(&out->severity, e->value) < 0)
			abort(); /* checked on load */
		return true;
	}
	return false;
}
