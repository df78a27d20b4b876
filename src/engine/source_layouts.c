/*
 * Other tools' layouts in a source directory, recognised only to be
 * refused by name (design.md, Migration sources): diesel's and Flyway's
 * folders, Flyway's V1__name.sql, dbmate's and goose's markers, and
 * files named like migrations that sqlx would silently pass over. One
 * problem per layout, naming its first file, so the answer does not
 * depend on readdir()'s order.
 */
#include "engine/source.h"
#include "engine/source_read.h"
#include "util/xalloc.h"
#include "util/error.h"

#include <dirent.h>
#include <fcntl.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Flyway's default prefixes: V<ver>__, U<ver>__ (ver: digits, '.', '_'), R__ */
bool source_is_flyway_name(const char *s)
{
	if (s[0] == 'R')
		return s[1] == '_' && s[2] == '_';
	if ((s[0] != 'V' && s[0] != 'U') || !is_digit(s[1]))
		return false;
	for (size_t i = 1; is_digit(s[i]) || s[i] == '.' || s[i] == '_'; i++)
		if (s[i] == '_' && s[i + 1] == '_')
			return true;
	return false;
}

/* VERSION_...: digits, and for diesel's 2023-01-01-000000 dashes too */
bool source_is_versioned(const char *s, bool is_dash_ok)
{
	size_t i = 0;

	while (is_digit(s[i]) || (is_dash_ok && i && s[i] == '-'))
		i++;
	return i && s[i] == '_';
}

/*
 * A file named VERSION_... that sqlx would pass over: ".SQL", or
 * golang-migrate's NAME.up.EXT / NAME.down.EXT with another extension.
 */
static bool is_alien_file_name(const char *s, size_t len)
{
	const char *dot = strrchr(s, '.');

	if (!source_is_versioned(s, false) || !dot || !dot[1])
		return false;
	if (len >= 4 && strcasecmp(s + len - 4, ".sql") == 0)
		return true;
	return source_has_suffix(s, (size_t)(dot - s), ".up") ||
	       source_has_suffix(s, (size_t)(dot - s), ".down");
}

/*
 * What the subdirectory `name` of `fd` holds: diesel's files, .sql files
 * named like sqlx's or Flyway's migrations.
 */
static void scan_subdir(int fd, const char *name, unsigned *files,
                        bool *has_migration)
{
	int sub = openat(fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = sub < 0 ? NULL : fdopendir(sub);
	struct dirent *de;

	*files = 0;
	*has_migration = false;
	if (!d) {
		if (sub >= 0)
			close(sub);
		return; /* unreadable: judged by its name alone */
	}
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (!strcmp(de->d_name, "up.sql"))
			*files |=
			        DIESEL_UP |
			        (de->d_type == DT_REG ? DIESEL_UP_REGULAR : 0);
		else if (!strcmp(de->d_name, "down.sql"))
			*files |= DIESEL_DOWN |
			          (de->d_type == DT_REG ? DIESEL_DOWN_REGULAR
			                                : 0);
		else if (!strcmp(de->d_name, "metadata.toml"))
			*files |= DIESEL_METADATA;
		else if (source_has_suffix(de->d_name, strlen(de->d_name),
		                           ".sql") &&
		         (source_is_versioned(de->d_name, false) ||
		          source_is_flyway_name(de->d_name)))
			*has_migration = true;
	}
	closedir(d);
}

/* Whether the entry `de` (not ending in ".sql") is an alien, and which. */
bool source_classify_alien(enum alien_kind *out, unsigned *out_files, int fd,
                           const struct dirent *de)
{
	const char *name = de->d_name;
	bool has_diesel, has_migration;
	struct stat st;

	*out_files = 0;
	if (de->d_type == DT_REG)
		return (*out = ALIEN_NAME,
		        is_alien_file_name(name, strlen(name)));
	if (de->d_type != DT_DIR && de->d_type != DT_LNK &&
	    de->d_type != DT_UNKNOWN)
		return false;
	/* readdir() knows a directory: one system call less for each of
	 * diesel's thousands */
	if (de->d_type != DT_DIR) {
		if (fstatat(fd, name, &st, 0) < 0)
			return false; /* a dangling link: nothing to pass over
			               */
		if (S_ISREG(st.st_mode))
			return (*out = ALIEN_NAME,
			        is_alien_file_name(name, strlen(name)));
		if (!S_ISDIR(st.st_mode))
			return false;
	}
	scan_subdir(fd, name, out_files, &has_migration);
	has_diesel = *out_files & (DIESEL_UP | DIESEL_DOWN);
	*out = has_diesel ? ALIEN_DIESEL : ALIEN_DIR;
	return has_diesel || has_migration || source_is_versioned(name, true);
}

