/*
 * Manual pages (scdoc) and shell completions, made from the data --help
 * prints: help.c's text, the command table, and each command's option
 * table, reached by running the command's --help in a mode of its own.
 * The build runs them (`strata help --scdoc`, `strata help --completion`)
 * so that no second copy of the help has to be kept in step.
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

/* ---- scdoc -------------------------------------------------------------- */

/* Text from the help data, with scdoc's formatting characters taken
 * literally. */
static void sc_text(FILE *fp, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '*' || *s == '_')
			fputc('\\', fp);
		fputc(*s, fp);
	}
}

/* A paragraph: one line, whose first character must not start a list, a
 * table, a header or a comment. */
static void sc_para(FILE *fp, const char *s)
{
	if (*s && strchr("-.|:[#;", *s))
		fputc('\\', fp);
	sc_text(fp, s);
	fputs("\n\n", fp);
}

/* "Apply pending migrations." as a NAME line: "apply pending migrations". */
static void sc_summary(FILE *fp, const char *s)
{
	size_t n = strlen(s);

	if (n && s[n - 1] == '.')
		n--;
	if (n && s[0] >= 'A' && s[0] <= 'Z' && !(s[1] >= 'A' && s[1] <= 'Z'))
		fputc(s[0] - 'A' + 'a', fp);
	else if (n)
		fputc(s[0], fp);
	for (size_t i = 1; i < n; i++) {
		if (s[i] == '\\' || s[i] == '*' || s[i] == '_')
			fputc('\\', fp);
		fputc(s[i], fp);
	}
	fputc('\n', fp);
}

/* An option as a term: "*-d*, *--database* _URL_", its help indented. */
static void sc_opt(FILE *fp, const struct opt *o, char short_name)
{
	if (short_name)
		fprintf(fp, "*-%c*, ", short_name);
	fputs("*--", fp);
	sc_text(fp, o->long_name);
	fputc('*', fp);
	if (o->arg_name) {
		fputs(" _", fp);
		sc_text(fp, o->arg_name);
		fputc('_', fp);
	}
	fputs("\n\t", fp);
	sc_text(fp, o->help);
	fputs("\n\n", fp);
}

static void sc_opts(FILE *fp, const struct opt *opts, unsigned uses,
                    bool is_globals, const struct opt *own)
{
	for (const struct opt *o = opts; o && o->long_name; o++) {
		if (is_globals && !opt_global_applies(o, uses))
			continue;
		sc_opt(fp, o, is_globals ? opt_short(o, own) : o->short_name);
	}
}

static void sc_examples(FILE *fp, const struct help_pair *ex)
{
	if (!ex || !ex->name)
		return;
	fputs("# EXAMPLES\n\n", fp);
	for (; ex->name; ex++) {
		sc_para(fp, ex->text);
		fputs("```\n$ ", fp);
		/* a literal block still reads backslashes */
		for (const char *p = ex->name; *p; p++) {
			if (*p == '\\')
				fputc('\\', fp);
			fputc(*p, fp);
		}
		fputs("\n```\n\n", fp);
	}
}

static void sc_exits(FILE *fp, unsigned exits)
{
	const char *text;

	fputs("# EXIT STATUS\n\n", fp);
	for (unsigned i = 0; (text = help_exit_text(i)); i++) {
		if (!(exits & (1u << i)))
			continue;
		fprintf(fp, "*%u*\n\t", i);
		sc_text(fp, text);
		fputs("\n\n", fp);
	}
}

static void sc_synopsis(FILE *fp, const struct help *h, const char *name,
                        const char *usage)
{
	const char *const none[] = { usage ? usage : "", NULL };
	const char *const *s = h && h->synopsis ? h->synopsis : none;

	for (; *s; s++) {
		fputs("*strata ", fp);
		sc_text(fp, name);
		fputs("* ", fp);
		sc_text(fp, *s);
		fputs("\n\n", fp);
	}
}

static const char *const see_also_pages[] = { "strata.conf(5)", "libstrata(3)",
	                                      NULL };

/* A family's subcommands, each through its own command, so that its own
 * option table is the one shown. */
static void sc_subcommands(struct cli *cli, const char *const *subs)
{
	enum help_mode mode = cli->help_mode;

	cli->help_mode = HELP_SCDOC_SECTION;
	for (; subs && *subs; subs++) {
		char word[32], sub[32];
		char *argv[] = { word, sub, "--help", NULL };
		const struct command *c;

		if (sscanf(*subs, "%31s %31s", word, sub) == 2 &&
		    (c = cli_find_command(word)))
			c->fn(cli, 3, argv);
	}
	cli->help_mode = mode;
}

