/*
 * strata migrate run|revert|info|add: sqlx-cli's spellings of run, revert,
 * status and new, so that scripts written for sqlx-cli run unchanged. The
 * subcommand may follow options, as `sqlx migrate --source DIR run` had
 * them; it is moved to the front and the command it names parses the rest.
 */
#include "cli.h"

#include <string.h>

#include "util/banned.h"

static const struct {
	const char *name;
	command_fn fn;
} subcommands[] = {
	{ "run", cmd_run },
	{ "revert", cmd_revert },
	{ "info", cmd_status },
	{ "add", cmd_migrate_add },
};

#define N_SUBCOMMANDS (sizeof(subcommands) / sizeof(subcommands[0]))

int cmd_migrate(struct cli *cli, int argc, char **argv)
{
	const char *names[N_SUBCOMMANDS + 1] = { NULL };
	const struct opt opts[] = { OPT_END };
	const char *parent = cli->parent;
	int at = 1, rc;

	while (at < argc && argv[at][0] == '-' && strcmp(argv[at], "--") != 0)
		at += opt_wants_next(argv[at], NULL) ? 2 : 1;
	if (at >= argc || argv[at][0] == '-') {
		/* --help, or no subcommand: the family's page or a usage error
		 */
		rc = cli_parse_options(cli, "migrate", NULL, opts, &argc,
		                       &argv);
		if (rc)
			return rc < 0 ? 0 : rc;
		return cli_usage_error(
		        cli, "migrate",
		        "a subcommand is required: run, revert, info or add");
	}
	for (size_t i = 0; i < N_SUBCOMMANDS; i++) {
		char *sub = argv[at];

		names[i] = subcommands[i].name;
		if (strcmp(sub, subcommands[i].name) != 0)
			continue;
		/* the subcommand first, then the options that preceded it */
		memmove(argv + 2, argv + 1, (size_t)(at - 1) * sizeof(*argv));
		argv[1] = sub;
		cli->parent = "migrate";
		rc = subcommands[i].fn(cli, argc - 1, argv + 1);
		cli->parent = parent;
		return rc;
	}
	return help_unknown(cli, "migrate", argv[at], names);
}
