/*
 * strata seed [NAME...]: the seed files of --seeds DIR (strata.conf's
 * seeds, else "seeds"): the .sql files of DIR, then those of
 * DIR/ENVIRONMENT for the active environment, each group in name order, each
 * file in its own transaction (strata_seed_run()). Other environments' folders
 * are left alone; any other entry is refused, so that no file is skipped
 * unsaid. The production environment is refused unless --yes or allow_seed =
 * true in its section.
 */
#include "cli.h"

#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "util/banned.h"

static const char usage[] = "[NAME...] [--seeds DIR] [--yes]";

/* Reports `err` as every command does and releases it. */
static int report(struct cli *cli, struct strata_error *err)
{
	int rc = cli_error(cli, err);

	strata_error_release(err);
	return rc;
}

#define DEFAULT_SEEDS_DIR "seeds"
/* seed files are data: larger than a migration may be */
#define MAX_SEED_SIZE ((size_t)1 << 30)

struct seed_list {
	char **paths;
	size_t n, alloc;
};

static void list_add(struct seed_list *l, char *path)
{
	if (l->n == l->alloc) {
		l->alloc = l->alloc ? 2 * l->alloc : 16;
		l->paths = realloc(l->paths, l->alloc * sizeof(*l->paths));
		if (!l->paths)
			abort();
	}
	l->paths[l->n++] = path;
}

static void list_release(struct seed_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->paths[i]);
	free(l->paths);
	memset(l, 0, sizeof(*l));
}

