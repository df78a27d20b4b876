/*
 * The migration source: one directory of versioned SQL files, read the way
 * sqlx reads it (design.md, Migration sources and layouts). The scan is
 * not recursive; a name is split at its first '_' into a VERSION (ASCII
 * digits, an int64, 0 included as sqlx reads it) and a description, whose
 * suffix (".up.sql", ".down.sql", ".sql") is trimmed as Rust's
 * trim_end_matches() does and whose '_' read as ' '.
 *
 * Where sqlx passes over a .sql file it cannot parse or silently accepts two
 * files of one version, strata refuses the whole source: every problem of
 * every file is collected (source_check_entry() for one file,
 * source_check_version() for the files of one version), and the first in
 * file-name order is reported with a count of the others, so the answer does
 * not depend on readdir()'s order. Nothing is returned from an invalid source.
 *
 * Other tools' layouts are read as those tools read them when the folder
 * is theirs (dbmate's sections, diesel's directories, Flyway's V/U
 * files); in another layout they are refused by name, since sqlx would
 * pass over them or run a dbmate file's down section as part of its up. This
 * file knows nothing of SQL: splitting and linting come later, from the
 * texts kept here.
 *
 * This file holds the load (listing the directory, reading the files on
 * up to MAX_READERS threads, building the migrations) and the public
 * accessors; names and versions are in source_names.c, one file's checks
 * in source_files.c, other tools' layouts in source_layouts.c, sharing
 * source_read.h.
 */
#include "engine/checksum.h"
#include "engine/source.h"
#include "engine/source_read.h"
#include "util/xalloc.h"
#include "util/sbuf.h"
#include "util/arena.h"
#include "util/error.h"
#include "util/cancel.h"
#include "util/strmap.h"

#include <assert.h>
#include <dirent.h>
#include <time.h>
#include <inttypes.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h> /* malloc_trim() */
#endif

/* below this many files one thread is as fast */
#define FILES_PER_READER 256

/* Takes over `err` (leaving it empty). */
void source_problems_add(struct problems *p, const char *key,
                         struct strata_error *err)
{
	struct problem *pr;

	XGROW(p->v, p->alloc, p->n + 1);
	pr = &p->v[p->n];
	pr->key = key;
	pr->seq = p->n;
	memset(&pr->err, 0, sizeof(pr->err));
	error_move(&pr->err, err);
	p->n++;
}

static void problems_release(struct problems *p)
{
	for (size_t i = 0; i < p->n; i++)
		strata_error_release(&p->v[i].err);
	free(p->v);
	p->v = NULL;
	p->n = p->alloc = 0;
}

