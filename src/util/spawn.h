/* Child processes */
#ifndef STRATA_UTIL_SPAWN_H
#define STRATA_UTIL_SPAWN_H

#include "util/common.h"
#include "util/sbuf.h"

#include <sys/types.h>

/* An environment for a child: NULL-terminated "NAME=VALUE" strings. */
struct child_env {
	char **v;
	size_t n, alloc;
};

/* A copy of this process's environment, less the variables that may hold
 * a password (DATABASE_URL, PGPASSWORD). */
void child_env_init(struct child_env *e);
void child_env_set(struct child_env *e, const char *name, const char *value);
void child_env_unset(struct child_env *e, const char *name);
/* Removes every variable whose value holds `text` (a secret). */
void child_env_unset_containing(struct child_env *e, const char *text);
const char *child_env_get(const struct child_env *e, const char *name);
void child_env_release(struct child_env *e);

struct child {
	const char *const *argv;  /* argv[0] is the program's path */
	char *const *envp;        /* the whole environment; NULL: ours, as
	                           * child_env_init() gives it */
	size_t max_output;        /* bytes kept of each stream; 0: 64 MiB */
	void (*tick)(void *data); /* about once a second while it runs */
	void *tick_data;
	int pass_fd;    /* a descriptor the child inherits as pass_fd_as */
	int pass_fd_as; /* (a different number); -1: none (CHILD_INIT) */
	/*
	 * The child's stdin, when set: called for more whenever the child
	 * can take it; returns bytes put in `buf`, 0 at the end (the child
	 * then sees end of file), -1 on a failure, which kills the child
	 * (SIGKILL) before it can see an end of its input. NULL: /dev/null.
	 */
	ssize_t (*feed)(void *data, char *buf, size_t size);
	void *feed_data;
	int stop_fd; /* readable: the child is ended (SIGTERM); -1: none */
	/* results */
	struct sbuf out, err;
	int exit_status;     /* -1 when ended by a signal */
	int signal;          /* the signal that ended it, else 0 */
	bool is_path_search; /* argv[0] is a name looked up in PATH */
	bool is_feed_failed; /* feed returned -1 and the child was killed */
};

#define CHILD_INIT                                                            \
	{                                                                     \
		NULL, NULL, 0, NULL, NULL, -1, -1, NULL, NULL, -1, SBUF_INIT, \
		        SBUF_INIT, -1, 0, false, false                        \
	}

/*
 * Runs the child to its end, stdin from `feed` or /dev/null, stdout and stderr
 * captured. Fails (STRATA_EFAILED) only when it cannot be started or
 * waited for; its exit status is the caller's to judge.
 */
int child_run(struct child *c, struct strata_error *err);
/*
 * A child run to its end on a thread of its own while the caller does
 * other work: child_start() returns once it is started (or, when no
 * thread may be made, once it has run), child_finish() waits for it and
 * returns what child_run() would have, and frees `b`. child_stop() ends
 * it (SIGTERM) if it still runs; it must still be finished, which reaps
 * it. `c` must outlive it.
 */
struct child_bg;
int child_start(struct child_bg **out, struct child *c,
                struct strata_error *err);
void child_stop(struct child_bg *b);
int child_finish(struct child_bg *b, struct strata_error *err);
bool child_succeeded(const struct child *c);
/* "exited with status 1", "was ended by signal 9 (Killed)". */
void child_describe_status(struct sbuf *sb, const struct child *c);
void child_release(struct child *c);

#endif