/* `strata backup verify` as a section of strata-backup(1). */
static void sc_section(FILE *fp, const struct help *h, const char *name,
                       const char *usage, const struct opt *opts)
{
	fputs("## strata ", fp);
	sc_text(fp, name);
	fputs("\n\n", fp);
	sc_synopsis(fp, h, name, usage);
	if (h && strcmp(h->name, name) != 0) {
		fputs("The same as *strata ", fp);
		sc_text(fp, h->name);
		fputs("*; see *strata-", fp);
		sc_text(fp, h->name);
		fputs("*(1).\n\n", fp);
	} else if (h) {
		for (const char *const *d = h->description; d && *d; d++)
			sc_para(fp, *d);
	}
	if (opts && opts->long_name)
		sc_opts(fp, opts, h ? h->uses : ~0u, false, NULL);
}

void help_scdoc(struct cli *cli, const struct help *h, const char *name,
                const char *usage, const struct opt *opts)
{
	const struct command *cmd = cli_find_command(name);
	unsigned uses = h ? h->uses : ~0u;
	FILE *fp = stdout;

	if (cli->help_mode == HELP_SCDOC_SECTION) {
		sc_section(fp, h, name, usage, opts);
		return;
	}
	fprintf(fp, "strata-%s(1) \"strata %s\"\n\n# NAME\n\nstrata-%s - ",
	        name, STRATA_VERSION, name);
	sc_summary(fp, cmd && cmd->summary ? cmd->summary
	                                   : (h ? h->description[0] : name));
	fputs("\n# SYNOPSIS\n\n", fp);
	sc_synopsis(fp, h, name, usage);
	fputs("# DESCRIPTION\n\n", fp);
	for (const char *const *d = h ? h->description : NULL; d && *d; d++)
		sc_para(fp, *d);
	if (h && h->actions) {
		fputs("# COMMANDS\n\n", fp);
		for (const struct help_pair *a = h->actions; a->name; a++) {
			fputs("## strata ", fp);
			sc_text(fp, name);
			fputc(' ', fp);
			sc_text(fp, a->name);
			fputs("\n\n", fp);
			sc_para(fp, a->text);
		}
	}
	if (opts && opts->long_name) {
		fputs("# OPTIONS\n\n", fp);
		sc_opts(fp, opts, uses, false, NULL);
	}
	if (h && h->subcommands) {
		fputs("# COMMANDS\n\n", fp);
		sc_subcommands(cli, h->subcommands);
	}
	fputs("# GLOBAL OPTIONS\n\n", fp);
	sc_opts(fp, opt_globals(), uses, true, opts);
	if (h) {
		sc_examples(fp, h->examples);
		sc_exits(fp, h->exits);
	}
	fputs("# SEE ALSO\n\n*strata*(1)", fp);
	for (const char *const *p = see_also_pages; *p; p++)
		fprintf(fp, ", *%.*s*%s", (int)(strchr(*p, '(') - *p), *p,
		        strchr(*p, '('));
	fputc('\n', fp);
}

/* Whether `c` is another name of a command listed before it (info,
 * db, mig): it gets no page and no completion of its own. */
static const struct command *alias_of(const struct command *c)
{
	size_t n;
	const struct command *cmds = cli_commands(&n);

	for (const struct command *k = cmds; k < c; k++)
		if (k->fn == c->fn && k->summary)
			return k;
	return NULL;
}

