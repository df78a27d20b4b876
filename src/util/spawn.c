/*
 * Child processes (pg_dump, pg_restore): started with posix_spawn() from an
 * explicit argv and environment, never through a shell, so nothing is
 * quoted or expanded. The child reads /dev/null, or what a feed callback
 * gives it (through a socket pair, so that a child that stopped reading
 * is never a SIGPIPE for the library's caller); its stdout and stderr are
 * captured (up to a cap) for results and error messages. While it runs, a
 * tick callback is called about once a second, which is how long dumps
 * report progress.
 *
 * It does not judge exit statuses (callers know what a status means). A
 * child is ended with SIGTERM by strata_cancel() (a SIGTERM sent to
 * strata alone does not reach it through the terminal's process group),
 * and its caller then sees it fail as any failed child.
 */
#include "util/spawn.h"
#include "util/xalloc.h"
#include "util/sbuf.h"
#include "util/cancel.h"
#include "util/text.h"
#include "util/error.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define DEFAULT_MAX_OUTPUT (64u * 1024u * 1024u)
#define TICK_NS            INT64_C(1000000000)
#define POLL_MS            200

/* ---- environments ------------------------------------------------------- */

static void env_push(struct child_env *e, char *entry)
{
	XGROW(e->v, e->alloc, e->n + 2);
	e->v[e->n++] = entry;
	e->v[e->n] = NULL;
}

void child_env_init(struct child_env *e)
{
	memset(e, 0, sizeof(*e));
	XGROW(e->v, e->alloc, 1);
	e->v[0] = NULL;
	for (char **p = environ; p && *p; p++)
		env_push(e, xstrdup(*p));
	/*
	 * What may hold a password (set by .env too) never reaches a child,
	 * even one that connects nowhere: its environment is readable in
	 * /proc/PID/environ for as long as it runs.
	 */
	child_env_unset(e, "DATABASE_URL");
	child_env_unset(e, "PGPASSWORD");
	/* what strata's CLI sets for itself (cli/main.c), or a user did:
	 * no PostgreSQL program needs it */
	child_env_unset(e, "GNUTLS_NO_IMPLICIT_INIT");
}

static bool is_entry_of(const char *entry, const char *name)
{
	size_t n = strlen(name);

	return strncmp(entry, name, n) == 0 && entry[n] == '=';
}

void child_env_unset(struct child_env *e, const char *name)
{
	size_t j = 0;

	for (size_t i = 0; i < e->n; i++) {
		if (is_entry_of(e->v[i], name))
			free(e->v[i]);
		else
			e->v[j++] = e->v[i];
	}
	e->n = j;
	e->v[j] = NULL;
}

void child_env_set(struct child_env *e, const char *name, const char *value)
{
	child_env_unset(e, name);
	env_push(e, xstrfmt("%s=%s", name, value));
}

void child_env_unset_containing(struct child_env *e, const char *text)
{
	size_t j = 0;

	if (!text || !*text)
		return;
	for (size_t i = 0; i < e->n; i++) {
		const char *eq = strchr(e->v[i], '=');

		if (eq && strstr(eq + 1, text))
			free(e->v[i]);
		else
			e->v[j++] = e->v[i];
	}
	e->n = j;
	e->v[j] = NULL;
}

const char *child_env_get(const struct child_env *e, const char *name)
{
	for (size_t i = 0; i < e->n; i++)
		if (is_entry_of(e->v[i], name))
			return e->v[i] + strlen(name) + 1;
	return NULL;
}

void child_env_release(struct child_env *e)
{
	for (size_t i = 0; i < e->n; i++)
		free(e->v[i]);
	free(e->v);
	memset(e, 0, sizeof(*e));
}

/* ---- running ------------------------------------------------------------ */

void child_release(struct child *c)
{
	sbuf_release(&c->out);
	sbuf_release(&c->err);
}

static int set_cloexec(int fd)
{
	int flags = fcntl(fd, F_GETFD);

	return flags < 0 ? -1 : fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
}

static int make_pipe(int fds[2])
{
	if (pipe(fds) < 0)
		return -1;
	if (set_cloexec(fds[0]) < 0 || set_cloexec(fds[1]) < 0) {
		close(fds[0]);
		close(fds[1]);
		fds[0] = fds[1] = -1;
		return -1;
	}
	return 0;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Reads what is there into `sb` (dropping what exceeds `max`); 0 at EOF. */
static ssize_t drain(int fd, struct sbuf *sb, size_t max)
{
	char buf[8192];
	ssize_t n;

	do
		n = read(fd, buf, sizeof(buf));
	while (n < 0 && errno == EINTR);
	if (n > 0 && sb->len < max)
		sbuf_add(sb, buf,
		         (size_t)n < max - sb->len ? (size_t)n : max - sb->len);
	return n;
}

struct child_hook {
	struct cancel_hook hook;
	pid_t pid;
};

static void end_child(struct cancel_hook *h)
{
	kill(((struct child_hook *)h)->pid, SIGTERM);
}

static int wait_child(pid_t pid, int *status)
{
	pid_t r;

	do
		r = waitpid(pid, status, 0);
	while (r < 0 && errno == EINTR);
	return r < 0 ? -1 : 0;
}

/* The stdin side of a feed: the parent's end non-blocking. */
static int make_feed(int fds[2])
{
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0)
		return -1;
	/* one direction only: the child's end never writes back */
	shutdown(fds[0], SHUT_WR);
	if (fcntl(fds[1], F_SETFL, fcntl(fds[1], F_GETFL) | O_NONBLOCK) < 0) {
		close(fds[0]);
		close(fds[1]);
		fds[0] = fds[1] = -1;
		return -1;
	}
	return 0;
}