static int cmp_problem(const void *a, const void *b)
{
	const struct problem *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	if (c)
		return c;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static char *dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

static void problems_copy_to(struct strata_problems *all,
                             const struct strata_error *e)
{
	struct strata_error *c;

	XGROW(all->items, all->alloc, all->count + 1);
	c = &all->items[all->count++];
	*c = *e;
	c->message = dup_or_null(e->message);
	c->detail = dup_or_null(e->detail);
	c->hint = dup_or_null(e->hint);
	c->file = dup_or_null(e->file);
	c->context = dup_or_null(e->context);
}

/*
 * Moves the first problem into `err`, the others counted in its detail;
 * with `all`, every problem is also copied there, in order.
 */
static int problems_report(struct problems *p, struct strata_problems *all,
                           struct strata_error *err)
{
	struct problem *first;
	size_t more;

	if (!p->n)
		BUG("no problem to report");
	more = p->n - 1;
	qsort(p->v, p->n, sizeof(*p->v), cmp_problem);
	for (size_t i = 0; all && i < p->n; i++)
		problems_copy_to(all, &p->v[i].err);
	first = &p->v[0];
	if (more) {
		const char *noun = more == 1 ? "problem" : "problems";
		char *old = first->err.detail;

		first->err.detail = NULL;
		strata_error_detail(&first->err,
		                    "%s%s%zu more %s in the source.",
		                    old ? old : "", old ? " " : "", more, noun);
		free(old);
	}
	error_move(err, &first->err);
	return -1;
}

static void fill_texts(struct strata_migration *m, const struct entry *up,
                       const struct entry *down, struct arena *arena)
{
	m->up_sql = up->content->text;
	m->up_len = up->content->len;
	memcpy(m->checksum, up->content->checksum, sizeof(m->checksum));
	m->is_no_transaction = up->content->is_no_transaction;
	if (down && down->content) {
		m->down_sql = down->content->text;
		m->down_len = down->content->len;
		m->is_down_no_transaction = down->content->is_no_transaction;
	}
	if (up->content->is_dbmate)
		source_fill_dbmate(m, up->content, arena);
	m->flyway_checksum = up->content->flyway_checksum;
	m->is_repeatable = up->is_repeatable;
	m->flyway_equivalent_checksum = up->content->flyway_equivalent_checksum;
	if (up->is_diesel) {
		/* metadata.toml rules both files; "-- no-transaction" is
		 * sqlx's, not diesel's */
		m->is_no_transaction = up->is_diesel_no_transaction;
		m->is_down_no_transaction = up->is_diesel_no_transaction;
	}
}

/* By version, up files before down files, then by name. */
static int cmp_entry_version(const void *a, const void *b)
{
	const struct entry *const *x = a, *const *y = b;
	bool x_down = (*x)->kind == KIND_DOWN, y_down = (*y)->kind == KIND_DOWN;

	if ((*x)->version != (*y)->version)
		return (*x)->version < (*y)->version ? -1 : 1;
	if (x_down != y_down)
		return x_down ? 1 : -1;
	return strcmp((*x)->name, (*y)->name);
}

static char *join_path(struct arena *arena, const char *dir, size_t dir_len,
                       const char *name, size_t name_len)
{
	bool has_slash = dir_len && dir[dir_len - 1] == '/';
	char *p = arena_alloc(arena, dir_len + 1 + name_len + 1), *q = p;

	memcpy(q, dir, dir_len);
	q += dir_len;
	if (!has_slash)
		*q++ = '/';
	memcpy(q, name, name_len + 1);
	return p;
}

/*
 * The ".sql" entries of `dir`, in readdir()'s order (problems are sorted
 * when reported, migrations by version), in `*out` (caller frees);
 * `*dir_fd` stays open on the directory for reading them. The entries are
 * in `scratch`, their paths (which the migrations keep) in `keep`.
 */
static int list_dir(struct entry ***out, size_t *out_n, int *dir_fd,
                    struct aliens *aliens, struct listing *l,
                    struct arena *scratch, struct arena *keep, const char *dir,
                    size_t *out_alloc, bool is_diesel_ok, bool is_flyway_ok,
                    struct strata_error *err)
{
	struct entry **v = NULL;
	size_t n = 0, alloc = 0, dir_len = strlen(dir);
	struct dirent *de;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);

	if (!d) {
		int e = errno;

		if (fd >= 0)
			close(fd);
		strata_error_set(err, STRATA_EFAILED,
		                 "could not open migration directory '%s': %s",
		                 dir, strerror(e));
		if (e == ENOENT || e == ENOTDIR) {
			strata_error_hint(
			        err,
			        "Create it (strata_migration_new() does), or load the directory that holds the migrations.");
			strata_error_reason(err, STRATA_REASON_SOURCE_MISSING,
			                    -1);
		}
		return -1;
	}
	for (;;) {
		struct entry *e;
		size_t len;

		errno = 0;
		de = readdir(d);
		if (!de)
			break;
		len = strlen(de->d_name);
		/* Hidden names (editor lock files such as ".#1_x.sql") can
		 * never be migrations: sqlx would reject them as unparsable. */
		if (de->d_name[0] == '.')
			continue;
		if (is_flyway_ok &&
		    source_has_suffix(de->d_name, len, ".conf") &&
		    source_has_suffix_nocase(de->d_name, len - 5, ".sql"))
			strmap_put(&l->confs, scratch,
			           arena_strndup(scratch, de->d_name, len - 5),
			           NULL);
		if (is_flyway_ok && source_is_flyway_name(de->d_name) &&
		    source_is_flyway_script(de->d_name)) {
			XGROW(l->scripts, l->scripts_alloc, l->n_scripts + 1);
			l->scripts[l->n_scripts++] = join_path(
			        scratch, dir, dir_len, de->d_name, len);
		}
		if (is_flyway_ok &&
		    (de->d_type == DT_DIR || de->d_type == DT_LNK ||
		     de->d_type == DT_UNKNOWN) &&
		    !source_has_suffix(de->d_name, len, ".sql")) {
			XGROW(l->dirs, l->dirs_alloc, l->n_dirs + 1);
			l->dirs[l->n_dirs++] =
			        arena_strndup(scratch, de->d_name, len);
		}
		if (!(source_has_suffix(de->d_name, len, ".sql") ||
		      (is_flyway_ok &&
		       (source_is_flyway_name(de->d_name) ||
		        source_flyway_callback(de->d_name)) &&
		       source_has_suffix_nocase(de->d_name, len, ".sql"))) ||
		    (source_is_flyway_name(de->d_name) && !is_flyway_ok)) {
			enum alien_kind kind = ALIEN_FLYWAY;
			unsigned files = 0;

			/* a folder of diesel's thousands of directories is
			 * not looked into one by one here: what they hold is
			 * found on the reader threads (or by
			 * source_scan_aliens() when the folder is not
			 * diesel's) */
			if (de->d_type == DT_DIR && is_diesel_ok &&
			    source_is_versioned(de->d_name, true)) {
				kind = ALIEN_DIESEL;
				files = DIESEL_UNSCANNED;
			}
			if (files || source_is_flyway_name(de->d_name) ||
			    source_classify_alien(&kind, &files, fd, de)) {
				const char *path = join_path(keep, dir, dir_len,
				                             de->d_name, len);

				source_aliens_add(aliens, kind, files,
				                  path + strlen(path) - len,
				                  path);
			}
			continue;
		}
		e = arena_alloc(scratch, sizeof(*e));
		memset(e, 0, sizeof(*e));
		e->path = join_path(keep, dir, dir_len, de->d_name, len);
		e->name = e->path + strlen(e->path) - len;
		e->is_regular = de->d_type == DT_REG;
		e->is_flyway = source_is_flyway_name(de->d_name);
		XGROW(v, alloc, n + 1);
		v[n++] = e;
	}
	if (errno) {
		strata_error_set(err, STRATA_EFAILED,
		                 "could not read migration directory '%s': %s",
		                 dir, strerror(errno));
		closedir(d);
		free(v);
		return -1;
	}
	*dir_fd = dup(dirfd(d));
	closedir(d);
	if (*dir_fd < 0) {
		strata_error_set(err, STRATA_EFAILED,
		                 "could not read migration directory '%s': %s",
		                 dir, strerror(errno));
		free(v);
		return -1;
	}
	*out = v;
	*out_n = n;
	*out_alloc = alloc;
	return 0;
}

/*
 * Checks the versions of the named entries and, when nothing at all is
 * wrong, builds the migration array. Entries are reordered.
 */
/* Whether every file of a version was read and found sound. */
static bool is_group_sound(struct entry **group, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!group[i]->is_sound)
			return false;
	return true;
}

/*
 * The migrations of the sound versions. Once any problem is known only a
 * lenient load (validate) keeps building, to check the rest's SQL.
 */