static void scdoc_main(FILE *fp)
{
	const struct help_main *m = help_main();
	size_t n;
	const struct command *cmds = cli_commands(&n);

	fprintf(fp, "strata(1) \"strata %s\"\n\n# NAME\n\n", STRATA_VERSION);
	fputs("strata - versioned SQL migrations for PostgreSQL and SQLite\n\n",
	      fp);
	fputs("# SYNOPSIS\n\n*strata* [_global options_] _command_ "
	      "[_options_]\n\n*strata* *--version*\n\n",
	      fp);
	fputs("# DESCRIPTION\n\n", fp);
	sc_para(fp, m->description);
	fputs("Each command has its own page, *strata-*_command_(1), the "
	      "text *strata help* _command_ prints.\n\n",
	      fp);
	fputs("# COMMANDS\n\n", fp);
	for (size_t i = 0; i < n; i++) {
		const struct command *a;

		if (!cmds[i].summary)
			continue;
		if ((a = alias_of(&cmds[i])))
			fprintf(fp, "*%s*\n\tanother name of *%s*\n\n",
			        cmds[i].name, a->name);
		else
			fprintf(fp, "*strata-%s*(1)\n\t", cmds[i].name);
		if (!a) {
			sc_text(fp, cmds[i].summary);
			fputs("\n\n", fp);
		}
	}
	fputs("# GLOBAL OPTIONS\n\nBefore the command, or after it where "
	      "they apply (each command's page lists those).\n\n",
	      fp);
	sc_opts(fp, opt_globals(), ~0u, true, NULL);
	sc_opt(fp, m->version, 0);
	fputs("# ENVIRONMENT\n\n", fp);
	for (const struct help_pair *e = m->environment; e->name; e++) {
		fputs("*", fp);
		sc_text(fp, e->name);
		fputs("*\n\t", fp);
		sc_text(fp, e->text);
		fputs("\n\n", fp);
	}
	fputs("# FILES\n\n*strata.conf*\n\tsettings and environments, read "
	      "from the working directory when present; see "
	      "*strata.conf*(5)\n\n*.env*\n\tDATABASE\\_URL and other "
	      "variables, read from the working directory unless "
	      "*--no-dotenv*\n\n",
	      fp);
	sc_exits(fp, ~0u);
	sc_examples(fp, m->examples);
	fputs("# SEE ALSO\n\n", fp);
	for (size_t i = 0; i < n; i++)
		if (cmds[i].summary && !alias_of(&cmds[i]))
			fprintf(fp, "*strata-%s*(1), ", cmds[i].name);
	fputs("*strata.conf*(5), *libstrata*(3)\n", fp);
}

/* ---- completions -------------------------------------------------------- */

/*
 * What the completions know: per command (and subcommand) the options it
 * accepts, and for each the value it takes. Gathered by running every
 * command's --help in HELP_COMPLETION mode.
 */
struct comp_opt {
	char short_name;
	const char *long_name;
	const char *arg_name; /* NULL: a flag */
};

struct comp_cmd {
	char key[64]; /* TOP_KEY (before the command), "run", "backup verify" */
	struct comp_opt *opts;
	size_t n;
};

/* The key of what comes before the command: no command is called so. */
#define TOP_KEY "strata"

static struct comp_cmd comp_cmds[64];
static size_t n_comp_cmds;
static const char *comp_key; /* the key of the --help being run */

static void comp_push(struct comp_cmd *c, char s, const struct opt *o)
{
	struct comp_opt *grown =
	        realloc(c->opts, (c->n + 1) * sizeof(*c->opts));

	if (!grown)
		abort();
	c->opts = grown;
	c->opts[c->n].short_name = s;
	c->opts[c->n].long_name = o->long_name;
	c->opts[c->n].arg_name = o->kind == OPT_FLAG ? NULL : o->arg_name;
	c->n++;
}

static void comp_add(const char *key, const struct opt *opts, unsigned uses,
                     bool is_top)
{
	struct comp_cmd *c;

	if (n_comp_cmds == sizeof(comp_cmds) / sizeof(comp_cmds[0]))
		abort();
	c = &comp_cmds[n_comp_cmds++];
	snprintf(c->key, sizeof(c->key), "%s", key);
	for (const struct opt *o = opts; o && o->long_name; o++)
		comp_push(c, o->short_name, o);
	for (const struct opt *o = opt_globals(); o->long_name; o++)
		if (is_top || opt_global_applies(o, uses))
			comp_push(c,
			          is_top ? o->short_name : opt_short(o, opts),
			          o);
	if (is_top)
		comp_push(c, 0, help_main()->version);
}

void help_completion_add(const char *name, const struct opt *opts,
                         unsigned uses)
{
	(void)name;
	comp_add(comp_key, opts, uses, false);
}

/*
 * The words that may follow command `h` (its subcommands or actions):
 * a leading "a|b|c" of its first synopsis, and the families' subcommands.
 */