void source_scan_aliens(struct aliens *a, int fd)
{
	size_t k = 0;

	for (size_t i = 0; i < a->n; i++) {
		struct alien *x = &a->v[i];
		bool has_migration;

		if (x->files & DIESEL_UNSCANNED) {
			scan_subdir(fd, x->name, &x->files, &has_migration);
			x->kind = x->files & (DIESEL_UP | DIESEL_DOWN)
			                  ? ALIEN_DIESEL
			                  : ALIEN_DIR;
			/* named like a migration: an alien either way */
		}
		a->v[k++] = *x;
	}
	a->n = k;
}

void source_aliens_add(struct aliens *a, enum alien_kind kind, unsigned files,
                       const char *name, const char *path)
{
	XGROW(a->v, a->alloc, a->n + 1);
	a->v[a->n].kind = kind;
	a->v[a->n].files = files;
	a->v[a->n].name = name;
	a->v[a->n].path = path;
	a->n++;
}

/*
 * One problem per diesel or Flyway folder (the first entry in name order
 * and how many there are: hundreds of errors would say less), one per
 * other alien.
 */
void source_report_aliens(struct problems *problems, const struct aliens *a,
                          const char *dir, enum strata_layout layout)
{
	const struct alien *first[2] = { NULL, NULL };
	size_t count[2] = { 0, 0 };

	for (size_t i = 0; i < a->n; i++) {
		const struct alien *x = &a->v[i];
		struct strata_error e = STRATA_ERROR_INIT;

		if (x->kind == ALIEN_DIESEL || x->kind == ALIEN_FLYWAY) {
			count[x->kind]++;
			if (!first[x->kind] ||
			    strcmp(x->name, first[x->kind]->name) < 0)
				first[x->kind] = x;
			continue;
		}
		if (x->kind == ALIEN_DIR) {
			strata_error_set(
			        &e, STRATA_EVALIDATE,
			        "directory '%s' looks like a migration, which strata does not read",
			        x->path);
			strata_error_detail(
			        &e,
			        "It is named VERSION_NAME or holds files named like migrations, but strata reads the files of the migration directory, not its subdirectories.");
			strata_error_hint(
			        &e,
			        "Move it out of the migration directory, or rename it to start with '.' to keep it there unread.");
		} else {
			strata_error_set(
			        &e, STRATA_EVALIDATE,
			        "'%s' is named like a migration but does not end in '.sql'",
			        x->path);
			strata_error_detail(
			        &e,
			        "strata reads only names ending in '.sql', as sqlx does, and would pass over this one.");
			strata_error_hint(
			        &e,
			        "Rename it to end in .sql (or .up.sql and .down.sql), or move it out of the migration directory.");
		}
		error_set_location(&e, x->path, NULL, 0, 0);
		source_problems_add(problems, x->name, &e);
	}
	if (first[ALIEN_DIESEL]) {
		struct strata_error e = STRATA_ERROR_INIT;

		if (layout == STRATA_LAYOUT_AUTO)
			strata_error_set(
			        &e, STRATA_EVALIDATE,
			        "'%s' mixes diesel migrations with files of another layout",
			        dir);
		else
			strata_error_set(
			        &e, STRATA_EVALIDATE,
			        "'%s' holds diesel migrations, which %s's layout does not read",
			        dir, strata_layout_name(layout));
		strata_error_detail(
		        &e,
		        "'%s' is one of %zu such directories: diesel keeps each migration in a directory VERSION_NAME holding up.sql and down.sql; strata reads them as diesel does in a folder of diesel's layout alone.",
		        first[ALIEN_DIESEL]->path, count[ALIEN_DIESEL]);
		strata_error_hint(
		        &e,
		        "Keep one layout per folder: read it with --layout diesel (or layout = diesel in strata.conf), and move the other files out.");
		error_set_location(&e, first[ALIEN_DIESEL]->path, NULL, 0, 0);
		source_problems_add(problems, first[ALIEN_DIESEL]->name, &e);
	}
	if (first[ALIEN_FLYWAY]) {
		struct strata_error e = STRATA_ERROR_INIT;

		strata_error_set(
		        &e, STRATA_EVALIDATE,
		        "'%s' holds Flyway migrations, which strata does not read",
		        dir);
		strata_error_detail(
		        &e,
		        "'%s' is one of %zu such files: Flyway names them V<VERSION>__<DESCRIPTION>.sql (U for undo, R__ for repeatable), where strata reads sqlx's <VERSION>_<DESCRIPTION>.sql.",
		        first[ALIEN_FLYWAY]->path, count[ALIEN_FLYWAY]);
		strata_error_hint(
		        &e,
		        "Read the folder in Flyway's layout (--layout flyway, or layout = flyway in strata.conf), or rename each V file to <VERSION>_<DESCRIPTION>.sql and each U file to <VERSION>_<DESCRIPTION>.down.sql, VERSION in digits alone.");
		error_set_location(&e, first[ALIEN_FLYWAY]->path, NULL, 0, 0);
		source_problems_add(problems, first[ALIEN_FLYWAY]->name, &e);
	}
}