static int cmp_entry_description(const void *a, const void *b)
{
	const struct entry *const *x = a, *const *y = b;

	return strcmp((*x)->description, (*y)->description);
}

/* Up file `up` of migration `k`, its text not kept, kept for
 * source_read_ups(): what it learnt stays in the migration. Its entry is
 * freed once read: an apply of every migration reads them all. */
static void keep_up(struct strata_source *src, size_t k, const struct entry *up)
{
	struct entry *e;

	if (!up->content || up->content->text)
		return;
	e = xmalloc(sizeof(*e));
	*e = *up;
	e->content = NULL;
	e->err = NULL;
	e->partner = NULL;
	e->is_sound = false;
	e->has_fd = false;
	/* a diesel file found: read as any file, its metadata.toml known */
	e->is_probe = false;
	src->ups[k] = e;
}

/* The down file of migration `k`, unread, kept for source_read_downs(). */
static void keep_down(struct strata_source *src, size_t k, struct entry **group,
                      size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct entry *e;

		if (group[i]->kind != KIND_DOWN || group[i]->content)
			continue;
		e = arena_alloc(&src->arena, sizeof(*e));
		*e = *group[i];
		e->is_sound = false;
		src->downs[k] = e;
	}
}

/*
 * The named entries of diesel's directories, all read and sound, in
 * cmp_entry_version()'s order with only the up files sorted: a down file
 * DIR/down.sql orders among the others as its DIR/up.sql does, so each
 * version's down files follow its up files in their order. Half the
 * entries to sort, on the main thread. False (nothing changed) for any
 * other folder.
 */
static bool sort_diesel_pairs(struct entry **v, size_t n)
{
	struct entry **ups;
	size_t n_up = 0, k = 0;

	for (size_t i = 0; i < n; i++)
		if (!v[i]->is_probe || !v[i]->is_sound)
			return false;
	ups = xcalloc(n, sizeof(*ups));
	for (size_t i = 0; i < n; i++)
		if (v[i]->kind == KIND_UP)
			ups[n_up++] = v[i];
	qsort(ups, n_up, sizeof(*ups), cmp_entry_version);
	for (size_t i = 0; i < n_up;) {
		size_t j = i + 1;

		while (j < n_up && ups[j]->version == ups[i]->version)
			j++;
		for (size_t u = i; u < j; u++)
			v[k++] = ups[u];
		for (size_t u = i; u < j; u++)
			if (ups[u]->partner->is_named)
				v[k++] = ups[u]->partner;
		i = j;
	}
	if (k != n)
		BUG("diesel's down files are not their up files' partners");
	free(ups);
	return true;
}

/* A deferred file per migration, none yet. */
static struct entry **deferred_table(struct strata_source *src, size_t n)
{
	size_t size = (n ? n : 1) * sizeof(struct entry *);
	struct entry **v = arena_alloc(&src->arena, size);

	memset(v, 0, size);
	return v;
}

static void build_migrations(struct strata_source *src, struct entry **v,
                             size_t n, struct problems *problems,
                             bool is_lenient)
{
	struct strata_migration *ms;
	size_t n_named = 0, n_ms = 0, n_versions = 0, n_rep = 0;

	for (size_t i = 0; i < n; i++)
		if (v[i]->is_named)
			v[n_named++] = v[i];
	/* Flyway's repeatables run after every versioned one, by
	 * description (Java's order of strings: of the UTF-8 bytes but past
	 * U+FFFF); two of one description share a version, which
	 * source_check_version() refuses as Flyway does */
	for (size_t i = 0; i < n_named; i++)
		n_rep += v[i]->is_repeatable;
	if (n_rep) {
		struct entry **rep = xcalloc(n_rep, sizeof(*rep));
		int64_t key = STRATA_VERSION_REPEATABLE;

		for (size_t i = 0, k = 0; i < n_named; i++)
			if (v[i]->is_repeatable)
				rep[k++] = v[i];
		qsort(rep, n_rep, sizeof(*rep), cmp_entry_description);
		for (size_t i = 0; i < n_rep; i++) {
			key += i && strcmp(rep[i]->description,
			                   rep[i - 1]->description);
			rep[i]->version = key;
		}
		free(rep);
	}
	if (n_named && !sort_diesel_pairs(v, n_named))
		qsort(v, n_named, sizeof(*v), cmp_entry_version);
	for (size_t i = 0; i < n_named; i++)
		n_versions += !i || v[i]->version != v[i - 1]->version;
	ms = arena_alloc(&src->arena,
	                 (n_versions ? n_versions : 1) * sizeof(*ms));
	if (src->downs)
		src->downs = deferred_table(src, n_versions);
	if (src->ups)
		src->ups = deferred_table(src, n_versions);
	for (size_t i = 0; i < n_named;) {
		struct strata_error perr = STRATA_ERROR_INIT;
		struct strata_migration *m = &ms[n_ms];
		const char *key;
		size_t j = i + 1;

		while (j < n_named && v[j]->version == v[i]->version)
			j++;
		if (source_check_version(m, v + i, j - i, &key, &perr) < 0) {
			source_problems_add(problems, key, &perr);
		} else if (is_lenient ? is_group_sound(v + i, j - i)
		                      : !problems->n) {
			fill_texts(m, v[i], j - i > 1 ? v[i + 1] : NULL,
			           &src->arena);
			if (src->downs)
				keep_down(src, n_ms, v + i, j - i);
			if (src->ups)
				keep_up(src, n_ms, v[i]);
			n_ms++;
		}
		i = j;
	}
	src->migrations = ms;
	src->n = n_ms;
}

static void check_entry(struct entry *e, struct reader *r)
{
	struct strata_error err = STRATA_ERROR_INIT;

	if (source_check_entry(e, r, &err) < 0) {
		e->err = xmalloc(sizeof(err));
		*e->err = err;
	}
}