static size_t sub_words(const struct help *h, char words[][32], size_t max)
{
	size_t n = 0;
	const char *p = h && h->synopsis ? h->synopsis[0] : NULL;

	if (p && *p >= 'a' && *p <= 'z' && strchr(p, '|') &&
	    strchr(p, '|') < strchr(p, ' ')) {
		while (*p >= 'a' && *p <= 'z' && n < max) {
			size_t len = strspn(p, "abcdefghijklmnopqrstuvwxyz-");

			snprintf(words[n++], 32, "%.*s", (int)len, p);
			p += len;
			if (*p == '|')
				p++;
		}
	}
	for (const char *const *s = h ? h->subcommands : NULL; s && *s; s++) {
		const char *w = strchr(*s, ' ');
		bool is_known = false;

		for (size_t i = 0; w && i < n; i++)
			is_known = is_known || strcmp(words[i], w + 1) == 0;
		if (w && !is_known && n < max)
			snprintf(words[n++], 32, "%s", w + 1);
	}
	return n;
}

/* What completes an option's value: d a directory, f a file, w the words
 * of "a|b|c", - nothing strata can list. */
static char value_kind(const char *arg)
{
	if (!strcmp(arg, "DIR"))
		return 'd';
	if (!strcmp(arg, "FILE"))
		return 'f';
	if (strchr(arg, '|') &&
	    strspn(arg, "abcdefghijklmnopqrstuvwxyz|") == strlen(arg))
		return 'w';
	return '-';
}

/* Runs every command's --help to gather its options. */
static void comp_gather(struct cli *cli)
{
	size_t n;
	const struct command *cmds = cli_commands(&n);

	comp_add(TOP_KEY, NULL, ~0u, true);
	cli->help_mode = HELP_COMPLETION;
	cli->is_help = true;
	for (size_t i = 0; i < n; i++) {
		char words[16][32], key[64];
		char name[32];
		char *argv[] = { name, "--help", NULL, NULL };
		size_t nw;

		if (alias_of(&cmds[i]))
			continue;
		snprintf(name, sizeof(name), "%s", cmds[i].name);
		comp_key = cmds[i].name;
		cmds[i].fn(cli, 2, argv);
		nw = sub_words(help_find(cmds[i].name), words, 16);
		for (size_t w = 0; w < nw; w++) {
			snprintf(key, sizeof(key), "%s %s", cmds[i].name,
			         words[w]);
			comp_key = key;
			argv[1] = words[w];
			argv[2] = "--help";
			cmds[i].fn(cli, 3, argv);
			argv[2] = NULL;
		}
	}
}

/* The data both shells read: associative arrays of words. In bash
 * `declare -gA x=([k]="v" ...)`, in zsh `typeset -gA x; x=(k "v" ...)`. */
static void comp_array_start(FILE *fp, bool is_zsh, const char *name)
{
	if (is_zsh)
		fprintf(fp, "typeset -gA %s\n%s=(\n", name, name);
	else
		fprintf(fp, "declare -gA %s=(\n", name);
}

static void comp_entry(FILE *fp, bool is_zsh, const char *key,
                       const char *value)
{
	if (is_zsh)
		fprintf(fp, "\t'%s' '%s'\n", key, value);
	else
		fprintf(fp, "\t['%s']='%s'\n", key, value);
}

