/*
 * bench/relay.c: a TCP relay on loopback that adds a fixed delay each way,
 * for bench/latency, bench/fleet and the pipeline's tests: a network of
 * that round-trip time between clients and a server. One thread, epoll:
 * the relay's own CPU must stay small beside the clients' and the server's
 * on a machine of two cores.
 *
 * usage: relay LISTEN_PORT TARGET RTT_MS STATS_FILE
 *
 *   TARGET      host:port (an IPv4 address), or the path of a Unix socket
 *               (a PostgreSQL socket file, .s.PGSQL.PORT)
 *   RTT_MS      the round-trip time to add, half of it each way
 *   STATS_FILE  a line per closed connection: "round_trips bytes_up
 *               bytes_down"; SIGUSR1 is answered by a line "open N" of the
 *               connections still open
 *
 * A round trip is a time the client sent something after the server had
 * last spoken (or first): a time it waited for an answer.
 *
 * Bytes keep their order: each chunk read is written out RTT/2 after it
 * was read, whatever its size (the delay of the wire, not its bandwidth).
 * A side that does not take what is due stops the reading of the other
 * side once QUEUE_MAX bytes wait for it, so that memory stays bounded.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define CHUNK_MAX (1 << 16)
#define QUEUE_MAX (4 << 20)

struct chunk {
	struct chunk *next;
	int64_t due; /* CLOCK_MONOTONIC, ns */
	size_t len, off;
	char data[];
};

/* What an epoll event points at: the listener, the signals, or one side
 * of a connection. */
enum kind { KIND_LISTEN, KIND_SIGNAL, KIND_SOCKET };
struct side {
	enum kind kind;
	int fd;
	uint32_t events; /* those epoll watches for */
	struct conn *conn;
};

/* One direction: what was read from `from`, waiting to be written out to
 * `to` when due. */
struct pipe {
	struct side *from, *to;
	struct chunk *head, *tail;
	size_t queued;
	bool is_eof;     /* `from` is done: no more reads */
	bool is_blocked; /* `to` said EAGAIN: wait for EPOLLOUT */
	bool is_done;    /* all written and `to` shut for writing */
};

struct conn {
	struct conn *prev, *next;
	struct side client, server;
	struct pipe up, down; /* client to server, server to client */
	long long trips, bytes_up, bytes_down;
	int last; /* 0: nothing yet, 1: the client spoke last, 2: the server */
	bool is_dead;
};

static int epfd;
static int64_t half_ns;
static const char *stats_path;
static struct sockaddr_storage target;
static socklen_t target_len;
static int n_open;
static struct conn *conns, *dead;
static char buf[CHUNK_MAX];