static void *reader_run(void *arg)
{
	struct reader *r = arg;

	for (;;) {
		size_t i = atomic_fetch_add(r->next, 1);

		if (i >= r->n)
			break;
		check_entry(r->entries[i], r);
		if (r->entries[i]->partner)
			check_entry(r->entries[i]->partner, r);
	}
	return NULL;
}

/*
 * source_check_entry() for every entry, on up to MAX_READERS threads taking the
 * next entry in turn; what each found stays in the entry, so the problems
 * come out in the same order whichever thread read which file.
 */
static void read_entries(struct strata_source *src, struct reader *r,
                         struct arena scratch[MAX_READERS - 1],
                         struct entry **entries, size_t n)
{
	struct reader others[MAX_READERS - 1];
	pthread_t threads[MAX_READERS - 1];
	atomic_size_t next = 0;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	size_t n_threads = n / FILES_PER_READER, started = 0, n_taken = n;
	/* the entries taken in turn: a partner is read with its up file */
	struct entry **taken = entries;

	if (r->layout == STRATA_LAYOUT_DIESEL) {
		taken = xcalloc(n ? n : 1, sizeof(*taken));
		n_taken = 0;
		for (size_t i = 0; i < n; i++)
			if (!(entries[i]->is_probe &&
			      entries[i]->kind == KIND_DOWN))
				taken[n_taken++] = entries[i];
	}
	if (n_threads > (size_t)(cpus > 0 ? cpus : 1))
		n_threads = (size_t)(cpus > 0 ? cpus : 1);
	if (n_threads > MAX_READERS)
		n_threads = MAX_READERS;
	r->entries = taken;
	r->n = n_taken;
	r->next = &next;
	for (size_t t = 0; t + 1 < n_threads; t++) {
		others[t] = *r;
		others[t].arena = &src->reader_arenas[t];
		others[t].scratch = &scratch[t];
		others[t].root = NULL;
		others[t].buf = (struct sbuf)SBUF_INIT;
		/* without a thread the others are read here: nothing lost */
		if (cancel_thread_create(&threads[t], reader_run, &others[t]))
			break;
		started++;
	}
	reader_run(r);
	for (size_t t = 0; t < started; t++) {
		pthread_join(threads[t], NULL);
		sbuf_release(&others[t].buf);
	}
	if (taken != entries)
		free(taken);
}

static size_t count_versioned(struct entry **v, size_t n)
{
	size_t count = 0;

	for (size_t i = 0; i < n; i++)
		count += source_is_versioned(v[i]->name, false);
	return count;
}

static bool has_diesel_dirs(const struct aliens *a)
{
	for (size_t i = 0; i < a->n; i++)
		if (a->v[i].kind == ALIEN_DIESEL)
			return true;
	return false;
}

/* A file of one layout in a folder read in another: never passed over. */
static void layout_problem(struct problems *problems, const struct entry *e,
                           const char *what, enum strata_layout layout)
{
	struct strata_error err = STRATA_ERROR_INIT;

	strata_error_set(&err, STRATA_EVALIDATE,
	                 "'%s' is %s, in a folder read in %s's layout", e->path,
	                 what, strata_layout_name(layout));
	strata_error_hint(
	        &err,
	        "Keep one layout per folder; choose the layout with --layout (or layout = in strata.conf) if strata chose the wrong one.");
	error_set_location(&err, e->path, NULL, 0, 0);
	source_problems_add(problems, e->name, &err);
}

/* The aliens but those of `kind`, which the folder's layout reads (diesel's
 * directories) or passes over (Flyway's V1__notes.md, V1__x.sql.conf). */
static void drop_aliens(struct aliens *a, enum alien_kind kind)
{
	size_t k = 0;

	for (size_t i = 0; i < a->n; i++)
		if (a->v[i].kind != kind)
			a->v[k++] = a->v[i];
	a->n = k;
}

static size_t count_flyway(struct entry **v, size_t n)
{
	size_t count = 0;

	for (size_t i = 0; i < n; i++)
		count += v[i]->is_flyway;
	return count;
}

/* A Flyway callback: Flyway runs it at its event, strata never would. */
static void callback_problem(struct problems *problems, const struct entry *e,
                             const char *event)
{
	struct strata_error err = STRATA_ERROR_INIT;

	strata_error_set(
	        &err, STRATA_EVALIDATE,
	        "'%s' is a Flyway callback (%s), which strata does not run",
	        e->path, event);
	strata_error_detail(
	        &err,
	        "Flyway runs it at that point of its commands; strata would apply the migrations without it.");
	strata_error_hint(
	        &err,
	        "Move it out of the migration directory and run it yourself where Flyway would (after strata run, for afterMigrate), or make it a repeatable migration (R__name.sql) if it is to run whenever it changes.");
	error_set_location(&err, e->path, NULL, 0, 0);
	source_problems_add(problems, e->name, &err);
}

/*
 * A folder read in Flyway's layout: its Flyway files. Another .sql file is
 * passed over as Flyway passes it over, but one named as sqlx names
 * migrations is an error naming it and a Flyway file: its migration would
 * never run; so is a callback Flyway runs. Returns the count kept.
 */
static size_t keep_flyway(struct entry **v, size_t n, struct problems *problems,
                          enum strata_layout asked, const char *dir)
{
	const struct entry *first = NULL, *other = NULL;
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		const char *event = NULL;

