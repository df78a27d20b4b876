/*
 * Listing a backup directory (strata's manifests, oldest first, and the
 * hidden .part- files of backups that never completed) and retention:
 * which backups a prune keeps (per database and kind, the newest of each
 * of the newest N days, ISO weeks and months, and pre-migration backups
 * younger than a duration) and which it removes: the manifest first, then
 * the file, so that an interrupted prune never leaves a manifest without
 * its backup; leftover .part- files too.
 */
#include "backup/backup.h"
#include "backup/files.h"
#include "util/xalloc.h"
#include "util/sbuf.h"
#include "util/error.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- listing ------------------------------------------------------------ */

static int list_cmp(const void *a, const void *b)
{
	const struct strata_backup *x = *(const struct strata_backup *const *)a;
	const struct strata_backup *y = *(const struct strata_backup *const *)b;

	if (x->created_at != y->created_at)
		return x->created_at < y->created_at ? -1 : 1;
	return strcmp(x->path, y->path);
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int strata_backup_list_load(struct strata_backup_list *out, const char *dir,
                            struct strata_error *err)
{
	struct strata_backup_list l = { 0 };
	size_t alloc = 0, alloc_inc = 0;
	struct dirent *de;
	DIR *d;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (!dir || !*dir)
		dir = STRATA_DEFAULT_BACKUP_DIR;
	d = opendir(dir);
	if (!d) {
		if (errno == ENOENT)
			return 0;
		return strata_error_set(err, STRATA_EFAILED,
		                        "could not read directory '%s': %s",
		                        dir, strerror(errno));
	}
	while ((de = readdir(d))) {
		const char *name = de->d_name;
		struct strata_backup *b = NULL;
		char *path;
		bool is_foreign;

		if (name[0] == '.') {
			if (strstr(name, PART_MARK)) {
				XGROW(l.incomplete, alloc_inc,
				      l.n_incomplete + 1);
				l.incomplete[l.n_incomplete++] =
				        xstrfmt("%s/%s", dir, name);
			}
			continue;
		}
		if (!backup_has_suffix(name, MANIFEST_SUFFIX))
			continue;
		path = xstrfmt("%s/%s", dir, name);
		if (backup_manifest_load(&b, path, &is_foreign, err) < 0) {
			free(path);
			if (is_foreign)
				continue;
			goto done;
		}
		free(path);
		XGROW(l.items, alloc, l.n + 1);
		l.items[l.n++] = b;
	}
	if (l.n > 1)
		qsort(l.items, l.n, sizeof(*l.items), list_cmp);
	if (l.n_incomplete > 1)
		qsort(l.incomplete, l.n_incomplete, sizeof(*l.incomplete),
		      str_cmp);
	*out = l;
	memset(&l, 0, sizeof(l));
	rc = 0;
done:
	closedir(d);
	strata_backup_list_release(&l);
	return rc;
}

void strata_backup_list_release(struct strata_backup_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		strata_backup_free(l->items[i]);
	free(l->items);
	for (size_t i = 0; i < l->n_incomplete; i++)
		free(l->incomplete[i]);
	free(l->incomplete);
	memset(l, 0, sizeof(*l));
}

/* ---- retention ---------------------------------------------------------- */

static void add_age(struct sbuf *sb, int64_t seconds)
{
	if (seconds < 0)
		sbuf_adds(sb, "from the future");
	else if (seconds < 2 * 3600)
		sbuf_addf(sb, "%" PRId64 " minutes old", seconds / 60);
	else if (seconds < 2 * DAY_SECONDS)
		sbuf_addf(sb, "%" PRId64 " hours old", seconds / 3600);
	else
		sbuf_addf(sb, "%" PRId64 " days old", seconds / DAY_SECONDS);
}

static void add_duration(struct sbuf *sb, double seconds)
{
	if (seconds >= DAY_SECONDS && (int64_t)seconds % DAY_SECONDS == 0)
		sbuf_addf(sb, "%" PRId64 " days",
		          (int64_t)seconds / DAY_SECONDS);
	else
		sbuf_addf(sb, "%.0f seconds", seconds);
}

/* Groups of retention: the same database and kind, newest first. */
static int order_cmp(const void *a, const void *b)
{
	const struct strata_backup *x =
	        (*(const struct strata_prune_entry *const *)a)->backup;
	const struct strata_backup *y =
	        (*(const struct strata_prune_entry *const *)b)->backup;
	int c = strcmp(x->database ? x->database : "",
	               y->database ? y->database : "");

	if (c)
		return c;
	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	if (x->created_at != y->created_at)
		return x->created_at > y->created_at ? -1 : 1;
	return -strcmp(x->path, y->path);
}

static bool same_group(const struct strata_backup *x,
                       const struct strata_backup *y)
{
	return x->kind == y->kind &&
	       strcmp(x->database ? x->database : "",
	              y->database ? y->database : "") == 0;
}

struct rule {
	const char *name;
	const char *bucket; /* strftime format of the period */
	size_t keep;
};

/* A retention count: 0 is the default, < 0 (STRATA_KEEP_NONE) none. */
static size_t keep_count(int n, int fallback)
{
	return n == 0 ? (size_t)fallback : n < 0 ? 0 : (size_t)n;
}

static void keep_for(struct strata_prune_entry *e, const char *why)
{
	struct sbuf sb = SBUF_INIT;

	if (e->is_kept && e->reason) {
		sbuf_adds(&sb, e->reason);
		sbuf_adds(&sb, ", ");
	}
	sbuf_adds(&sb, why);
	free(e->reason);
	e->reason = sbuf_detach(&sb, NULL);
	e->is_kept = true;
}

/* Applies `r` to order[0..n), which is grouped and newest first. */
static void apply_rule(struct strata_prune_entry **order, size_t n,
                       const struct rule *r)
{
	for (size_t g = 0; g < n;) {
		size_t end = g + 1, kept = 0;
		char last[32] = "";

		while (end < n &&
		       same_group(order[g]->backup, order[end]->backup))
			end++;
		for (size_t i = g; i < end && kept < r->keep; i++) {
			char key[32], why[64];

			backup_format_utc(key, sizeof(key), r->bucket,
			                  order[i]->backup->created_at);
			if (strcmp(key, last) == 0)
				continue;
			snprintf(last, sizeof(last), "%s", key);
			snprintf(why, sizeof(why), "%s %s", r->name, key);
			keep_for(order[i], why);
			kept++;
		}
		g = end;
	}
}

static int remove_file(const char *path, struct strata_error *err)
{
	/* a directory-format backup goes whole */
	if (backup_remove(path) == 0)
		return 0;
	return strata_error_set(err, STRATA_EFAILED,
	                        "could not remove '%s': %s", path,
	                        strerror(errno));
}

int strata_backup_prune(struct strata_prune_result *out, const char *dir,
                        const struct strata_retention *policy,
                        struct strata_error *err)
{
	static const struct strata_retention defaults = STRATA_RETENTION_INIT;
	const struct strata_retention *p = policy ? policy : &defaults;
	const struct rule rules[] = {
		{ "daily", "%Y-%m-%d",
		  keep_count(p->keep_daily, STRATA_DEFAULT_KEEP_DAILY) },
		{ "weekly", "%G-W%V",
		  keep_count(p->keep_weekly, STRATA_DEFAULT_KEEP_WEEKLY) },
		{ "monthly", "%Y-%m",
		  keep_count(p->keep_monthly, STRATA_DEFAULT_KEEP_MONTHLY) },
	};
	/* 0: the default; STRATA_KEEP_NONE: none (-1: no age qualifies) */
	double keep_pre = p->keep_pre_migration == 0
	                          ? STRATA_DEFAULT_KEEP_PRE_MIGRATION
	                  : p->keep_pre_migration == STRATA_KEEP_NONE
	                          ? -1
	                          : p->keep_pre_migration;
	bool is_keep_pre_forever = p->keep_pre_migration < 0 &&
	                           p->keep_pre_migration != STRATA_KEEP_NONE;
	struct strata_prune_result r = { 0 };
	struct strata_prune_entry **order = NULL;
	size_t n_order = 0, alloc = 0;
	int64_t now = p->now ? p->now : (int64_t)time(NULL);
	bool has_removed = false;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (!dir || !*dir)
		dir = STRATA_DEFAULT_BACKUP_DIR;
	if (OPTIONS_CHECK(policy, STRATA_RETENTION_VERSION, "strata_retention",
	                  err) < 0 ||
	    strata_backup_list_load(&r.list, dir, err) < 0)
		goto done;
	r.n = r.list.n;
	r.entries = xcalloc(r.n ? r.n : 1, sizeof(*r.entries));
	order = xcalloc(r.n ? r.n : 1, sizeof(*order));
	for (size_t i = 0; i < r.n; i++) {
		struct strata_prune_entry *e = &r.entries[i];
		const struct strata_backup *b = r.list.items[i];
		int64_t age = now - b->created_at;
		struct sbuf why = SBUF_INIT;

		e->backup = b;
		if (!b->is_pre_migration) {
			order[n_order++] = e;
			continue;
		}
		sbuf_adds(&why, "pre-migration, ");
		add_age(&why, age);
		if (is_keep_pre_forever || (double)age <= keep_pre) {
			e->is_kept = true;
		} else if (keep_pre < 0) {
			sbuf_adds(&why, ", none kept");
		} else {
			sbuf_adds(&why, ", over ");
			add_duration(&why, keep_pre);
		}
		e->reason = sbuf_detach(&why, NULL);
	}
	if (n_order > 1)
		qsort(order, n_order, sizeof(*order), order_cmp);
	for (size_t k = 0; k < ARRAY_SIZE(rules); k++)
		apply_rule(order, n_order, &rules[k]);
	for (size_t i = 0; i < r.n; i++) {
		struct strata_prune_entry *e = &r.entries[i];

		if (e->is_kept) {
			r.n_kept++;
			continue;
		}
		if (!e->reason)
			e->reason = xstrdup("not kept by the policy");
		r.n_removed++;
		if (p->is_dry_run)
			continue;
		/* the manifest first: never a complete-looking half */
		if (remove_file(e->backup->manifest_path, err) < 0 ||
		    remove_file(e->backup->path, err) < 0)
			goto done;
		has_removed = true;
	}
	for (size_t i = 0; i < r.list.n_incomplete; i++) {
		const char *path = r.list.incomplete[i];
		struct stat st;

		if (lstat(path, &st) < 0 ||
		    (int64_t)st.st_mtime > now - DAY_SECONDS)
			continue;
		XGROW(r.removed_incomplete, alloc, r.n_removed_incomplete + 1);
		r.removed_incomplete[r.n_removed_incomplete++] = xstrdup(path);
		if (p->is_dry_run)
			continue;
		if (remove_file(path, err) < 0)
			goto done;
		has_removed = true;
	}
	if (has_removed && backup_sync_dir(dir, err) < 0)
		goto done;
	*out = r;
	memset(&r, 0, sizeof(r));
	rc = 0;
done:
	free(order);
	strata_prune_result_release(&r);
	return rc;
}

void strata_prune_result_release(struct strata_prune_result *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->entries[i].reason);
	free(r->entries);
	for (size_t i = 0; i < r->n_removed_incomplete; i++)
		free(r->removed_incomplete[i]);
	free(r->removed_incomplete);
	strata_backup_list_release(&r->list);
	memset(r, 0, sizeof(*r));
}