static void die(const char *what)
{
	fprintf(stderr, "relay: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n);

	if (!p) {
		fputs("relay: out of memory\n", stderr);
		exit(1);
	}
	return p;
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Appended and closed at once, as a reader may look at any time. */
static void stats_add(const char *line)
{
	FILE *f = fopen(stats_path, "a");

	if (!f)
		return;
	fputs(line, f);
	fclose(f);
}

static void conn_stats(struct conn *c)
{
	char line[96];

	snprintf(line, sizeof(line), "%lld %lld %lld\n", c->trips, c->bytes_up,
	         c->bytes_down);
	stats_add(line);
}

static struct pipe *pipe_from(struct side *s)
{
	return s == &s->conn->client ? &s->conn->up : &s->conn->down;
}

static struct pipe *pipe_to(struct side *s)
{
	return s == &s->conn->client ? &s->conn->down : &s->conn->up;
}

/* Input unless the side's reading is over or held back by a full queue;
 * output while a write to it would block. epoll_ctl only on a change: it
 * is a system call. */
static void side_watch(struct side *s)
{
	struct pipe *in = pipe_from(s), *out = pipe_to(s);
	struct epoll_event ev = { 0 };
	int op;

	if (!in->is_eof && in->queued < QUEUE_MAX)
		ev.events |= EPOLLIN;
	if (out->is_blocked)
		ev.events |= EPOLLOUT;
	if (ev.events == s->events)
		return;
	ev.data.ptr = s;
	/* a side with nothing to wait for leaves the set: a hung-up socket
	 * would be reported again and again while the other way drains */
	op = !ev.events   ? EPOLL_CTL_DEL
	     : !s->events ? EPOLL_CTL_ADD
	                  : EPOLL_CTL_MOD;
	if (epoll_ctl(epfd, op, s->fd, &ev) < 0)
		die("epoll_ctl");
	s->events = ev.events;
}

static void conn_close(struct conn *c)
{
	struct pipe *ps[2] = { &c->up, &c->down };

	if (c->is_dead)
		return;
	c->is_dead = true;
	close(c->client.fd);
	close(c->server.fd);
	for (int i = 0; i < 2; i++) {
		struct chunk *k = ps[i]->head;

		while (k) {
			struct chunk *next = k->next;

			free(k);
			k = next;
		}
		ps[i]->head = ps[i]->tail = NULL;
		ps[i]->queued = 0;
	}
	if (c->prev)
		c->prev->next = c->next;
	else
		conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	/* freed once the events already fetched, which may point at it,
	 * are handled */
	c->next = dead;
	dead = c;
	n_open--;
	conn_stats(c);
}

/* Writes what is due; shuts `to` for writing once `from` is done and all
 * of it is written, and closes the connection once both ways are. */
static void pipe_flush(struct pipe *p, int64_t now)
{
	struct conn *c = p->from->conn;
	bool was_full = p->queued >= QUEUE_MAX;

	while (p->head && p->head->due <= now && !p->is_blocked) {
		struct chunk *k = p->head;
		ssize_t n = send(p->to->fd, k->data + k->off, k->len - k->off,
		                 MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				p->is_blocked = true;
				side_watch(p->to);
				break;
			}
			/* the peer is gone: so is the connection */
			conn_close(c);
			return;
		}
		k->off += (size_t)n;
		if (k->off < k->len)
			continue;
		p->queued -= k->len;
		p->head = k->next;
		if (!p->head)
			p->tail = NULL;
		free(k);
	}
	if (was_full && p->queued < QUEUE_MAX)
		side_watch(p->from);
	if (!p->head && p->is_eof && !p->is_done) {
		shutdown(p->to->fd, SHUT_WR);
		p->is_done = true;
		if (c->up.is_done && c->down.is_done)
			conn_close(c);
	}
}

static void side_read(struct side *s, int64_t now)
{
	struct conn *c = s->conn;
	struct pipe *p = pipe_from(s);
	bool is_up = p == &c->up;
	struct chunk *k;
	ssize_t n;

	do {
		n = read(s->fd, buf, sizeof(buf));
	} while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return;
	if (n <= 0) {
		/* end of file, or a reset taken as one */
		p->is_eof = true;
		side_watch(s);
		pipe_flush(p, now);
		return;
	}
	if (is_up) {
		if (c->last != 1)
			c->trips++;
		c->bytes_up += n;
		c->last = 1;
	} else {
		c->bytes_down += n;
		c->last = 2;
	}
	k = xmalloc(sizeof(*k) + (size_t)n);
	memcpy(k->data, buf, (size_t)n);
	k->len = (size_t)n;
	k->off = 0;
	k->due = now + half_ns;
	k->next = NULL;
	if (p->tail)
		p->tail->next = k;
	else
		p->head = k;
	p->tail = k;
	p->queued += (size_t)n;
	if (p->queued >= QUEUE_MAX)
		side_watch(s);
}

static void side_add(struct conn *c, struct side *s, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = s };

	s->kind = KIND_SOCKET;
	s->fd = fd;
	s->conn = c;
	s->events = EPOLLIN;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		die("epoll_ctl");
}