		if (v[i]->is_flyway) {
			if (!first || strcmp(v[i]->name, first->name) < 0)
				first = v[i];
			v[k++] = v[i];
		} else if ((event = source_flyway_callback(
		                    source_entry_file(v[i])))) {
			callback_problem(problems, v[i], event);
		} else if (source_is_versioned(source_entry_file(v[i]),
		                               false) &&
		           (!other || strcmp(v[i]->name, other->name) < 0)) {
			other = v[i];
		}
	}
	if (other && (asked != STRATA_LAYOUT_AUTO || !first)) {
		layout_problem(problems, other, "a file of another layout",
		               STRATA_LAYOUT_FLYWAY);
	} else if (other) {
		struct strata_error err = STRATA_ERROR_INIT;

		strata_error_set(
		        &err, STRATA_EVALIDATE,
		        "'%s' mixes Flyway migrations ('%s') with sqlx's ('%s')",
		        dir, first->name, other->name);
		strata_error_detail(
		        &err,
		        "Flyway would pass over '%s', sqlx over '%s': whichever reads the folder, some migrations would never run.",
		        other->name, first->name);
		strata_error_hint(
		        &err,
		        "Keep one layout per folder: rename the sqlx files to V<VERSION>__<DESCRIPTION>.sql, or move them out.");
		error_set_location(&err, other->path, NULL, 0, 0);
		source_problems_add(problems, other->name, &err);
	}
	return k;
}

/*
 * Flyway reads the folder's subdirectories too: they are walked when the
 * folder is Flyway's, or may be (no other layout's migration at its top),
 * and their files kept when it is. Then each Flyway file learns whether
 * its NAME.sql.conf was listed beside it.
 */
static int walk_flyway(struct entry ***v, size_t *n, size_t *alloc,
                       struct listing *l, struct aliens *aliens,
                       enum strata_layout layout, int dir_fd, const char *dir,
                       struct arena *scratch, struct arena *keep,
                       struct strata_error *err)
{
	size_t top = *n;

	if (l->n_dirs &&
	    (layout == STRATA_LAYOUT_FLYWAY ||
	     (layout == STRATA_LAYOUT_AUTO &&
	      (count_flyway(*v, *n) ||
	       (!count_versioned(*v, *n) && !has_diesel_dirs(aliens)))))) {
		if (source_walk_flyway(v, n, alloc, l, dir_fd, dir, scratch,
		                       keep, err) < 0)
			return -1;
		if (layout == STRATA_LAYOUT_FLYWAY || count_flyway(*v, *n))
			/* read: no longer directories strata passes over */
			drop_aliens(aliens, ALIEN_DIR);
		else
			*n = top;
	}
	for (size_t i = 0; l->confs.n && i < *n; i++)
		(*v)[i]->has_flyway_conf = (*v)[i]->is_flyway &&
		                           strmap_has(&l->confs, (*v)[i]->name);
	return 0;
}

/*
 * A folder that is not Flyway's: its Flyway-named .sql files are aliens,
 * refused as they were in sqlx's layout. Returns the count of the others.
 */
static size_t unmark_flyway(struct entry **v, size_t n, struct aliens *aliens)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		if (v[i]->is_flyway)
			source_aliens_add(aliens, ALIEN_FLYWAY, 0, v[i]->name,
			                  v[i]->path);
		else
			v[k++] = v[i];
	}
	return k;
}

/*
 * The layout of a folder whose files are read: dbmate's when its files
 * hold dbmate's sections, sqlx's otherwise; a folder of both is neither.
 */
static enum strata_layout settle_layout(enum strata_layout asked,
                                        struct entry **v, size_t n,
                                        struct problems *problems)
{
	const struct entry *dbmate = NULL, *other = NULL;

	if (asked == STRATA_LAYOUT_SQLX || asked == STRATA_LAYOUT_DIESEL ||
	    asked == STRATA_LAYOUT_FLYWAY)
		return asked;
	if (asked == STRATA_LAYOUT_GOLANG_MIGRATE) {
		/* golang-migrate reads VERSION_title.up.sql / .down.sql */
		for (size_t i = 0; i < n; i++)
			if (v[i]->is_named && v[i]->kind == KIND_SIMPLE) {
				layout_problem(
				        problems, v[i],
				        "not named as golang-migrate names migrations (VERSION_title.up.sql)",
				        asked);
				break;
			}
		return asked;
	}
	for (size_t i = 0; i < n; i++) {
		const struct entry *e = v[i];

		if (!e->is_named || !e->is_sound)
			continue;
		if (e->content && e->content->is_dbmate) {
			if (!dbmate || strcmp(e->name, dbmate->name) < 0)
				dbmate = e;
		} else if (!other || strcmp(e->name, other->name) < 0) {
			other = e;
		}
	}
	if (asked == STRATA_LAYOUT_DBMATE) {
		if (other)
			layout_problem(
			        problems, other,
			        "not a dbmate migration (no '-- migrate:up')",
			        asked);
		return asked;
	}
	if (dbmate && other) {
		layout_problem(
		        problems, other,
		        "a migration of sqlx's layout (no '-- migrate:up')",
		        STRATA_LAYOUT_DBMATE);
		return STRATA_LAYOUT_DBMATE;
	}
	return dbmate ? STRATA_LAYOUT_DBMATE : STRATA_LAYOUT_SQLX;
}

/*
 * diesel runs migrations in the order of their versions as text, dbmate in
 * the order of the file names: when that is not the order of the numbers
 * (versions of different lengths), strata would run them in another order
 * than the tool, so the folder is refused rather than read either way.
 */
static void check_text_order(const struct strata_source *src,
                             struct problems *problems)
{
	for (size_t i = 1; i < src->n; i++) {
		const struct strata_migration *a = &src->migrations[i - 1];
		const struct strata_migration *b = &src->migrations[i];
		struct strata_error err = STRATA_ERROR_INIT;

		if (strcmp(a->version_text, b->version_text) < 0)
			continue;
		strata_error_set(
		        &err, STRATA_EVALIDATE,
		        "%s runs '%s' before '%s', strata the other way round",
		        strata_layout_name(src->layout), b->up_path,
		        a->up_path);
		strata_error_detail(
		        &err,
		        "%s orders versions as text ('%s' before '%s'), strata as numbers.",
		        strata_layout_name(src->layout), b->version_text,
		        a->version_text);
		strata_error_hint(
		        &err,
		        "Give the versions the same number of digits (leading zeros), so that both orders agree.");
		error_set_location(&err, b->up_path, NULL, 0, 0);
		source_problems_add(problems, b->up_path, &err);
		return;
	}
}