static int cmp_path(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool ends_with_sql(const char *name)
{
	size_t n = strlen(name);

	return n > 4 && !strcmp(name + n - 4, ".sql");
}

static char *join(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *p = malloc(n);

	if (!p)
		abort();
	snprintf(p, n, "%s/%s", dir, name);
	return p;
}

static bool is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/*
 * The .sql files of `dir`, sorted, added to `l`. At the top (`env` not
 * NULL), folders are environments' and only `env`'s is read, after the
 * files; a hidden entry is passed over; anything else is an error.
 */
static int read_dir(struct cli *cli, struct seed_list *l, const char *dir,
                    const char *env)
{
	struct seed_list files = { 0 };
	DIR *d = opendir(dir);
	struct dirent *de;
	bool has_env = false;
	int rc = 0;

	if (!d) {
		if (errno == ENOENT && !env)
			return 0; /* no seeds of this environment */
		struct strata_error err = STRATA_ERROR_INIT;
		bool is_missing = errno == ENOENT;

		strata_error_set(&err, STRATA_EVALIDATE,
		                 "cannot read the seeds folder '%s': %s", dir,
		                 strerror(errno));
		if (is_missing)
			strata_error_hint(
			        &err,
			        "Put the seed files (.sql) in '%s', or name their folder with --seeds DIR or seeds = DIR in strata.conf.",
			        dir);
		return report(cli, &err);
	}
	while ((de = readdir(d))) {
		char *path;

		if (de->d_name[0] == '.')
			continue;
		path = join(dir, de->d_name);
		if (env && is_dir(path)) {
			has_env = has_env || !strcmp(de->d_name, env);
			free(path);
			continue;
		}
		if (!ends_with_sql(de->d_name) || is_dir(path)) {
			struct strata_error err = STRATA_ERROR_INIT;

			strata_error_set(
			        &err, STRATA_EVALIDATE,
			        "'%s' is not a seed file: seeds are .sql files%s",
			        path,
			        env ? ", and folders named after environments"
			            : "");
			strata_error_hint(
			        &err,
			        "Rename it to end in .sql to seed it, or move it out of '%s'.",
			        dir);
			free(path);
			rc = report(cli, &err);
			goto done;
		}
		list_add(&files, path);
	}
	if (files.n > 1)
		qsort(files.paths, files.n, sizeof(*files.paths), cmp_path);
	for (size_t i = 0; i < files.n; i++)
		list_add(l, files.paths[i]);
	files.n = 0;
	if (has_env) {
		char *sub = join(dir, env);

		rc = read_dir(cli, l, sub, NULL);
		free(sub);
	}
done:
	closedir(d);
	list_release(&files);
	return rc;
}

/* Keeps the files NAME... names (with or without .sql), in their order
 * in the list; an unknown NAME is an error that lists the seeds. */
static int pick(struct cli *cli, struct seed_list *l, int argc, char **argv)
{
	bool *keep = calloc(l->n ? l->n : 1, sizeof(*keep));
	size_t n = 0;
	int rc = 0;

	if (!keep)
		abort();
	for (int i = 0; i < argc && !rc; i++) {
		size_t len = strlen(argv[i]);
		bool found = false;

		if (len > 4 && !strcmp(argv[i] + len - 4, ".sql"))
			len -= 4;
		for (size_t k = 0; k < l->n; k++) {
			const char *base = strrchr(l->paths[k], '/');

			base = base ? base + 1 : l->paths[k];
			if (strlen(base) == len + 4 &&
			    !strncmp(base, argv[i], len)) {
				keep[k] = found = true;
			}
		}
		if (!found) {
			char names[1024] = "none";
			size_t at = 0;

			for (size_t k = 0; k < l->n && at < 900; k++)
				at += (size_t)snprintf(
				        names + at, sizeof(names) - at, "%s%s",
				        k ? ", " : "", l->paths[k]);
			rc = cli_usage_error(
			        cli, "seed",
			        "no seed named '%s' (there are: %s)", argv[i],
			        names);
		}
	}
	for (size_t k = 0; k < l->n; k++) {
		if (keep[k])
			l->paths[n++] = l->paths[k];
		else
			free(l->paths[k]);
	}
	l->n = n;
	free(keep);
	return rc;
}

static bool is_true(const char *v)
{
	return v && (!strcmp(v, "true") || !strcmp(v, "yes") ||
	             !strcmp(v, "on") || !strcmp(v, "1"));
}

/* Seeds are for development and test data: production says so first. */
int cli_seed_allowed(struct cli *cli, bool is_yes)
{
	const char *env = cli->env ? cli->env : "development";
	struct strata_error err = STRATA_ERROR_INIT;

	if (strcmp(env, "production") && strcmp(env, "prod"))
		return 0;
	if (is_yes || is_true(config_get(cli->settings, env, "allow_seed")))
		return 0;
	strata_error_set(
	        &err, STRATA_EUSAGE,
	        "refusing to seed the %s environment: seeds are data for development and test databases",
	        env);
	strata_error_hint(
	        &err,
	        "Pass --yes to seed it anyway, or set allow_seed = true in [environment.%s] of strata.conf.",
	        env);
	return report(cli, &err);
}

static int read_file(struct cli *cli, const char *path, char **out,
                     size_t *out_len)
{
	struct strata_error err = STRATA_ERROR_INIT;
	FILE *fp = fopen(path, "rb");
	size_t alloc = 1 << 16, len = 0;
	char *buf;

	if (!fp) {
		strata_error_set(&err, STRATA_EVALIDATE, "cannot read '%s': %s",
		                 path, strerror(errno));
		return report(cli, &err);
	}
	buf = malloc(alloc);
	if (!buf)
		abort();
	for (;;) {
		size_t n = fread(buf + len, 1, alloc - len - 1, fp);

		len += n;
		if (n == 0)
			break;
		if (len + 1 == alloc) {
			if (alloc >= MAX_SEED_SIZE) {
				fclose(fp);
				free(buf);
				strata_error_set(
				        &err, STRATA_EVALIDATE,
				        "'%s' is larger than 1 GiB: split it into several seed files",
				        path);
				return report(cli, &err);
			}
			alloc *= 2;
			buf = realloc(buf, alloc);
			if (!buf)
				abort();
		}
	}
	if (ferror(fp)) {
		fclose(fp);
		free(buf);
		strata_error_set(&err, STRATA_EVALIDATE, "cannot read '%s': %s",
		                 path, strerror(errno));
		return report(cli, &err);
	}
	fclose(fp);
	buf[len] = '\0';
	*out = buf;
	*out_len = len;
	return 0;
}

static double elapsed_ms(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e3 +
	       (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

int cli_seed(struct cli *cli, const char *dir, int argc, char **argv)
{
	struct strata_error err = STRATA_ERROR_INIT;
	struct seed_list l = { 0 };
	struct strata_db *db = NULL;
	json_t *done = json_array();
	const char *env = cli->env ? cli->env : "development";
	size_t n_done = 0;
	int rc;

	if (!dir)
		dir = config_get(cli->settings, cli->env, "seeds");
	if (!dir || !*dir)
		dir = DEFAULT_SEEDS_DIR;
	if ((rc = read_dir(cli, &l, dir, env)) ||
	    (argc && (rc = pick(cli, &l, argc, argv))))
		goto out;
	if (!l.n) {
		strata_error_set(
		        &err, STRATA_EVALIDATE,
		        "'%s' holds no seed file for the %s environment", dir,
		        env);
		strata_error_hint(
		        &err,
		        "Seeds are .sql files in '%s' (for every environment) and in '%s/%s' (for this one).",
		        dir, dir, env);
		rc = cli_error(cli, &err);
		goto out;
	}
	if ((rc = cli_open_db(cli, &db)))
		goto out;
	/* every file checked before the first runs */
	for (size_t i = 0; i < l.n && !rc; i++) {
		size_t len = 0;
		char *sql = NULL;

		if ((rc = read_file(cli, l.paths[i], &sql, &len)))
			break;
		if (strata_seed_check(db, l.paths[i], sql, len, &err) < 0)
			rc = cli_error(cli, &err);
		free(sql);
	}
	for (size_t i = 0; i < l.n && !rc; i++) {
		struct timespec t0;
		size_t len = 0;
		char *sql = NULL;
		double ms;

		if ((rc = read_file(cli, l.paths[i], &sql, &len)))
			break;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		rc = strata_seed_run(db, l.paths[i], sql, len, &err);
		free(sql);
		if (rc < 0) {
			rc = cli_error(cli, &err);
			if (n_done && cli->verbosity >= 0)
				cli_info(
				        cli,
				        "The %zu seed file%s before it stay%s applied, each in its own transaction; '%s' was rolled back.",
				        n_done, n_done == 1 ? "" : "s",
				        n_done == 1 ? "s" : "", l.paths[i]);
			break;
		}
		ms = elapsed_ms(&t0);
		n_done++;
		if (cli->format == FORMAT_JSON) {
			json_t *o = json_object();

			json_object_set_new(o, "file",
			                    cli_json_text(l.paths[i]));
			json_object_set_new(o, "duration_ms", json_real(ms));
			json_array_append_new(done, o);
		} else if (cli->verbosity >= 0) {
			printf("Seeded %s (%.3f ms)\n", cli_safe(l.paths[i]),
			       ms);
		}
	}
	/* after an error, its JSON is the one document */
	if (!rc && cli->format == FORMAT_JSON) {
		json_t *doc = json_object();

		json_object_set_new(doc, "environment", cli_json_text(env));
		json_object_set_new(doc, "seeded", done);
		done = NULL;
		cli_print_json(doc);
	}
out:
	json_decref(done);
	strata_error_release(&err);
	strata_db_close(db);
	list_release(&l);
	return rc;
}

int cmd_seed(struct cli *cli, int argc, char **argv)
{
	const char *dir = NULL;
	bool is_yes = false;
	const struct opt opts[] = {
		{ 0, "seeds", OPT_STRING, &dir, NULL, "DIR",
		  "the seeds folder (default: seeds of strata.conf, else " DEFAULT_SEEDS_DIR
		  ")" },
		{ 'y', "yes", OPT_FLAG, &is_yes, NULL, NULL,
		  "seed the production environment too" },
		OPT_END,
	};
	int rc = cli_parse_options(cli, "seed", usage, opts, &argc, &argv);

	if (rc)
		return rc < 0 ? 0 : rc;
	if ((rc = cli_seed_allowed(cli, is_yes)))
		return rc;
	return cli_seed(cli, dir, argc, argv);
}
