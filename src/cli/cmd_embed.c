/*
 * strata embed [DIR]: a folder's migrations as C source, for a program to
 * compile in and load with strata_source_from_embedded(), as sqlx's
 * migrate!() compiles them into a Rust binary. The folder is read as every
 * command reads it, so what run would refuse is refused here, before a
 * byte is written. The output is the same bytes for the same folder, and
 * compiles as C11 and as C++ without a warning (-Wall -Wextra -pedantic):
 * each text byte for byte, as a string literal a line a piece, quotes,
 * backslashes, "??" (a trigraph) and every byte outside printable ASCII
 * escaped.
 */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/banned.h"

static const char usage[] = "[options] [DIR]";

#define DEFAULT_NAME "strata_migrations"
/* C11 5.2.4.1: 4095 characters in a string literal, its NUL included */
#define MAX_LITERAL 4094

/*
 * Past that limit GCC and Clang take any length, tens of megabytes in a
 * second, where a char array's initialiser of the same text takes GCC
 * minutes and gigabytes: -pedantic's warning is silenced instead.
 */
static const char long_literals[] =
        "/* texts longer than the 4095 characters C11 promises in one\n"
        " * literal, which GCC and Clang read whatever their length */\n"
        "#if defined(__GNUC__)\n"
        "#pragma GCC diagnostic ignored \"-Woverlength-strings\"\n"
        "#endif\n\n";

/* Keywords of C11 and C++ that are identifiers' shape but not names. */
/* clang-format off */
static const char *const keywords[] = {
	"alignas", "alignof", "and", "and_eq", "asm", "auto", "bitand",
	"bitor", "bool", "break", "case", "catch", "char", "char16_t",
	"char32_t", "char8_t", "class", "co_await", "co_return", "co_yield",
	"compl", "concept", "const", "const_cast", "consteval", "constexpr",
	"constinit", "continue", "decltype", "default", "delete", "do",
	"double", "dynamic_cast", "else", "enum", "explicit", "export",
	"extern", "false", "float", "for", "friend", "goto", "if", "inline",
	"int", "long", "mutable", "namespace", "new", "noexcept", "not",
	"not_eq", "nullptr", "operator", "or", "or_eq", "private",
	"protected", "public", "register", "reinterpret_cast", "requires",
	"restrict", "return", "short", "signed", "sizeof", "static",
	"static_assert", "static_cast", "struct", "switch", "template",
	"this", "thread_local", "throw", "true", "try", "typedef", "typeid",
	"typename", "union", "unsigned", "using", "virtual", "void",
	"volatile", "wchar_t", "while", "xor", "xor_eq", NULL,
};
/* clang-format on */