/* ${flyway:timestamp}: the load's local time, as Flyway's
 * SimpleDateFormat("yyyy-MM-dd HH:mm:ss") writes it */
static const char *flyway_timestamp(struct arena *arena)
{
	char buf[32];
	time_t t = time(NULL);
	struct tm tm;

	if (!localtime_r(&t, &tm) ||
	    !strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm))
		buf[0] = '\0';
	return arena_strdup(arena, buf);
}

/* What reading a deferred file later needs of the load's reader. */
static void keep_reader(struct strata_source *src, const struct reader *r)
{
	/* non-NULL marks the load deferred: build_migrations() sizes them */
	if (r->is_down_deferred)
		src->downs = arena_alloc(&src->arena, sizeof(*src->downs));
	if (r->is_up_deferred)
		src->ups = arena_alloc(&src->arena, sizeof(*src->ups));
	src->max_file_size = r->max;
	src->read_layout = r->layout;
	src->timestamp = arena_strdup(&src->arena, r->timestamp);
	src->n_placeholders = r->n_placeholders;
	if (r->n_placeholders)
		src->placeholders = arena_alloc(
		        &src->arena,
		        r->n_placeholders * sizeof(*src->placeholders));
	for (size_t i = 0; i < r->n_placeholders; i++) {
		const struct strata_placeholder *p = &r->placeholders[i];

		src->placeholders[i].name =
		        p->name ? arena_strdup(&src->arena, p->name) : NULL;
		src->placeholders[i].value =
		        p->value ? arena_strdup(&src->arena, p->value) : NULL;
	}
}

static struct strata_source *source_new(const char *dir)
{
	struct strata_source *src = xcalloc(1, sizeof(*src));

	src->dir = arena_strdup(&src->arena, dir);
	src->layout = STRATA_LAYOUT_SQLX;
	pthread_mutex_init(&src->deferred_lock, NULL);
	return src;
}

int strata_source_load(struct strata_source **out, const char *dir,
                       const struct strata_source_options *opts,
                       struct strata_error *err)
{
	struct strata_source *src = source_new(dir);
	struct reader r = {
		.arena = &src->arena,
		.dir_fd = -1,
		.dir = dir,
		.max = opts && opts->max_file_size
		               ? opts->max_file_size
		               : STRATA_DEFAULT_MAX_FILE_SIZE,
		.is_checksums_only = opts && opts->is_checksums_only,
		.is_down_deferred = opts && !opts->is_checksums_only &&
		                    opts->is_down_deferred,
		.is_up_deferred = opts && !opts->is_checksums_only &&
		                  opts->is_up_deferred,
		.is_down_lookup_skipped = opts && opts->is_checksums_only &&
		                          opts->is_down_lookup_skipped,
		.layout = opts ? opts->layout : STRATA_LAYOUT_AUTO,
		.placeholders = opts ? opts->placeholders : NULL,
		.n_placeholders = opts ? opts->n_placeholders : 0,
		.buf = SBUF_INIT,
	};
	struct problems problems = { NULL, 0, 0 };
	struct aliens aliens = { NULL, 0, 0 };
	struct listing listing = { 0 };
	/* the entries and what was read of them: gone once loaded */
	struct arena scratch = ARENA_INIT, reader_scratch[MAX_READERS - 1];
	struct entry **entries = NULL;
	size_t n = 0, alloc = 0;
	int rc = -1;