static void comp_data(FILE *fp, bool is_zsh)
{
	size_t n;
	const struct command *cmds = cli_commands(&n);
	char buf[4096];

	/* commands, and the words after each */
	comp_array_start(fp, is_zsh, "_strata_words");
	buf[0] = '\0';
	for (size_t i = 0; i < n; i++)
		if (cmds[i].summary)
			snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf),
			         "%s%s", *buf ? " " : "", cmds[i].name);
	snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), " help");
	comp_entry(fp, is_zsh, TOP_KEY, buf);
	for (size_t i = 0; i < n; i++) {
		char words[16][32];
		size_t nw =
		        alias_of(&cmds[i])
		                ? 0
		                : sub_words(help_find(cmds[i].name), words, 16);

		buf[0] = '\0';
		for (size_t w = 0; w < nw; w++)
			snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf),
			         "%s%s", w ? " " : "", words[w]);
		if (nw)
			comp_entry(fp, is_zsh, cmds[i].name, buf);
	}
	fputs(")\n", fp);

	/* another name, the command it is */
	comp_array_start(fp, is_zsh, "_strata_alias");
	for (size_t i = 0; i < n; i++) {
		const struct command *a = alias_of(&cmds[i]);

		if (a)
			comp_entry(fp, is_zsh, cmds[i].name, a->name);
	}
	fputs(")\n", fp);

	/* each command's options */
	comp_array_start(fp, is_zsh, "_strata_opts");
	for (size_t i = 0; i < n_comp_cmds; i++) {
		const struct comp_cmd *c = &comp_cmds[i];

		buf[0] = '\0';
		for (size_t k = 0; k < c->n; k++) {
			snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf),
			         "%s--%s", *buf ? " " : "",
			         c->opts[k].long_name);
			if (c->opts[k].short_name)
				snprintf(buf + strlen(buf),
				         sizeof(buf) - strlen(buf), " -%c",
				         c->opts[k].short_name);
		}
		comp_entry(fp, is_zsh, c->key, buf);
	}
	fputs(")\n", fp);

	/* what follows an option that takes a value: "KEY OPTION" */
	comp_array_start(fp, is_zsh, "_strata_values");
	for (size_t i = 0; i < n_comp_cmds; i++) {
		const struct comp_cmd *c = &comp_cmds[i];

		for (size_t k = 0; k < c->n; k++) {
			const struct comp_opt *o = &c->opts[k];
			char value[256];
			char kind;

			if (!o->arg_name)
				continue;
			kind = value_kind(o->arg_name);
			if (kind == 'w')
				snprintf(value, sizeof(value), "w %s",
				         o->arg_name);
			else
				snprintf(value, sizeof(value), "%c", kind);
			for (char *p = value; *p; p++)
				if (*p == '|')
					*p = ' ';
			fprintf(fp,
			        is_zsh ? "\t'%s --%s' '%s'\n"
			               : "\t['%s --%s']='%s'\n",
			        c->key, o->long_name, value);
			if (o->short_name)
				fprintf(fp,
				        is_zsh ? "\t'%s -%c' '%s'\n"
				               : "\t['%s -%c']='%s'\n",
				        c->key, o->short_name, value);
		}
	}
	fputs(")\n", fp);
}

/*
 * The shells' logic, over the data: the command and subcommand are the
 * first words that are neither options nor their values; an option's
 * value completes as its kind says; else options or the next word.
 */
static const char bash_logic[] =
        "\n"
        "_strata()\n"
        "{\n"
        "\tlocal cur=${COMP_WORDS[COMP_CWORD]} key=strata cmd= sub= w i v\n"
        "\tCOMPREPLY=()\n"
        "\tfor ((i = 1; i < COMP_CWORD; i++)); do\n"
        "\t\tw=${COMP_WORDS[i]}\n"
        "\t\tif [[ $w == -* ]]; then\n"
        "\t\t\t[[ $w != *=* && -n ${_strata_values[\"$key $w\"]+x} "
        "]] && ((i++))\n"
        "\t\telif [[ -z $cmd ]]; then\n"
        "\t\t\tcmd=${_strata_alias[$w]:-$w} key=$cmd\n"
        "\t\telif [[ -z $sub && -n ${_strata_words[$cmd]+x} ]]; then\n"
        "\t\t\tsub=$w key=\"$cmd $sub\"\n"
        "\t\t\tkey=${_strata_alias[$key]:-$key}\n"
        "\t\t\t[[ -n ${_strata_opts[$key]+x} ]] || key=$cmd\n"
        "\t\tfi\n"
        "\tdone\n"
        "\tif ((COMP_CWORD > 1)); then\n"
        "\t\tv=${_strata_values[\"$key ${COMP_WORDS[COMP_CWORD - "
        "1]}\"]-}\n"
        "\t\tcase $v in\n"
        "\t\td) COMPREPLY=($(compgen -d -- \"$cur\")); return ;;\n"
        "\t\tf) COMPREPLY=($(compgen -f -- \"$cur\")); return ;;\n"
        "\t\tw\\ *) COMPREPLY=($(compgen -W \"${v#w }\" -- \"$cur\")); "
        "return ;;\n"
        "\t\t-) return ;;\n"
        "\t\tesac\n"
        "\tfi\n"
        "\tif [[ $cur == -* ]]; then\n"
        "\t\tCOMPREPLY=($(compgen -W \"${_strata_opts[$key]-}\" -- "
        "\"$cur\"))\n"
        "\telif [[ -z $cmd ]]; then\n"
        "\t\tCOMPREPLY=($(compgen -W \"${_strata_words[strata]}\" -- \"$cur\"))\n"
        "\telif [[ -z $sub && -n ${_strata_words[$cmd]+x} ]]; then\n"
        "\t\tCOMPREPLY=($(compgen -W \"${_strata_words[$cmd]}\" -- "
        "\"$cur\"))\n"
        "\telse\n"
        "\t\tCOMPREPLY=($(compgen -f -- \"$cur\"))\n"
        "\tfi\n"
        "}\n"
        "complete -o filenames -F _strata strata\n";

