/*
 * Child processes (src/util/spawn.c), as backups run pg_dump and
 * pg_restore: argv without a shell, captured streams, exit statuses and
 * signals, an inherited descriptor, environments.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/common.h"
#include "util/sbuf.h"
#include "util/spawn.h"

static void test_env(void **state)
{
	struct child_env e;

	(void)state;
	setenv("STRATA_T_ENV", "from-parent", 1);
	child_env_init(&e);
	assert_string_equal(child_env_get(&e, "STRATA_T_ENV"), "from-parent");
	child_env_set(&e, "STRATA_T_ENV", "mine");
	child_env_set(&e, "STRATA_T_SECRET", "u:s3cr3t@h");
	assert_string_equal(child_env_get(&e, "STRATA_T_ENV"), "mine");
	child_env_unset_containing(&e, "s3cr3t");
	assert_null(child_env_get(&e, "STRATA_T_SECRET"));
	child_env_unset(&e, "STRATA_T_ENV");
	assert_null(child_env_get(&e, "STRATA_T_ENV"));
	assert_null(e.v[e.n]);
	/* a prefix is not the variable */
	child_env_set(&e, "STRATA_T_ENVX", "1");
	assert_null(child_env_get(&e, "STRATA_T_ENV"));
	child_env_release(&e);
	/* ours is untouched */
	assert_string_equal(getenv("STRATA_T_ENV"), "from-parent");
}

static void test_child_streams_and_status(void **state)
{
	const char *argv[] = { "/bin/sh",
		               "-c",
		               "echo \"$1\"; echo oops >&2; exit 3",
		               "sh",
		               "an argument with 'quotes' and $HOME",
		               NULL };
	struct strata_error err = STRATA_ERROR_INIT;
	struct child c = CHILD_INIT;
	struct sbuf sb = SBUF_INIT;

	(void)state;
	c.argv = argv;
	assert_int_equal(child_run(&c, &err), 0);
	/* no shell between us and the child: the argument arrives as is */
	assert_string_equal(c.out.buf, "an argument with 'quotes' and $HOME\n");
	assert_string_equal(c.err.buf, "oops\n");
	assert_int_equal(c.exit_status, 3);
	assert_false(child_succeeded(&c));
	child_describe_status(&sb, &c);
	assert_string_equal(sb.buf, "exited with status 3");
	child_release(&c);
	sbuf_release(&sb);
}

static void test_child_signal_and_missing(void **state)
{
	const char *killed[] = { "/bin/sh", "-c", "kill -TERM $$", NULL };
	const char *missing[] = { "/nonexistent/pg_dump", "--version", NULL };
	struct strata_error err = STRATA_ERROR_INIT;
	struct child c = CHILD_INIT, m = CHILD_INIT;
	struct sbuf sb = SBUF_INIT;

	(void)state;
	c.argv = killed;
	assert_int_equal(child_run(&c, &err), 0);
	assert_int_equal(c.signal, SIGTERM);
	child_describe_status(&sb, &c);
	assert_non_null(strstr(sb.buf, "was ended by signal 15"));
	m.argv = missing;
	assert_int_equal(child_run(&m, &err), -1);
	assert_non_null(
	        strstr(err.message, "could not run '/nonexistent/pg_dump'"));
	strata_error_release(&err);
	child_release(&c);
	child_release(&m);
	sbuf_release(&sb);
}

/*
 * In the background: a child's output collected while the caller works,
 * and one ended by child_stop() even from a thread that blocks every
 * signal (the child must not inherit that mask), then reaped.
 */
static void test_child_background(void **state)
{
	const char *echo[] = { "/bin/sh", "-c", "echo done", NULL };
	const char *wait[] = { "/bin/sleep", "30", NULL };
	struct strata_error err = STRATA_ERROR_INIT;
	struct child c = CHILD_INIT, w = CHILD_INIT;
	struct child_bg *b = NULL;
	time_t t0 = time(NULL);

	(void)state;
	c.argv = echo;
	assert_int_equal(child_start(&b, &c, &err), 0);
	assert_int_equal(child_finish(b, &err), 0);
	assert_true(child_succeeded(&c));
	assert_string_equal(c.out.buf, "done\n");
	w.argv = wait;
	assert_int_equal(child_start(&b, &w, &err), 0);
	child_stop(b);
	assert_int_equal(child_finish(b, &err), 0);
	assert_int_equal(w.signal, SIGTERM);
	assert_true(time(NULL) - t0 < 10);
	assert_int_equal(w.stop_fd, -1);
	child_release(&c);
	child_release(&w);
}

