/* What strata_cancel() reaches */
#ifndef STRATA_UTIL_CANCEL_H
#define STRATA_UTIL_CANCEL_H

#include "util/common.h"

/* Something strata_cancel() stops: `fn` must be async-signal-safe. */
struct cancel_hook {
	void (*fn)(struct cancel_hook *h);
};

/* Hooks are registered while their object can be stopped, and
 * unregistered before it is freed. */
void cancel_register(struct cancel_hook *h);
void cancel_unregister(struct cancel_hook *h);
/* Around a connect that cannot be interrupted: strata_cancel() then tells
 * its caller to exit instead of waiting. */
void cancel_connecting(bool is_start);
/* 0, or -1 with STRATA_ECANCELED ("cancelled") once strata_cancel() ran:
 * before each step that could take long. */
int cancel_check(struct strata_error *err);
/* pthread_create() of a thread that blocks every signal but faults, so
 * that the program's handlers run on its own thread; EAGAIN without one
 * after strata_set_threads(false), when the caller does the work itself. */
int cancel_thread_create(pthread_t *out, void *(*fn)(void *), void *arg);
/* The same with the thread's attributes (its stack). */
int cancel_thread_create_attr(pthread_t *out, const pthread_attr_t *attr,
                              void *(*fn)(void *), void *arg);

#endif