	*out = NULL;
	if (OPTIONS_CHECK(opts, STRATA_SOURCE_OPTIONS_VERSION,
	                  "strata_source_options", err) < 0) {
		strata_source_free(src);
		return -1;
	}
	memset(reader_scratch, 0, sizeof(reader_scratch));
	r.scratch = &scratch;
	r.timestamp = flyway_timestamp(&scratch);
	if (list_dir(&entries, &n, &r.dir_fd, &aliens, &listing, &scratch,
	             &src->arena, dir, &alloc,
	             r.layout == STRATA_LAYOUT_AUTO ||
	                     r.layout == STRATA_LAYOUT_DIESEL,
	             r.layout == STRATA_LAYOUT_AUTO ||
	                     r.layout == STRATA_LAYOUT_FLYWAY,
	             err) < 0 ||
	    walk_flyway(&entries, &n, &alloc, &listing, &aliens, r.layout,
	                r.dir_fd, dir, &scratch, &src->arena, err) < 0)
		goto done;
	if (r.layout == STRATA_LAYOUT_FLYWAY ||
	    (r.layout == STRATA_LAYOUT_AUTO && count_flyway(entries, n))) {
		n = keep_flyway(entries, n, &problems, r.layout, dir);
		source_flyway_script_problems(&problems, &listing);
		r.layout = STRATA_LAYOUT_FLYWAY;
		drop_aliens(&aliens, ALIEN_FLYWAY);
	} else if (r.layout == STRATA_LAYOUT_AUTO) {
		n = unmark_flyway(entries, n, &aliens);
	}
	if (r.layout == STRATA_LAYOUT_DIESEL ||
	    (r.layout == STRATA_LAYOUT_AUTO && !count_versioned(entries, n) &&
	     has_diesel_dirs(&aliens))) {
		r.layout = STRATA_LAYOUT_DIESEL;
		/* diesel passes over files: SQL beside the directories that
		 * is named like no migration (seed data) stays unread */
		for (size_t i = 0; i < n; i++)
			if (source_is_versioned(entries[i]->name, false))
				layout_problem(&problems, entries[i],
				               "a file of another layout",
				               STRATA_LAYOUT_DIESEL);
		n = 0;
		source_add_diesel(&entries, &n, &alloc, &problems, &aliens,
		                  r.dir_fd, &scratch, &src->arena);
		drop_aliens(&aliens, ALIEN_DIESEL);
	}
	source_scan_aliens(&aliens, r.dir_fd);
	source_report_aliens(&problems, &aliens, dir, r.layout);
	/*
	 * Loaded once listed: a load begun beside libpq's (which brings
	 * libcrypto in) lists the folder while the loader's lock is held.
	 */
	if (checksum_load(err) < 0)
		goto done;
	read_entries(src, &r, reader_scratch, entries, n);
	if (r.is_down_deferred || r.is_up_deferred)
		keep_reader(src, &r);
	src->layout = settle_layout(r.layout, entries, n, &problems);
	src->is_layout_asked = r.layout != STRATA_LAYOUT_AUTO;
	for (size_t i = 0; i < n; i++)
		if (entries[i]->err) {
			source_problems_add(&problems, entries[i]->name,
			                    entries[i]->err);
			free(entries[i]->err);
		}
	build_migrations(src, entries, n, &problems,
	                 opts && opts->is_lenient && opts->problems);
	if (src->layout == STRATA_LAYOUT_DBMATE ||
	    src->layout == STRATA_LAYOUT_DIESEL)
		check_text_order(src, &problems);
	/* sqlx shows its versions as numbers: 0001 is 1 */
	if (src->layout == STRATA_LAYOUT_SQLX ||
	    src->layout == STRATA_LAYOUT_GOLANG_MIGRATE)
		for (size_t i = 0; i < src->n; i++)
			src->migrations[i].version_text =
			        arena_strfmt(&src->arena, "%" PRId64,
			                     src->migrations[i].version);
	if (problems.n) {
		problems_report(&problems, opts ? opts->problems : NULL, err);
		if (!(opts && opts->is_lenient && opts->problems))
			goto done;
		strata_error_release(err);
	}
	if (!src->n && !problems.n && !(opts && opts->is_empty_ok)) {
		strata_error_set(err, STRATA_EVALIDATE,
		                 "'%s' holds no migration", dir);
		strata_error_detail(
		        err,
		        "Migrations are files named VERSION_DESCRIPTION.sql (or .up.sql and .down.sql); a folder without any would report any database up to date.");
		strata_error_hint(
		        err,
		        "Create the first migration in it (strata_migration_new() does), or load the directory that holds the migrations.");
		strata_error_reason(err, STRATA_REASON_SOURCE_EMPTY, -1);
		goto done;
	}
	*out = src;
	src = NULL;
	rc = 0;
done:
	strata_source_free(src);
	problems_release(&problems);
	free(aliens.v);
	strmap_release(&listing.confs);
	free(listing.dirs);
	free(listing.scripts);
	sbuf_release(&r.buf);
	free(entries);
	arena_release(&scratch);
	for (size_t t = 0; t < MAX_READERS - 1; t++)
		arena_release(&reader_scratch[t]);
	if (r.dir_fd >= 0)
		close(r.dir_fd);
#ifdef __GLIBC__
	/* what the reading threads freed (every file's entry, and its text
	 * where not kept) stays theirs unless given back: 2 MB of a run with
	 * nothing to do at 10,000 migrations. Not worth the walk of the heap
	 * (a millisecond) for a few files, which `serve` reads at each
	 * refresh. */
	if (n >= FILES_PER_READER)
		malloc_trim(0);
#endif
	return rc;
}

void strata_source_free(struct strata_source *src)
{
	if (!src)
		return;
	for (size_t k = 0; src->ups && k < src->n; k++)
		free(src->ups[k]);
	arena_release(&src->arena);
	for (size_t t = 0; t < MAX_READERS - 1; t++)
		arena_release(&src->reader_arenas[t]);
	pthread_mutex_destroy(&src->deferred_lock);
	free(src);
}

struct strata_source *source_new_built(const char *dir,
                                       struct arena **out_arena)
{
	struct strata_source *src = source_new(dir);

	src->is_built = true;
	*out_arena = &src->arena;
	return src;
}

int source_subset(struct strata_source **out, const struct strata_source *src,
                  const bool *keep, enum strata_layout layout,
                  struct strata_error *err)
{
	const struct strata_migration **kept =
	        xcalloc(src->n ? src->n : 1, sizeof(*kept));
	struct strata_source *sub;
	struct arena *arena;
	size_t n = 0;

	*out = NULL;
	for (size_t i = 0; i < src->n; i++)
		if (keep[i])
			kept[n++] = &src->migrations[i];
	if (source_read_ups(src, kept, n, err) < 0) {
		free(kept);
		return -1;
	}
	sub = source_new_built(src->dir, &arena);
	sub->migrations =
	        arena_alloc(arena, (n ? n : 1) * sizeof(*src->migrations));
	for (size_t i = 0; i < n; i++)
		sub->migrations[i] = *kept[i];
	sub->n = n;
	sub->layout = layout;
	sub->is_layout_asked = true;
	free(kept);
	*out = sub;
	return 0;
}

const char *source_folder(const struct strata_source *src)
{
	return src->is_built ? NULL : src->dir;
}

void source_set_migrations(struct strata_source *src,
                           struct strata_migration *ms, size_t n)
{
	src->migrations = ms;
	src->n = n;
}

const char *strata_source_dir(const struct strata_source *src)
{
	return src->dir;
}

bool source_is_layout_asked(const struct strata_source *src)
{
	return src->is_layout_asked;
}