struct feed_buf {
	char *buf;
	size_t len, off;
};

#define FEED_CHUNK (256u * 1024u)

/*
 * Gives the child what it can take now. Returns 1 while there is more,
 * 0 once the input is complete (the caller closes it), -1 when the feed
 * failed (the child is killed first) or the child stopped reading.
 */
static int feed_child(struct child *c, struct feed_buf *f, int fd, pid_t pid)
{
	for (;;) {
		ssize_t n;

		if (f->off == f->len) {
			n = c->feed(c->feed_data, f->buf, FEED_CHUNK);
			if (n < 0) {
				/* before it can take the end as complete */
				kill(pid, SIGKILL);
				c->is_feed_failed = true;
				return -1;
			}
			if (n == 0)
				return 0;
			f->len = (size_t)n;
			f->off = 0;
		}
		n = send(fd, f->buf + f->off, f->len - f->off,
		         MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 1;
		if (n < 0)
			return -1; /* it stopped reading: its status says why */
		f->off += (size_t)n;
	}
}

int child_run(struct child *c, struct strata_error *err)
{
	struct feed_buf feed = { 0 };
	int inp[2] = { -1, -1 };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t sigdef, sigmask;
	struct child_env ours = { 0 };
	struct child_hook hook = { .hook.fn = end_child };
	bool is_ended = false;
	int outp[2] = { -1, -1 }, errp[2] = { -1, -1 };
	struct pollfd pfd[4];
	size_t max = c->max_output ? c->max_output : DEFAULT_MAX_OUTPUT;
	int64_t last_tick = text_monotonic_ns();
	bool has_fa = false;
	pid_t pid;
	int status = 0, e, rc = -1;

	assert(c->pass_fd < 0 || c->pass_fd != c->pass_fd_as);
	c->exit_status = -1;
	c->signal = 0;
	c->is_feed_failed = false;
	if (make_pipe(outp) < 0 || make_pipe(errp) < 0 ||
	    (c->feed && make_feed(inp) < 0)) {
		strata_error_set(err, STRATA_EFAILED,
		                 "could not create a pipe for '%s': %s",
		                 c->argv[0], strerror(errno));
		goto done;
	}
	if (posix_spawn_file_actions_init(&fa) != 0)
		BUG("posix_spawn_file_actions_init failed");
	has_fa = true;
	/* dup2 clears close-on-exec on the target; the originals close */
	if ((c->feed ? posix_spawn_file_actions_adddup2(&fa, inp[0], 0)
	             : posix_spawn_file_actions_addopen(&fa, 0, "/dev/null",
	                                                O_RDONLY, 0)) != 0 ||
	    posix_spawn_file_actions_adddup2(&fa, outp[1], 1) != 0 ||
	    posix_spawn_file_actions_adddup2(&fa, errp[1], 2) != 0 ||
	    (c->pass_fd >= 0 && posix_spawn_file_actions_adddup2(
	                                &fa, c->pass_fd, c->pass_fd_as) != 0))
		BUG("posix_spawn_file_actions failed");
	if (!c->envp)
		child_env_init(&ours);
	/* strata ignores SIGPIPE (a closed stdout must not kill a run); the
	 * child gets its default back, as if started by a shell, and no
	 * signal blocked: one started from a thread of child_start(), which
	 * blocks them all, would otherwise not end on SIGTERM */
	if (posix_spawnattr_init(&attr) != 0 || sigemptyset(&sigdef) != 0 ||
	    sigaddset(&sigdef, SIGPIPE) != 0 ||
	    posix_spawnattr_setsigdefault(&attr, &sigdef) != 0 ||
	    sigemptyset(&sigmask) != 0 ||
	    posix_spawnattr_setsigmask(&attr, &sigmask) != 0 ||
	    posix_spawnattr_setflags(
	            &attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK) != 0)
		BUG("posix_spawnattr failed");
	e = (c->is_path_search ? posix_spawnp : posix_spawn)(
	        &pid, c->argv[0], &fa, &attr, (char *const *)c->argv,
	        c->envp ? c->envp : ours.v);
	posix_spawnattr_destroy(&attr);
	if (e != 0) {
		strata_error_set(err, STRATA_EFAILED, "could not run '%s': %s",
		                 c->argv[0], strerror(e));
		goto done;
	}
	close_fd(&outp[1]);
	close_fd(&errp[1]);
	close_fd(&inp[0]);
	if (c->feed)
		feed.buf = xmalloc(FEED_CHUNK);
	hook.pid = pid;
	cancel_register(&hook.hook);
	while (outp[0] >= 0 || errp[0] >= 0) {
		int n;

		/* strata_cancel() may have come before the hook was there */
		if (strata_is_cancelled() && !is_ended) {
			kill(pid, SIGTERM);
			is_ended = true;
		}
		pfd[0].fd = outp[0];
		pfd[1].fd = errp[0];
		pfd[2].fd = inp[1];
		pfd[3].fd = is_ended ? -1 : c->stop_fd;
		pfd[0].events = pfd[1].events = pfd[3].events = POLLIN;
		pfd[2].events = POLLOUT;
		pfd[0].revents = pfd[1].revents = 0;
		pfd[2].revents = pfd[3].revents = 0;
		n = poll(pfd, 4, POLL_MS);
		if (n < 0 && errno != EINTR)
			break;
		/* child_stop(): ended here, where it is sure not reaped yet */
		if (n > 0 && pfd[3].revents) {
			kill(pid, SIGTERM);
			is_ended = true;
		}
		if (n > 0 && pfd[2].revents &&
		    feed_child(c, &feed, inp[1], pid) <= 0)
			close_fd(&inp[1]);
		if (n > 0 && pfd[0].revents &&
		    drain(outp[0], &c->out, max) <= 0)
			close_fd(&outp[0]);
		if (n > 0 && pfd[1].revents &&
		    drain(errp[0], &c->err, max) <= 0)
			close_fd(&errp[0]);
		if (c->tick && text_monotonic_ns() - last_tick >= TICK_NS) {
			last_tick = text_monotonic_ns();
			c->tick(c->tick_data);
		}
	}
	close_fd(&outp[0]);
	close_fd(&errp[0]);
	close_fd(&inp[1]);
	if (strata_is_cancelled() && !is_ended)
		kill(pid, SIGTERM);
	if (wait_child(pid, &status) < 0) {
		cancel_unregister(&hook.hook);
		strata_error_set(err, STRATA_EFAILED,
		                 "could not wait for '%s': %s", c->argv[0],
		                 strerror(errno));
		goto done;
	}
	cancel_unregister(&hook.hook);
	if (WIFEXITED(status))
		c->exit_status = WEXITSTATUS(status);
	else if (WIFSIGNALED(status))
		c->signal = WTERMSIG(status);
	rc = 0;
done:
	child_env_release(&ours);
	if (has_fa)
		posix_spawn_file_actions_destroy(&fa);
	close_fd(&outp[0]);
	close_fd(&outp[1]);
	close_fd(&errp[0]);
	close_fd(&errp[1]);
	close_fd(&inp[0]);
	close_fd(&inp[1]);
	free(feed.buf);
	return rc;
}

/* ---- in the background ------------------------------------------------ */

struct child_bg {
	struct child *c;
	pthread_t thread;
	bool is_thread;
	int stop[2]; /* a pipe: child_stop() writes, the child's loop polls */
	int rc;
	struct strata_error err;
};

static void *bg_run(void *arg)
{
	struct child_bg *b = arg;

	b->rc = child_run(b->c, &b->err);
	return NULL;
}

int child_start(struct child_bg **out, struct child *c,
                struct strata_error *err)
{
	struct child_bg *b = xcalloc(1, sizeof(*b));

	b->c = c;
	b->err = (struct strata_error)STRATA_ERROR_INIT;
	if (make_pipe(b->stop) < 0) {
		strata_error_set(err, STRATA_EFAILED,
		                 "could not create a pipe for '%s': %s",
		                 c->argv[0], strerror(errno));
		free(b);
		return -1;
	}
	c->stop_fd = b->stop[0];
	/* no thread to be had (strata_set_threads(false)): run it now */
	b->is_thread = !cancel_thread_create(&b->thread, bg_run, b);
	if (!b->is_thread)
		bg_run(b);
	*out = b;
	return 0;
}

void child_stop(struct child_bg *b)
{
	ssize_t w;

	if (!b || b->stop[1] < 0)
		return;
	do
		w = write(b->stop[1], "x", 1);
	while (w < 0 && errno == EINTR);
	close_fd(&b->stop[1]);
}

int child_finish(struct child_bg *b, struct strata_error *err)
{
	int rc;

	if (b->is_thread)
		pthread_join(b->thread, NULL);
	rc = b->rc;
	if (rc < 0)
		error_move(err, &b->err);
	strata_error_release(&b->err);
	b->c->stop_fd = -1;
	close_fd(&b->stop[0]);
	close_fd(&b->stop[1]);
	free(b);
	return rc;
}

bool child_succeeded(const struct child *c)
{
	return c->exit_status == 0 && c->signal == 0;
}

void child_describe_status(struct sbuf *sb, const struct child *c)
{
	if (c->signal)
		sbuf_addf(sb, "was ended by signal %d (%s)", c->signal,
		          strsignal(c->signal));
	else
		sbuf_addf(sb, "exited with status %d", c->exit_status);
}
