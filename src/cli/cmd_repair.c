/*
 * strata repair: the explicit, audited ways out of a failed record or an
 * edited applied migration.
 */
#include "cli.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/banned.h"

static const char usage[] =
        "--mark-applied V | --retry V | --accept-checksum V";

static void hex(char *out, const unsigned char *p)
{
	for (size_t i = 0; i < STRATA_CHECKSUM_LEN; i++)
		snprintf(out + 2 * i, 3, "%02x", p[i]);
}

static int write_temp(char *path, const char *text)
{
	int fd = mkstemp(path);
	size_t len = strlen(text), done = 0;

	if (fd < 0)
		return -1;
	while (done < len) {
		ssize_t n = write(fd, text + done, len - done);

		if (n <= 0) {
			close(fd);
			return -1;
		}
		done += (size_t)n;
	}
	return close(fd);
}

/* The change since it was applied, by diff(1), as git shows it; read
 * back and printed here, since both texts may hold control characters. */
static void show_diff(const char *old_sql, const char *path)
{
	char old[] = "/tmp/strata-applied-XXXXXX";
	char *text = NULL;
	size_t len = 0, alloc = 0;
	int fds[2];
	pid_t pid;
	int status;

	if (write_temp(old, old_sql) < 0)
		return;
	if (pipe(fds) < 0) {
		unlink(old);
		return;
	}
	pid = fork();
	if (pid == 0) {
		close(fds[0]);
		dup2(fds[1], STDOUT_FILENO);
		close(fds[1]);
		execlp("diff", "diff", "-u", "--label", "as applied", "--label",
		       path, old, path, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	for (;;) {
		ssize_t n;

		if (len + 4096 + 1 > alloc) {
			alloc = (len + 4096 + 1) * 2;
			text = realloc(text, alloc);
			if (!text)
				abort();
		}
		n = read(fds[0], text + len, alloc - len - 1);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fds[0]);
	if (pid > 0)
		waitpid(pid, &status, 0);
	if (text) {
		text[len] = '\0';
		fputs(cli_safe_lines(text), stdout);
	}
	free(text);
	unlink(old);
}

int cmd_repair(struct cli *cli, int argc, char **argv)
{
	struct strata_repair_result res = { 0 };
	struct strata_error err = STRATA_ERROR_INIT;
	struct strata_source *src = NULL;
	struct strata_db *db = NULL;
	int64_t v_mark = 0, v_retry = 0, v_accept = 0, version;
	bool has_mark = false, has_retry = false, has_accept = false;
	enum strata_repair_kind kind;
	const struct opt opts[] = {
		{ 0, "mark-applied", OPT_VERSION, &v_mark, &has_mark, "V",
		  "a failed migration completed by hand: record it as applied" },
		{ 0, "retry", OPT_VERSION, &v_retry, &has_retry, "V",
		  "a failed migration undone by hand: forget it, the next run applies it" },
		{ 0, "accept-checksum", OPT_VERSION, &v_accept, &has_accept,
		  "V",
		  "an applied migration edited on purpose: accept its new checksum" },
		OPT_END,
	};
	int rc = cli_parse_options(cli, "repair", usage, opts, &argc, &argv);
	const struct strata_migration *m;
	char buf[24];
	const char *shown = buf;

	if (rc)
		return rc < 0 ? 0 : rc;
	if (argc)
		return cli_usage_error(cli, "repair",
		                       "unexpected argument '%s'", argv[0]);
	if (has_mark + has_retry + has_accept != 1)
		return cli_usage_error(
		        cli, "repair",
		        "say what to repair: one of --mark-applied V, --retry V, --accept-checksum V");
	kind = has_mark    ? STRATA_REPAIR_MARK_APPLIED
	       : has_retry ? STRATA_REPAIR_RETRY
	                   : STRATA_REPAIR_ACCEPT_CHECKSUM;
	version = has_mark ? v_mark : has_retry ? v_retry : v_accept;
	if ((rc = cli_load_source_and_open_db(cli, false, true, &src, &db)))
		goto done;
	if (strata_repair(&res, db, src, kind, version, &err) < 0) {
		rc = cli_error(cli, &err);
		goto done;
	}
	/* the version as the layout writes it (Flyway's 1.2, R__NAME) */
	m = strata_source_find(src, strata_source_version_key(src, version));
	if (m && m->version_text)
		shown = m->version_text;
	else
		snprintf(buf, sizeof(buf), "%" PRId64, version);
	if (cli->format == FORMAT_JSON) {
		json_t *doc = json_object();
		char sum[2 * STRATA_CHECKSUM_LEN + 1];

		json_object_set_new(doc, "version", json_integer(version));
		json_object_set_new(doc, "version_text", cli_json_text(shown));
		json_object_set_new(doc, "repair",
		                    json_string(has_mark ? "mark-applied"
		                                : has_retry
		                                        ? "retry"
		                                        : "accept-checksum"));
		if (has_accept) {
			hex(sum, res.old_checksum);
			json_object_set_new(doc, "old_checksum",
			                    json_string(sum));
			hex(sum, res.new_checksum);
			json_object_set_new(doc, "new_checksum",
			                    json_string(sum));
		}
		cli_print_json(doc);
	} else if (has_accept) {
		char sum[2 * STRATA_CHECKSUM_LEN + 1];

		hex(sum, res.old_checksum);
		printf("Accepted the new checksum of migration %s.\n  applied: %s\n",
		       shown, sum);
		hex(sum, res.new_checksum);
		printf("  file:    %s\n", sum);
		if (res.old_sql && m)
			show_diff(res.old_sql, m->up_path);
		else
			printf("  (the audit trail holds no text of it as applied: no diff)\n");
	} else if (has_mark) {
		printf("Recorded migration %s as applied.\n", shown);
	} else {
		printf("Forgot the failed record of migration %s: the next run applies it.\n",
		       shown);
	}
done:
	strata_repair_result_release(&res);
	strata_error_release(&err);
	strata_db_close(db);
	strata_source_free(src);
	return rc;
}