static int ticks;

static void tick(void *data)
{
	(void)data;
	ticks++;
}

static void test_child_env_fd_tick(void **state)
{
	const char *argv[] = {
		"/bin/sh",
		"-c",
		"cat /proc/self/fd/$1; echo \"[$STRATA_T_X]\"; sleep 1.3",
		"sh",
		NULL,
		NULL
	};
	char as[8];
	struct strata_error err = STRATA_ERROR_INIT;
	struct child c = CHILD_INIT;
	struct child_env env;
	char path[] = "/tmp/strata-test-fd-XXXXXX";
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(write(fd, "secret-line\n", 12), 12);
	assert_int_equal(fcntl(fd, F_SETFD, FD_CLOEXEC), 0);
	child_env_init(&env);
	child_env_set(&env, "STRATA_T_X", "only-in-the-child");
	c.argv = argv;
	c.envp = env.v;
	c.pass_fd = fd;
	c.pass_fd_as = fd == 3 ? 4 : 3; /* must differ */
	snprintf(as, sizeof(as), "%d", c.pass_fd_as);
	argv[4] = as;
	c.tick = tick;
	ticks = 0;
	assert_int_equal(child_run(&c, &err), 0);
	assert_true(child_succeeded(&c));
	assert_string_equal(c.out.buf, "secret-line\n[only-in-the-child]\n");
	assert_true(ticks >= 1);
	assert_null(getenv("STRATA_T_X"));
	close(fd);
	child_env_release(&env);
	child_release(&c);
}

/* Gives `left` bytes of 'x' in chunks, then ends (0) or fails (-1). */
struct feed_state {
	size_t left;
	bool is_failing;
};

static ssize_t feed(void *data, char *buf, size_t size)
{
	struct feed_state *f = data;
	size_t n = f->left < size ? f->left : size;

	if (!n)
		return f->is_failing ? -1 : 0;
	memset(buf, 'x', n);
	f->left -= n;
	return (ssize_t)n;
}

static void test_child_feed(void **state)
{
	const char *count[] = { "/bin/sh", "-c", "wc -c", NULL };
	const char *until_eof[] = { "/bin/sh", "-c", "cat >/dev/null; echo eof",
		                    NULL };
	const char *early[] = { "/bin/sh", "-c", "head -c 10 >/dev/null",
		                NULL };
	struct strata_error err = STRATA_ERROR_INIT;
	struct child c = CHILD_INIT;
	struct feed_state f = { 3u * 1024u * 1024u + 7u, false };

	(void)state;
	/* more than a socket buffer holds: written as the child reads */
	c.argv = count;
	c.feed = feed;
	c.feed_data = &f;
	assert_int_equal(child_run(&c, &err), 0);
	assert_true(child_succeeded(&c));
	assert_int_equal(strtol(c.out.buf, NULL, 10), 3 * 1024 * 1024 + 7);
	child_release(&c);

	/* a failing feed kills the child before it sees an end of input */
	c = (struct child)CHILD_INIT;
	f = (struct feed_state){ 1024u * 1024u, true };
	c.argv = until_eof;
	c.feed = feed;
	c.feed_data = &f;
	assert_int_equal(child_run(&c, &err), 0);
	assert_true(c.is_feed_failed);
	assert_int_equal(c.signal, SIGKILL);
	assert_string_equal(c.out.buf, "");
	child_release(&c);

	/* a child that stops reading ends the feed, not us (no SIGPIPE) */
	c = (struct child)CHILD_INIT;
	f = (struct feed_state){ 8u * 1024u * 1024u, false };
	c.argv = early;
	c.feed = feed;
	c.feed_data = &f;
	signal(SIGPIPE, SIG_DFL);
	assert_int_equal(child_run(&c, &err), 0);
	assert_true(child_succeeded(&c));
	assert_false(c.is_feed_failed);
	child_release(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_env),
		cmocka_unit_test(test_child_streams_and_status),
		cmocka_unit_test(test_child_signal_and_missing),
		cmocka_unit_test(test_child_env_fd_tick),
		cmocka_unit_test(test_child_feed),
		cmocka_unit_test(test_child_background),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
