/*
 * Flyway reads its location's subdirectories too (FileSystemScanner: every
 * directory below it but hidden ones, at any depth), so a team that keeps
 * each release's migrations in a directory of its own points strata at the
 * same folder. A file there is named by its path below the folder
 * ("2024/V3__x.sql"), as Flyway records it in its table's `script`; its
 * version comes from its own name. A link to a directory is refused rather
 * than followed: nothing below the folder is read through a path that
 * leaves it, and no loop can form.
 */
#include "engine/source_read.h"
#include "util/error.h"
#include "util/xalloc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* deeper than any layout of releases: a bound, not a limit anyone meets */
#define MAX_DEPTH 32

struct walk {
	struct entry ***v;
	size_t *n, *alloc;
	struct listing *l;
	int dir_fd;
	const char *dir;
	struct arena *scratch, *keep;
};

/* Flyway's callback events (api/callback/Event.java), each a file name */
static const char *const callback_events[] = {
	"beforeClean",
	"afterClean",
	"afterCleanError",
	"beforeMigrate",
	"beforeEachMigrate",
	"beforeEachMigrateStatement",
	"afterEachMigrateStatement",
	"afterEachMigrateStatementError",
	"afterEachMigrate",
	"afterEachMigrateError",
	"beforeRepeatables",
	"afterVersioned",
	"afterMigrateApplied",
	"afterMigrate",
	"afterMigrateError",
	"beforeUndo",
	"beforeEachUndo",
	"beforeEachUndoStatement",
	"afterEachUndoStatement",
	"afterEachUndoStatementError",
	"afterEachUndo",
	"afterEachUndoError",
	"afterUndo",
	"afterUndoError",
	"beforeValidate",
	"afterValidate",
	"afterValidateError",
	"beforeBaseline",
	"afterBaseline",
	"afterBaselineError",
	"beforeRepair",
	"afterRepair",
	"afterRepairError",
	"beforeInfo",
	"afterInfo",
	"afterInfoError",
	"afterMigrateOperationFinish",
	"afterInfoOperationFinish",
	"afterValidateOperationFinish",
	"afterBaselineOperationFinish",
	"afterRepairOperationFinish",
	"afterCleanOperationFinish",
	"afterUndoOperationFinish",
	"createSchema",
	"beforeCreateSchema",
	"beforeConnect",
	"afterConnect",
};

const char *source_flyway_callback(const char *file)
{
	size_t len = strlen(file);

	/* EVENT.sql or EVENT__DESCRIPTION.sql: ResourceNameParser takes
	 * nothing else between the event and "__" */
	if (!source_has_suffix_nocase(file, len, ".sql"))
		return NULL;
	len -= 4;
	for (size_t i = 0; i < ARRAY_SIZE(callback_events); i++) {
		size_t n = strlen(callback_events[i]);

		if (n <= len && !strncmp(file, callback_events[i], n) &&
		    (n == len || !strncmp(file + n, "__", 2)))
			return callback_events[i];
	}
	return NULL;
}

/* ScriptMigrationResolver's file types: Flyway runs them as programs */
static const char *const script_suffixes[] = {
	".cmd", ".bat", ".ps1", ".py", ".sh", ".bash",
};

bool source_is_flyway_script(const char *file)
{
	size_t len = strlen(file);

	for (size_t i = 0; i < ARRAY_SIZE(script_suffixes); i++)
		if (source_has_suffix(file, len, script_suffixes[i]))
			return true;
	return false;
}

void source_flyway_script_problems(struct problems *problems,
                                   const struct listing *l)
{
	for (size_t i = 0; i < l->n_scripts; i++) {
		struct strata_error err = STRATA_ERROR_INIT;
		const char *path = l->scripts[i];

		strata_error_set(
		        &err, STRATA_EVALIDATE,
		        "'%s' is a Flyway script migration, which strata does not run",
		        path);
		strata_error_detail(
		        &err,
		        "Flyway runs it as a program at its version; strata would apply the migrations around it without it.");
		strata_error_hint(
		        &err,
		        "Write what it does as SQL (V<VERSION>__<DESCRIPTION>.sql), or keep running this folder with Flyway.");
		error_set_location(&err, path, NULL, 0, 0);
		source_problems_add(problems, path, &err);
	}
}

const char *source_entry_file(const struct entry *e)
{
	const char *slash = strrchr(e->name, '/');

	return slash ? slash + 1 : e->name;
}

static int dir_error(struct strata_error *err, const struct walk *w,
                     const char *rel, int e)
{
	strata_error_set(err, STRATA_EFAILED,
	                 "could not read directory '%s/%s': %s", w->dir, rel,
	                 strerror(e));
	strata_error_detail(
	        err,
	        "In Flyway's layout every subdirectory of the folder holds migrations too, as Flyway reads them.");
	return strata_error_hint(
	        err,
	        "Make it readable, or move it out of the migration directory (or rename it to start with '.').");
}

static int link_error(struct strata_error *err, const struct walk *w,
                      const char *rel)
{
	strata_error_set(
	        err, STRATA_EVALIDATE,
	        "'%s/%s' is a link to a directory, which strata does not follow",
	        w->dir, rel);
	strata_error_detail(
	        err,
	        "In Flyway's layout every subdirectory of the folder holds migrations; a linked one may lead out of the folder, or back into it.");
	return strata_error_hint(
	        err,
	        "Move its migrations into the folder, or replace the link by the directory itself.");
}

