/*
 * A program with its migrations compiled in (tests/t/0060-embed.bats):
 * each library call that takes a source, made on the embedded one.
 *
 *	embed-prog load|lint                  no database
 *	embed-prog run|status|check|validate|revert URL
 *	embed-prog run-ahead URL   the lock's session opened ahead; a line
 *	                           read from stdin before the run
 *	embed-prog run-locking URL the same, opened with the work's session
 *	                           (strata_db_open_locking())
 *
 * Prints one line per migration or result; exits with the error's code.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <strata.h>

extern const struct strata_embedded strata_migrations;

static void print_hex(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		printf("%02x", p[i]);
}

static int load(const struct strata_source *src)
{
	printf("dir %s\n", strata_source_dir(src));
	for (size_t i = 0; i < strata_source_count(src); i++) {
		const struct strata_migration *m = strata_source_at(src, i);

		printf("%lld %s %s %zu %s %d ", (long long)m->version,
		       m->up_path, m->down_path ? m->down_path : "-", m->up_len,
		       m->description, m->is_no_transaction);
		print_hex(m->checksum, STRATA_CHECKSUM_LEN);
		printf("\n");
	}
	return 0;
}

static int with_db(const char *cmd, struct strata_db *db,
                   const struct strata_source *src, struct strata_error *err)
{
	if (!strcmp(cmd, "run") || !strcmp(cmd, "run-ahead") ||
	    !strcmp(cmd, "run-locking")) {
		struct strata_run_options ro = STRATA_RUN_OPTIONS_INIT;
		struct strata_run_result res;
		char line[16];

		if (strcmp(cmd, "run")) {
			/* strata_db_open_locking() prepared it already */
			if (!strcmp(cmd, "run-ahead"))
				strata_db_prepare(db);
			printf("prepared\n");
			fflush(stdout);
			if (!fgets(line, sizeof(line), stdin))
				return 2;
		}
		if (strata_migrate_run(&res, db, src, &ro, err) < 0)
			return -1;
		printf("applied %zu\n", res.applied);
	} else if (!strcmp(cmd, "revert")) {
		struct strata_revert_options ro = STRATA_REVERT_OPTIONS_INIT;
		size_t n;

		if (strata_migrate_revert(&n, db, src, &ro, err) < 0)
			return -1;
		printf("reverted %zu\n", n);
	} else if (!strcmp(cmd, "status") || !strcmp(cmd, "check")) {
		struct strata_status *st;
		enum strata_code verdict;

		if (strata_status_get(&st, db, src, err) < 0)
			return -1;
		for (size_t i = 0; !strcmp(cmd, "status") && i < st->count; i++)
			printf("%lld %s\n", (long long)st->entries[i].version,
			       strata_state_name(st->entries[i].state));
		verdict = strata_status_verdict(st);
		printf("verdict %d\n", (int)verdict);
		strata_status_free(st);
		return verdict == STRATA_OK ? 0 : (int)verdict;
	} else if (!strcmp(cmd, "validate")) {
		struct strata_problems p;
		size_t n;

		if (strata_validate_source(&p, db, src, NULL, err) < 0)
			return -1;
		for (size_t i = 0; i < p.count; i++)
			printf("problem %s\n", p.items[i].message);
		n = p.count;
		strata_problems_release(&p);
		printf("problems %zu\n", n);
		return n ? STRATA_EVALIDATE : 0;
	} else {
		fprintf(stderr, "unknown command '%s'\n", cmd);
		return 2;
	}
	return 0;
}

static int lint(const struct strata_source *src, struct strata_error *err)
{
	struct strata_lint *l;

	if (strata_lint_new(&l, NULL, err) < 0)
		return -1;
	if (strata_lint_source(l, src, NULL, err) < 0) {
		strata_lint_free(l);
		return -1;
	}
	printf("files %zu\n", strata_lint_files(l));
	for (size_t i = 0; i < strata_lint_count(l); i++)
		printf("%s:%d: %s\n", strata_lint_at(l, i)->file,
		       strata_lint_at(l, i)->line, strata_lint_at(l, i)->rule);
	strata_lint_free(l);
	return 0;
}

int main(int argc, char **argv)
{
	struct strata_error err = STRATA_ERROR_INIT;
	struct strata_source *src = NULL;
	struct strata_db *db = NULL;
	struct strata_db_options dbo = STRATA_DB_OPTIONS_INIT;
	int rc;

	if (argc < 2)
		return 2;
	if (strata_source_from_embedded(&src, &strata_migrations, &err) < 0) {
		rc = -1;
	} else if (!strcmp(argv[1], "load")) {
		rc = load(src);
	} else if (!strcmp(argv[1], "lint")) {
		rc = lint(src, &err);
	} else if (argc < 3) {
		rc = 2;
	} else {
		dbo.lock_wait = 60;
		rc = !strcmp(argv[1], "run-locking")
		             ? strata_db_open_locking(&db, argv[2], &dbo, &err)
		             : strata_db_open(&db, argv[2], &dbo, &err);
		if (!rc)
			rc = with_db(argv[1], db, src, &err);
	}
	if (rc < 0) {
		fprintf(stderr, "error: %s\n", err.message);
		if (err.file)
			fprintf(stderr, "  at %s\n", err.file);
		if (err.detail)
			fprintf(stderr, "  detail: %s\n", err.detail);
		rc = (int)err.code;
	}
	strata_error_release(&err);
	strata_db_close(db);
	strata_source_free(src);
	return rc;
}