bool source_is_all_pairs(const struct strata_source *src)
{
	for (size_t i = 0; i < src->n; i++)
		if (!src->migrations[i].is_reversible_pair)
			return false;
	return src->n > 0;
}

void source_name_version(const struct strata_source *src,
                         struct strata_error *err)
{
	const struct strata_migration *m;

	if (!err || !err->has_version || !src ||
	    !(m = strata_source_find(src, err->version)))
		return;
	snprintf(err->version_text, sizeof(err->version_text), "%s",
	         migration_version(m));
}

const char *migration_version(const struct strata_migration *m)
{
	/* a migration made by hand (tests) has no text: its number */
	static _Thread_local char buf[24];

	if (m->version_text)
		return m->version_text;
	snprintf(buf, sizeof(buf), "%" PRId64, m->version);
	return buf;
}

enum strata_layout strata_source_layout(const struct strata_source *src)
{
	return src->layout;
}

#define REPEATABLE_HASH_MASK ((INT64_C(1) << 48) - 1)

/* FNV-1a of a repeatable's description, in 48 bits */
static int64_t repeatable_hash(const char *s, size_t len)
{
	uint64_t h = UINT64_C(14695981039346656037);

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * UINT64_C(1099511628211);
	return (int64_t)(h & (uint64_t)REPEATABLE_HASH_MASK);
}

/*
 * diesel orders versions as text, and a number loses its leading zeros:
 * 0 names "00000000000000" (diesel's initial setup) when that is the one
 * migration whose digits have that value. Else the digits as written.
 */
static int64_t diesel_version_key(const struct strata_source *src,
                                  int64_t version, const char *digits,
                                  size_t len)
{
	int64_t key = -1;
	size_t n_same = 0;

	for (size_t i = 0; i < src->n; i++) {
		const char *text = src->migrations[i].version_text;

		if (text && strtoll(text, NULL, 10) == version) {
			key = src->migrations[i].version;
			n_same++;
		}
	}
	return n_same == 1 ? key : source_diesel_key(digits, len);
}

int64_t strata_source_version_key(const struct strata_source *src,
                                  int64_t version)
{
	char digits[24];
	int len;

	if (version < 0)
		return -1;
	if ((version & STRATA_VERSION_FLYWAY_KEY) &&
	    (version & STRATA_VERSION_REPEATABLE)) {
		for (size_t i = src->n; i-- > 0;) {
			const struct strata_migration *m = &src->migrations[i];

			if (!m->is_repeatable)
				break;
			if (repeatable_hash(m->description,
			                    strlen(m->description)) ==
			    (version & REPEATABLE_HASH_MASK))
				return m->version;
		}
		return -1;
	}
	if (version & STRATA_VERSION_FLYWAY_KEY)
		return src->layout == STRATA_LAYOUT_FLYWAY
		               ? version & ~STRATA_VERSION_FLYWAY_KEY
		               : -1;
	if (src->layout != STRATA_LAYOUT_DIESEL &&
	    src->layout != STRATA_LAYOUT_FLYWAY)
		return version;
	len = snprintf(digits, sizeof(digits), "%" PRId64, version);
	if (src->layout == STRATA_LAYOUT_FLYWAY)
		return source_flyway_key(digits, (size_t)len);
	return diesel_version_key(src, version, digits, (size_t)len);
}

int strata_version_parse(int64_t *out, const char *text)
{
	char *end;
	long long v;
	int64_t key;

	/* a repeatable by its name, R__DESCRIPTION: its description's hash,
	 * which strata_source_version_key() finds in the source */
	if (!strncmp(text, "R__", 3) && text[3]) {
		struct sbuf desc = SBUF_INIT;

		for (const char *p = text + 3; *p; p++)
			sbuf_addch(&desc, *p == '_' ? ' ' : *p);
		*out = STRATA_VERSION_FLYWAY_KEY | STRATA_VERSION_REPEATABLE |
		       repeatable_hash(desc.buf, desc.len);
		sbuf_release(&desc);
		return 0;
	}

	errno = 0;
	v = strtoll(text, &end, 10);
	if (!errno && !*end && end != text && v >= 0) {
		*out = v;
		return 0;
	}
	key = source_flyway_key(text, strlen(text));
	if (key < 0 || !strpbrk(text, "._"))
		return -1;
	*out = key | STRATA_VERSION_FLYWAY_KEY;
	return 0;
}

static const char *const layout_names[] = {
	[STRATA_LAYOUT_AUTO] = "auto",
	[STRATA_LAYOUT_SQLX] = "sqlx",
	[STRATA_LAYOUT_DBMATE] = "dbmate",
	[STRATA_LAYOUT_DIESEL] = "diesel",
	[STRATA_LAYOUT_GOLANG_MIGRATE] = "golang-migrate",
	[STRATA_LAYOUT_FLYWAY] = "flyway",
};

const char *strata_layout_name(enum strata_layout layout)
{
	if ((size_t)layout < ARRAY_SIZE(layout_names))
		return layout_names[layout];
	return "unknown";
}

int strata_layout_parse(enum strata_layout *out, const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(layout_names); i++)
		if (!strcmp(name, layout_names[i])) {
			*out = (enum strata_layout)i;
			return 0;
		}
	return -1;
}

size_t strata_source_count(const struct strata_source *src)
{
	return src->n;
}

const struct strata_migration *strata_source_at(const struct strata_source *src,
                                                size_t i)
{
	assert(i < src->n);
	return &src->migrations[i];
}

const struct strata_migration *
strata_source_find(const struct strata_source *src, int64_t version)
{
	size_t lo = 0, hi = src->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int64_t v = src->migrations[mid].version;

		if (v == version)
			return &src->migrations[mid];
		if (v < version)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}
