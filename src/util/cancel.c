/*
 * strata_cancel(): what a signal handler of the program may ask of the
 * library. Whatever can be stopped from outside registers a hook here
 * while it lives (a PostgreSQL session's PGcancel, an SQLite handle, a
 * child's pid), and strata_cancel() calls every hook; the library then
 * notices the flag at its next step (cancel_check()) and unwinds the
 * ordinary way, rolling back and releasing the lock.
 *
 * Only async-signal-safe work happens in strata_cancel(): atomic loads
 * and the hooks (PQcancel(), sqlite3_interrupt(), kill()). A hook is
 * unregistered before its object is freed; the handler runs on the thread
 * that owns the hooks, because the library's own threads block signals
 * (cancel_thread_create()), so it never sees one half freed.
 *
 * It does not install handlers or decide how a program exits.
 */
#include "util/cancel.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>

#define MAX_HOOKS 16

static _Atomic(struct cancel_hook *) hooks[MAX_HOOKS];
static volatile sig_atomic_t is_cancelled;
static volatile sig_atomic_t n_connecting;

bool strata_cancel(void)
{
	is_cancelled = 1;
	for (size_t i = 0; i < MAX_HOOKS; i++) {
		struct cancel_hook *h = atomic_load(&hooks[i]);

		if (h)
			h->fn(h);
	}
	return n_connecting == 0;
}

bool strata_is_cancelled(void)
{
	return is_cancelled != 0;
}

void cancel_register(struct cancel_hook *h)
{
	for (size_t i = 0; i < MAX_HOOKS; i++) {
		struct cancel_hook *none = NULL;

		if (atomic_compare_exchange_strong(&hooks[i], &none, h))
			return;
	}
	/* more live sessions than slots: this one is cancelled only by
	 * the checks between steps */
}

void cancel_unregister(struct cancel_hook *h)
{
	for (size_t i = 0; i < MAX_HOOKS; i++) {
		struct cancel_hook *was = h;

		if (atomic_compare_exchange_strong(&hooks[i], &was, NULL))
			return;
	}
}

void cancel_connecting(bool is_start)
{
	n_connecting += is_start ? 1 : -1;
}

int cancel_check(struct strata_error *err)
{
	if (!is_cancelled)
		return 0;
	return strata_error_set(err, STRATA_ECANCELED, "cancelled");
}

/* strata_set_threads(): read by every thread-starting call */
static volatile int is_threads_off;

void strata_set_threads(bool is_enabled)
{
	is_threads_off = !is_enabled;
}

int cancel_thread_create(pthread_t *out, void *(*fn)(void *), void *arg)
{
	return cancel_thread_create_attr(out, NULL, fn, arg);
}

int cancel_thread_create_attr(pthread_t *out, const pthread_attr_t *attr,
                              void *(*fn)(void *), void *arg)
{
	/* a fault stays the faulting thread's own to report */
	static const int faults[] = { SIGSEGV, SIGBUS,  SIGFPE,
		                      SIGILL,  SIGTRAP, SIGABRT };
	sigset_t all, was;
	int rc;

	/* callers do the work on their own thread when none starts */
	if (is_threads_off)
		return EAGAIN;
	/* the new thread inherits the mask: signals go to the caller's */
	sigfillset(&all);
	for (size_t i = 0; i < ARRAY_SIZE(faults); i++)
		sigdelset(&all, faults[i]);
	pthread_sigmask(SIG_SETMASK, &all, &was);
	rc = pthread_create(out, attr, fn, arg);
	pthread_sigmask(SIG_SETMASK, &was, NULL);
	return rc;
}