static const char zsh_logic[] =
        "\n"
        "local cur=${words[CURRENT]} key=strata cmd= sub= w i v\n"
        "for ((i = 2; i < CURRENT; i++)); do\n"
        "\tw=${words[i]}\n"
        "\tif [[ $w == -* ]]; then\n"
        "\t\t[[ $w != *=* && -n ${_strata_values[$key $w]+x} ]] && "
        "((i++))\n"
        "\telif [[ -z $cmd ]]; then\n"
        "\t\tcmd=${_strata_alias[$w]:-$w} key=$cmd\n"
        "\telif [[ -z $sub && -n ${_strata_words[$cmd]+x} ]]; then\n"
        "\t\tsub=$w key=\"$cmd $sub\"\n"
        "\t\tkey=${_strata_alias[$key]:-$key}\n"
        "\t\t[[ -n ${_strata_opts[$key]+x} ]] || key=$cmd\n"
        "\tfi\n"
        "done\n"
        "if ((CURRENT > 2)); then\n"
        "\tv=${_strata_values[$key ${words[CURRENT-1]}]-}\n"
        "\tcase $v in\n"
        "\td) _files -/; return ;;\n"
        "\tf) _files; return ;;\n"
        "\tw\\ *) compadd -- ${=v#w }; return ;;\n"
        "\t-) _message 'value'; return ;;\n"
        "\tesac\n"
        "fi\n"
        "if [[ $cur == -* ]]; then\n"
        "\tcompadd -- ${=_strata_opts[$key]}\n"
        "elif [[ -z $cmd ]]; then\n"
        "\tcompadd -- ${=_strata_words[strata]}\n"
        "elif [[ -z $sub && -n ${_strata_words[$cmd]+x} ]]; then\n"
        "\tcompadd -- ${=_strata_words[$cmd]}\n"
        "else\n"
        "\t_files\n"
        "fi\n";

static int completion(struct cli *cli, const char *shell)
{
	bool is_zsh = !strcmp(shell, "zsh");

	if (!is_zsh && strcmp(shell, "bash") != 0)
		return cli_usage_error(
		        cli, "help", "--completion takes bash or zsh, not '%s'",
		        shell);
	comp_gather(cli);
	if (is_zsh)
		fputs("#compdef strata\n", stdout);
	printf("# %s completion of strata %s, made from its command and "
	       "option tables by\n# `strata help --completion %s`.\n",
	       is_zsh ? "zsh" : "bash", STRATA_VERSION, shell);
	comp_data(stdout, is_zsh);
	fputs(is_zsh ? zsh_logic : bash_logic, stdout);
	for (size_t i = 0; i < n_comp_cmds; i++)
		free(comp_cmds[i].opts);
	n_comp_cmds = 0;
	return 0;
}

int help_gen(struct cli *cli, int argc, char **argv)
{
	const struct command *cmd;

	if (!strcmp(argv[0], "--completion"))
		return argc == 2
		               ? completion(cli, argv[1])
		               : cli_usage_error(
		                         cli, "help",
		                         "usage: strata help --completion bash|zsh");
	if (argc == 1) {
		scdoc_main(stdout);
		return 0;
	}
	if (argc == 2 && !strcmp(argv[1], "--commands")) {
		size_t n;
		const struct command *cmds = cli_commands(&n);

		for (size_t i = 0; i < n; i++)
			if (cmds[i].summary && !alias_of(&cmds[i]))
				printf("%s\n", cmds[i].name);
		return 0;
	}
	cmd = argc == 2 ? cli_find_command(argv[1]) : NULL;
	if (!cmd || !cmd->summary || alias_of(cmd))
		return cli_usage_error(
		        cli, "help",
		        "usage: strata help --scdoc [--commands | COMMAND]");
	{
		char *sub_argv[] = { argv[1], "--help", NULL };

		cli->help_mode = HELP_SCDOC;
		cli->is_help = true;
		return cmd->fn(cli, 2, sub_argv);
	}
}