static void nodelay(int fd)
{
	int one = 1;

	/* as asyncio does: a message goes out when written, not when
	 * Nagle's algorithm allows */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static void accept_all(int lfd)
{
	for (;;) {
		struct conn *c;
		int cfd =
		        accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		int sfd;

		if (cfd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			die("accept");
		}
		nodelay(cfd);
		/* a blocking connect: on loopback or a local socket it is
		 * immediate, and the client's clock has started anyway */
		sfd = socket(target.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (sfd < 0 ||
		    connect(sfd, (struct sockaddr *)&target, target_len) < 0) {
			fprintf(stderr, "relay: connect: %s\n",
			        strerror(errno));
			if (sfd >= 0)
				close(sfd);
			close(cfd);
			stats_add("0 0 0\n");
			continue;
		}
		if (target.ss_family != AF_UNIX)
			nodelay(sfd);
		fcntl(sfd, F_SETFL, fcntl(sfd, F_GETFL) | O_NONBLOCK);
		c = xmalloc(sizeof(*c));
		memset(c, 0, sizeof(*c));
		side_add(c, &c->client, cfd);
		side_add(c, &c->server, sfd);
		c->up.from = &c->client;
		c->up.to = &c->server;
		c->down.from = &c->server;
		c->down.to = &c->client;
		c->next = conns;
		if (conns)
			conns->prev = c;
		conns = c;
		n_open++;
	}
}

/* The earliest time a chunk is due, -1 when none is waiting. */
static int64_t next_due(void)
{
	int64_t next = -1;

	for (struct conn *c = conns; c; c = c->next) {
		struct pipe *ps[2] = { &c->up, &c->down };

		for (int i = 0; i < 2; i++)
			if (ps[i]->head && !ps[i]->is_blocked &&
			    (next < 0 || ps[i]->head->due < next))
				next = ps[i]->head->due;
	}
	return next;
}

/* epoll_wait until `due` at the latest: to the nanosecond with
 * epoll_pwait2 (Linux 5.11), which spares a timer's two system calls per
 * chunk, else rounded up to the millisecond. */
static int wait_events(struct epoll_event *evs, int max, int64_t due)
{
	static bool has_pwait2 = true;
	struct timespec ts;
	int64_t left;
	int n;

	if (due < 0)
		return epoll_wait(epfd, evs, max, -1);
	left = due - now_ns();
	if (left < 0)
		left = 0;
	if (has_pwait2) {
		ts.tv_sec = left / 1000000000;
		ts.tv_nsec = left % 1000000000;
		n = epoll_pwait2(epfd, evs, max, &ts, NULL);
		if (n >= 0 || errno != ENOSYS)
			return n;
		has_pwait2 = false;
	}
	return epoll_wait(epfd, evs, max, (int)((left + 999999) / 1000000));
}

static void parse_target(const char *t)
{
	if (t[0] == '/') {
		struct sockaddr_un *un = (struct sockaddr_un *)&target;

		if (strlen(t) >= sizeof(un->sun_path)) {
			fprintf(stderr, "relay: socket path too long: %s\n", t);
			exit(2);
		}
		un->sun_family = AF_UNIX;
		strcpy(un->sun_path, t);
		target_len = sizeof(*un);
		return;
	}
	const char *colon = strrchr(t, ':');
	struct sockaddr_in *in = (struct sockaddr_in *)&target;
	char host[256];

	if (!colon || (size_t)(colon - t) >= sizeof(host)) {
		fprintf(stderr,
		        "relay: target is neither host:port nor a socket path: %s\n",
		        t);
		exit(2);
	}
	memcpy(host, t, (size_t)(colon - t));
	host[colon - t] = '\0';
	if (!strcmp(host, "localhost"))
		strcpy(host, "127.0.0.1");
	in->sin_family = AF_INET;
	in->sin_port = htons((uint16_t)atoi(colon + 1));
	if (inet_pton(AF_INET, host, &in->sin_addr) != 1) {
		fprintf(stderr, "relay: not an IPv4 address: %s\n", host);
		exit(2);
	}
	target_len = sizeof(*in);
}

int main(int argc, char **argv)
{
	static struct side lside = { .kind = KIND_LISTEN };
	static struct side sside = { .kind = KIND_SIGNAL };
	struct epoll_event evs[64];
	struct sockaddr_in addr = { .sin_family = AF_INET };
	sigset_t usr1;
	char *end;
	double rtt;
	int lfd, sfd, one = 1;

	if (argc != 5) {
		fputs("usage: relay LISTEN_PORT TARGET RTT_MS STATS_FILE\n",
		      stderr);
		return 2;
	}
	rtt = strtod(argv[3], &end);
	if (*end || rtt < 0) {
		fprintf(stderr, "relay: not a round-trip time in ms: %s\n",
		        argv[3]);
		return 2;
	}
	half_ns = (int64_t)(rtt * 1e6 / 2);
	parse_target(argv[2]);
	stats_path = argv[4];
	signal(SIGPIPE, SIG_IGN);

	lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (lfd < 0)
		die("socket");
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	addr.sin_port = htons((uint16_t)atoi(argv[1]));
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		die("bind");
	if (listen(lfd, 512) < 0)
		die("listen");

	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	if (sigprocmask(SIG_BLOCK, &usr1, NULL) < 0)
		die("sigprocmask");
	sfd = signalfd(-1, &usr1, SFD_NONBLOCK | SFD_CLOEXEC);
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (sfd < 0 || epfd < 0)
		die("signalfd or epoll");
	lside.fd = lfd;
	sside.fd = sfd;
	struct side *fixed[] = { &lside, &sside };
	for (int i = 0; i < 2; i++) {
		struct epoll_event ev = { .events = EPOLLIN,
			                  .data.ptr = fixed[i] };

		if (epoll_ctl(epfd, EPOLL_CTL_ADD, fixed[i]->fd, &ev) < 0)
			die("epoll_ctl");
	}

	for (;;) {
		int n = wait_events(evs, 64, next_due());
		int64_t now;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("epoll_wait");
		}
		now = now_ns();
		for (int i = 0; i < n; i++) {
			struct side *s = evs[i].data.ptr;
			struct signalfd_siginfo si;
			char line[32];

			switch (s->kind) {
			case KIND_LISTEN:
				accept_all(lfd);
				break;
			case KIND_SIGNAL:
				while (read(sfd, &si, sizeof(si)) > 0) {
					snprintf(line, sizeof(line),
					         "open %d\n", n_open);
					stats_add(line);
				}
				break;
			case KIND_SOCKET:
				if (s->conn->is_dead)
					break;
				if (pipe_to(s)->is_blocked &&
				    (evs[i].events &
				     (EPOLLOUT | EPOLLHUP | EPOLLERR))) {
					pipe_to(s)->is_blocked = false;
					side_watch(s);
				}
				if (!pipe_from(s)->is_eof &&
				    (evs[i].events &
				     (EPOLLIN | EPOLLHUP | EPOLLERR)))
					side_read(s, now);
				break;
			}
		}
		/* what is due now, including what was just read when the
		 * delay is 0 */
		for (struct conn *c = conns, *next; c; c = next) {
			next = c->next;
			pipe_flush(&c->up, now);
			if (!c->is_dead)
				pipe_flush(&c->down, now);
		}
		while (dead) {
			struct conn *c = dead;

			dead = c->next;
			free(c);
		}
	}
}