static void add_file(struct walk *w, const char *rel, const char *name,
                     bool is_regular)
{
	struct entry *e = arena_alloc(w->scratch, sizeof(*e));
	size_t dir_len = strlen(w->dir);
	bool has_slash = dir_len && w->dir[dir_len - 1] == '/';
	char *path = arena_strfmt(w->keep, "%s%s%s/%s", w->dir,
	                          has_slash ? "" : "/", rel, name);

	memset(e, 0, sizeof(*e));
	e->path = path;
	/* the name, relative to the folder's descriptor, ends the path */
	e->name = path + dir_len + !has_slash;
	e->is_regular = is_regular;
	e->is_flyway = source_is_flyway_name(name);
	XGROW(*w->v, *w->alloc, *w->n + 1);
	(*w->v)[(*w->n)++] = e;
}

static int walk_dir(struct walk *w, const char *rel, unsigned depth,
                    struct strata_error *err);

/* One name of directory `rel` (at `fd`): a file, or a directory to walk. */
static int walk_entry(struct walk *w, int fd, const char *rel,
                      const struct dirent *de, unsigned depth,
                      struct strata_error *err)
{
	size_t len = strlen(de->d_name);
	char *child = arena_strfmt(w->scratch, "%s/%s", rel, de->d_name);
	unsigned char type = de->d_type;
	struct stat st;

	if (type == DT_UNKNOWN || type == DT_LNK) {
		if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			return 0; /* gone since it was listed */
		type = S_ISDIR(st.st_mode)   ? DT_DIR
		       : S_ISLNK(st.st_mode) ? DT_LNK
		       : S_ISREG(st.st_mode) ? DT_REG
		                             : DT_UNKNOWN;
	}
	if (type == DT_DIR)
		return walk_dir(w, child, depth + 1, err);
	if (type == DT_LNK && fstatat(fd, de->d_name, &st, 0) == 0 &&
	    S_ISDIR(st.st_mode))
		return link_error(err, w, child);
	if (source_is_flyway_name(de->d_name) &&
	    source_is_flyway_script(de->d_name)) {
		XGROW(w->l->scripts, w->l->scripts_alloc, w->l->n_scripts + 1);
		w->l->scripts[w->l->n_scripts++] =
		        arena_strfmt(w->scratch, "%s/%s", w->dir, child);
	}
	if (source_has_suffix(de->d_name, len, ".conf") &&
	    source_has_suffix_nocase(de->d_name, len - 5, ".sql"))
		strmap_put(&w->l->confs, w->scratch,
		           arena_strndup(w->scratch, child, strlen(child) - 5),
		           NULL);
	else if (source_has_suffix(de->d_name, len, ".sql") ||
	         ((source_is_flyway_name(de->d_name) ||
	           source_flyway_callback(de->d_name)) &&
	          source_has_suffix_nocase(de->d_name, len, ".sql")))
		add_file(w, rel, de->d_name, type == DT_REG);
	return 0;
}

static int walk_dir(struct walk *w, const char *rel, unsigned depth,
                    struct strata_error *err)
{
	struct dirent *de;
	int fd, rc = 0;
	DIR *d;

	if (depth > MAX_DEPTH) {
		strata_error_set(
		        err, STRATA_EVALIDATE,
		        "'%s/%s' is nested more than %d directories deep",
		        w->dir, rel, MAX_DEPTH);
		return strata_error_hint(
		        err,
		        "Keep migrations within %d directories of the folder, or move this tree out of it.",
		        MAX_DEPTH);
	}
	fd = openat(w->dir_fd, rel,
	            O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return dir_error(err, w, rel, errno);
	d = fdopendir(fd);
	if (!d) {
		int e = errno;

		close(fd);
		return dir_error(err, w, rel, e);
	}
	for (;;) {
		errno = 0;
		de = readdir(d);
		if (!de) {
			if (errno)
				rc = dir_error(err, w, rel, errno);
			break;
		}
		/* hidden ones, as Flyway passes them over */
		if (de->d_name[0] == '.')
			continue;
		if ((rc = walk_entry(w, dirfd(d), rel, de, depth, err)) < 0)
			break;
	}
	closedir(d);
	return rc;
}

int source_walk_flyway(struct entry ***v, size_t *n, size_t *alloc,
                       struct listing *l, int dir_fd, const char *dir,
                       struct arena *scratch, struct arena *keep,
                       struct strata_error *err)
{
	struct walk w = { v, n, alloc, l, dir_fd, dir, scratch, keep };
	const char *const *dirs = l->dirs;
	size_t n_dirs = l->n_dirs;
	struct stat st;

	for (size_t i = 0; i < n_dirs; i++) {
		/* listed as a link or of no known type: what it is now */
		if (fstatat(dir_fd, dirs[i], &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISLNK(st.st_mode)) {
			if (fstatat(dir_fd, dirs[i], &st, 0) == 0 &&
			    S_ISDIR(st.st_mode))
				return link_error(err, &w, dirs[i]);
			continue;
		}
		if (S_ISDIR(st.st_mode) && walk_dir(&w, dirs[i], 1, err) < 0)
			return -1;
	}
	return 0;
}