/* An identifier of C and C++ that names no keyword and none reserved. */
static bool is_symbol_name(const char *s)
{
	if (!*s || (*s >= '0' && *s <= '9'))
		return false;
	for (const char *p = s; *p; p++)
		if (!(*p == '_' || (*p >= 'a' && *p <= 'z') ||
		      (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')))
			return false;
	/* _Upper and __x are the implementation's (C11 7.1.3) */
	if (s[0] == '_' && (s[1] == '_' || (s[1] >= 'A' && s[1] <= 'Z')))
		return false;
	for (size_t i = 0; keywords[i]; i++)
		if (!strcmp(s, keywords[i]))
			return false;
	return true;
}

/* One byte inside a string literal. */
static void put_escaped(FILE *fp, unsigned char c, bool after_question)
{
	switch (c) {
	case '\n':
		fputs("\\n", fp);
		return;
	case '\t':
		fputs("\\t", fp);
		return;
	case '\r':
		fputs("\\r", fp);
		return;
	case '\\':
		fputs("\\\\", fp);
		return;
	case '"':
		fputs("\\\"", fp);
		return;
	case '?':
		/* "??=" and its kin are trigraphs in C11 */
		fputs(after_question ? "\\?" : "?", fp);
		return;
	}
	/* three octal digits always: a digit after it cannot join it */
	if (c < 0x20 || c >= 0x7f)
		fprintf(fp, "\\%03o", c);
	else
		fputc(c, fp);
}

/*
 * `s` as string literals, one piece per line of the text (each ends with
 * its "\n"), or one piece with is_one_piece; an empty text is "".
 */
static void put_literal(FILE *fp, const char *s, size_t len, const char *indent,
                        bool is_one_piece)
{
	bool is_open = false, after_question = false;

	if (!len) {
		fputs("\"\"", fp);
		return;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!is_open) {
			if (i)
				fprintf(fp, "\n%s", indent);
			fputc('"', fp);
			is_open = true;
			after_question = false;
		}
		put_escaped(fp, c, after_question);
		after_question = c == '?';
		if (c == '\n' && !is_one_piece && i + 1 < len) {
			fputc('"', fp);
			is_open = false;
		}
	}
	fputc('"', fp);
}

static void put_text(FILE *fp, const char *name, const char *kind, size_t i,
                     const char *s, size_t len)
{
	fprintf(fp, "static const char %s_%s_%zu[] =\n\t", name, kind, i);
	put_literal(fp, s, len, "\t", false);
	fputs(";\n\n", fp);
}

static void put_name(FILE *fp, const char *path)
{
	const char *slash = strrchr(path, '/');
	const char *name = slash ? slash + 1 : path;

	put_literal(fp, name, strlen(name), "", true);
}

/* One struct strata_embedded_migration, its fields in order. */
static void put_migration(FILE *fp, const char *name, size_t i,
                          const struct strata_migration *m)
{
	fprintf(fp, "\t{ %" PRId64 ", ", m->version);
	put_literal(fp, m->description, strlen(m->description), "", true);
	fputs(",\n\t  ", fp);
	put_name(fp, m->up_path);
	fprintf(fp, ", %s_up_%zu, %zu,\n\t  ", name, i, m->up_len);
	if (m->down_path) {
		put_name(fp, m->down_path);
		fprintf(fp, ", %s_down_%zu, %zu,\n\t  {", name, i, m->down_len);
	} else {
		fputs("NULL, NULL, 0,\n\t  {", fp);
	}
	for (size_t b = 0; b < STRATA_CHECKSUM_LEN; b++)
		fprintf(fp, "%s0x%02x%s", b % 8 ? " " : "\n\t    ",
		        m->checksum[b], b + 1 < STRATA_CHECKSUM_LEN ? "," : "");
	fprintf(fp, " },\n\t  %s, %s, %s },\n",
	        m->is_no_transaction ? "true" : "false",
	        m->is_down_no_transaction ? "true" : "false",
	        m->is_reversible_pair ? "true" : "false");
}

/* The whole file; `dir` as the source's paths begin. */
static void put_source(FILE *fp, const struct strata_source *src,
                       const char *dir, const char *name)
{
	size_t n = strata_source_count(src);

	fprintf(fp,
	        "/*\n"
	        " * %zu migration%s embedded by strata embed: write this file "
	        "again\n"
	        " * from the folder rather than edit it (each text is checked "
	        "against\n"
	        " * its checksum when loaded). A program declares and loads "
	        "them with\n"
	        " *\n"
	        " *\textern const struct strata_embedded %s;\n"
	        " *\tstrata_source_from_embedded(&src, &%s, &err);\n"
	        " */\n"
	        "#include <strata.h>\n\n",
	        n, n == 1 ? "" : "s", name, name);
	for (size_t i = 0; i < n; i++) {
		const struct strata_migration *m = strata_source_at(src, i);

		if (m->up_len > MAX_LITERAL ||
		    (m->down_path && m->down_len > MAX_LITERAL)) {
			fputs(long_literals, fp);
			break;
		}
	}
	for (size_t i = 0; i < n; i++) {
		const struct strata_migration *m = strata_source_at(src, i);

		fprintf(fp, "/* version %" PRId64 " */\n", m->version);
		put_text(fp, name, "up", i, m->up_sql, m->up_len);
		if (m->down_path)
			put_text(fp, name, "down", i, m->down_sql, m->down_len);
	}
	fprintf(fp,
	        "static const struct strata_embedded_migration %s_list[] = {\n",
	        name);
	for (size_t i = 0; i < n; i++)
		put_migration(fp, name, i, strata_source_at(src, i));
	fprintf(fp,
	        "};\n\n"
	        "#ifdef __cplusplus\n"
	        "extern \"C\" {\n"
	        "#endif\n"
	        "extern const struct strata_embedded %s;\n"
	        "#ifdef __cplusplus\n"
	        "}\n"
	        "#endif\n\n"
	        "const struct strata_embedded %s = {\n"
	        "\t1, /* STRATA_EMBEDDED_VERSION of this layout */\n\t",
	        name, name);
	put_literal(fp, dir, strlen(dir), "\t", true);
	fprintf(fp, ",\n\t%s_list,\n\t%zu,\n};\n", name, n);
}

/*
 * -o FILE: written beside it under a hidden name, synced, and renamed over
 * it, so that a build never compiles half a file nor loses the last good
 * one. Made with the mode a new file gets (0666 less the umask).
 */
static int write_file(struct cli *cli, const char *path,
                      const struct strata_source *src, const char *dir,
                      const char *name)
{
	struct strata_error err = STRATA_ERROR_INIT;
	const char *slash = strrchr(path, '/');
	size_t dir_len = slash ? (size_t)(slash - path + 1) : 0;
	size_t len = strlen(path) + 16;
	char *tmp = malloc(len);
	mode_t mask;
	FILE *fp = NULL;
	int fd, e = 0;

	if (!tmp)
		abort();
	snprintf(tmp, len, "%.*s.%s.XXXXXX", (int)dir_len, path,
	         path + dir_len);
	fd = mkstemp(tmp);
	if (fd < 0) {
		e = errno;
		goto fail_early;
	}
	mask = umask(0);
	umask(mask);
	if (fchmod(fd, 0666 & ~mask) < 0 || !(fp = fdopen(fd, "w"))) {
		e = errno;
		close(fd);
		goto fail;
	}
	errno = 0;
	put_source(fp, src, dir, name);
	if (fflush(fp) || ferror(fp) || fsync(fileno(fp)) < 0)
		e = errno ? errno : EIO;
	if (fclose(fp) && !e)
		e = errno;
	if (e)
		goto fail;
	if (rename(tmp, path) < 0) {
		e = errno;
		goto fail;
	}
	free(tmp);
	return 0;
fail:
	unlink(tmp);
fail_early:
	free(tmp);
	strata_error_set(&err, STRATA_EFAILED, "could not write '%s': %s", path,
	                 strerror(e));
	e = cli_error(cli, &err);
	strata_error_release(&err);
	return e;
}

int cmd_embed(struct cli *cli, int argc, char **argv)
{
	struct strata_error err = STRATA_ERROR_INIT;
	struct strata_source_options so = STRATA_SOURCE_OPTIONS_INIT;
	struct strata_source *src = NULL;
	const char *name = DEFAULT_NAME, *output = NULL;
	const struct opt opts[] = {
		{ 'n', "name", OPT_STRING, &name, NULL, "NAME",
		  "the symbol the program passes to the library (default: " DEFAULT_NAME
		  ")" },
		{ 'o', "output", OPT_STRING, &output, NULL, "FILE",
		  "write to FILE (replaced whole, or left as it was) instead of standard output" },
		OPT_END,
	};
	char *dir = NULL;
	size_t len;
	int rc = cli_parse_options(cli, "embed", usage, opts, &argc, &argv);

	if (rc)
		return rc < 0 ? 0 : rc;
	if (argc > 1)
		return cli_usage_error(cli, "embed", "unexpected argument '%s'",
		                       argv[1]);
	if (!is_symbol_name(name))
		return cli_usage_error(
		        cli, "embed",
		        "--name wants a C identifier that is not a keyword, not '%s'",
		        name);
	if (output && !*output)
		return cli_usage_error(cli, "embed",
		                       "--output wants a file name");
	so.max_file_size = cli->max_file_size;
	/* embedded migrations are sqlx's: another layout's folder is refused
	 * as sqlx's layout refuses it */
	if (cli->layout != STRATA_LAYOUT_AUTO &&
	    cli->layout != STRATA_LAYOUT_SQLX)
		return cli_usage_error(
		        cli, "embed",
		        "embed reads sqlx's layout only, not %s's",
		        strata_layout_name(cli->layout));
	so.layout = STRATA_LAYOUT_SQLX;
	/* the folder as its paths begin: "migrations/", not "migrations//" */
	dir = strdup(argc ? argv[0] : cli->source);
	if (!dir)
		abort();
	for (len = strlen(dir); len > 1 && dir[len - 1] == '/'; len--)
		dir[len - 1] = '\0';
	if (strata_source_load(&src, dir, &so, &err) < 0) {
		rc = cli_error(cli, &err);
		goto done;
	}
	if (output) {
		rc = write_file(cli, output, src, dir, name);
		if (!rc)
			cli_info(
			        cli,
			        "strata: embedded %zu migration%s of '%s' in '%s' as %s",
			        strata_source_count(src),
			        strata_source_count(src) == 1 ? "" : "s", dir,
			        output, name);
	} else {
		put_source(stdout, src, dir, name);
	}
done:
	strata_source_free(src);
	strata_error_release(&err);
	free(dir);
	return rc;
}
