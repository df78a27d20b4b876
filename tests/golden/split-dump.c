/*
 * split-dump FILE: prints how split_pg() splits and classifies FILE, for
 * the golden tests (tests/golden/split/NAME.sql -> NAME.out). The output is
 * deterministic: whether the parser took the text, then one block per
 * statement with its line, its flags and its text from its first token,
 * then a summary. Exits 0 whenever it could dump (a failed split is part
 * of the dump), 2 when the file cannot be read.
 */
#include "util/common.h"
#include "util/sbuf.h"
#include "util/text.h"
#include "sql/split.h"

#include <stdio.h>
#include <stdlib.h>

#define MAX_FILE (64u << 20)

static void print_flags(unsigned flags, const char *what)
{
	static const struct {
		unsigned flag;
		const char *name;
	} names[] = {
		{ STMT_NO_TXN, "NO_TXN" },
		{ STMT_TXN_CONTROL, "TXN_CONTROL" },
		{ STMT_COPY_STDIN, "COPY_STDIN" },
	};
	const char *sep = "";

	if (!flags) {
		fputs("-", stdout);
		return;
	}
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		if (flags & names[i].flag) {
			printf("%s%s", sep, names[i].name);
			sep = ",";
		}
	}
	if (what)
		printf(" (%s)", what);
}

/* What every split promises: statements in order, apart, inside the text,
 * each with its first token inside it. */
static bool check(const struct strata_script *s)
{
	size_t prev_end = 0;
	unsigned flags = 0;

	for (size_t i = 0; i < s->n; i++) {
		const struct strata_stmt *st = &s->stmts[i];

		if (st->offset < prev_end || st->token_offset < st->offset ||
		    st->token_offset >= st->offset + st->len ||
		    st->offset + st->len > s->len) {
			fprintf(stderr,
			        "split-dump: statement %zu out of place\n",
			        i + 1);
			return false;
		}
		prev_end = st->offset + st->len;
		flags |= st->flags;
	}
	if (flags != s->flags) {
		fprintf(stderr, "split-dump: script flags are not the union\n");
		return false;
	}
	return true;
}

static void dump(const struct strata_script *s)
{
	int line, col;

	if (s->is_parsed) {
		puts("-- parsed");
	} else {
		text_line_col(s->sql, s->len, s->parse_error_at, &line, &col);
		printf("-- not parsed: %s at line %d, column %d\n",
		       s->parse_error, line, col);
	}
	for (size_t i = 0; i < s->n; i++) {
		const struct strata_stmt *st = &s->stmts[i];

		text_line_col(s->sql, s->len, st->token_offset, &line, NULL);
		printf("\n-- statement %zu, line %d, flags: ", i + 1, line);
		print_flags(st->flags, stmt_what(st));
		putchar('\n');
		fwrite(s->sql + st->token_offset, 1,
		       st->offset + st->len - st->token_offset, stdout);
		putchar('\n');
	}
	printf("\n-- end: %zu statement%s, flags: ", s->n,
	       s->n == 1 ? "" : "s");
	print_flags(s->flags, NULL);
	putchar('\n');
}

int main(int argc, char **argv)
{
	struct strata_error err = { 0 };
	struct strata_script script = { 0 };
	struct sbuf text = SBUF_INIT;
	int rc = 2;

	if (argc != 2) {
		fprintf(stderr, "usage: split-dump FILE\n");
		return 2;
	}
	if (sbuf_read_file(&text, argv[1], MAX_FILE, &err) < 0) {
		fprintf(stderr, "split-dump: %s\n", err.message);
		goto done;
	}
	if (split_pg(&script, text.buf, text.len, &err) < 0)
		printf("-- split failed: %s at line %d, column %d\n",
		       err.message, err.line, err.column);
	else if (!check(&script))
		goto done;
	else
		dump(&script);
	rc = fflush(stdout) ? 2 : 0;
done:
	script_release(&script);
	sbuf_release(&text);
	strata_error_release(&err);
	return rc;
}
