/*
 * lint-dump [--pg-version N] [--same-run] [--warn RULE] FILE...: lints FILEs
 * in one session (--warn: RULE, even one off by default, as a warning) and
 * prints the findings as `strata lint` prints text, then a summary line,
 * for the golden tests (tests/golden/lint/NAME.sql -> NAME.out). A first
 * line `-- no-transaction` marks a file as running
 * outside a transaction. `lint-dump --list-rules` prints the rule ids.
 * Exits 0 whenever it could lint (findings are part of the dump), 2 on a
 * usage error or an unreadable file.
 */
#include "util/common.h"
#include "util/sbuf.h"

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
	struct strata_lint_options opts = STRATA_LINT_OPTIONS_INIT;
	struct strata_error err = { 0 };
	struct strata_lint *l = NULL;
	struct strata_lint_setting warn[8];
	size_t n_warn = 0;
	bool is_same_run = false;
	int i = 1, rc = 2;

	if (argc == 2 && !strcmp(argv[1], "--list-rules")) {
		for (size_t r = 0; r < strata_lint_rule_count(); r++)
			printf("%s %s\n", strata_lint_rule_at(r)->id,
			       strata_severity_name(
			               strata_lint_rule_at(r)->severity));
		return 0;
	}
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--pg-version") && i + 1 < argc)
			opts.pg_version = (int)strtol(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--same-run"))
			is_same_run = true;
		else if (!strcmp(argv[i], "--notes"))
			opts.is_robust_notes = true;
		else if (!strcmp(argv[i], "--warn") && i + 1 < argc &&
		         n_warn < ARRAY_SIZE(warn))
			warn[n_warn++] = (struct strata_lint_setting){
				argv[++i], STRATA_SEVERITY_WARNING
			};
		else
			break;
	}
	if (i == argc) {
		fprintf(stderr,
		        "usage: lint-dump [--pg-version N] [--same-run] [--notes] [--warn RULE] FILE...\n");
		return 2;
	}
	opts.settings = warn;
	opts.n_settings = n_warn;
	if (strata_lint_new(&l, &opts, &err) < 0)
		goto fail;
	for (; i < argc; i++) {
		struct sbuf text = SBUF_INIT;
		struct strata_lint_file_options fo =
		        STRATA_LINT_FILE_OPTIONS_INIT;
		int r;

		if (sbuf_read_file(&text, argv[i], 1u << 26, &err) < 0) {
			sbuf_release(&text);
			goto fail;
		}
		fo.is_no_transaction =
		        !strncmp(text.buf, STRATA_NO_TRANSACTION_DIRECTIVE,
		                 strlen(STRATA_NO_TRANSACTION_DIRECTIVE));
		fo.is_same_run = is_same_run;
		r = strata_lint_text(l, argv[i], text.buf, text.len, &fo, &err);
		sbuf_release(&text);
		if (r < 0)
			goto fail;
	}
	for (size_t k = 0; k < strata_lint_count(l); k++) {
		const struct strata_finding *f = strata_lint_at(l, k);

		printf("%s:%d:%d: %s: %s [%s]\n", f->file, f->line, f->column,
		       strata_severity_name(f->severity), f->message, f->rule);
		if (f->hint)
			printf("  hint: %s\n", f->hint);
	}
	printf("-- %zu statement%s, %zu error%s, %zu warning%s\n",
	       strata_lint_statements(l),
	       strata_lint_statements(l) == 1 ? "" : "s",
	       strata_lint_count_severity(l, STRATA_SEVERITY_ERROR),
	       strata_lint_count_severity(l, STRATA_SEVERITY_ERROR) == 1 ? ""
	                                                                 : "s",
	       strata_lint_count_severity(l, STRATA_SEVERITY_WARNING),
	       strata_lint_count_severity(l, STRATA_SEVERITY_WARNING) == 1
	               ? ""
	               : "s");
	rc = fflush(stdout) ? 2 : 0;
	strata_lint_free(l);
	return rc;
fail:
	fprintf(stderr, "lint-dump: %s\n", err.message);
	strata_error_release(&err);
	strata_lint_free(l);
	return 2;
}
