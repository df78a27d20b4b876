/*
 * stack_run(): the calling thread's stack when enough of it is left (the
 * common case costs no thread), else a thread whose stack is mapped
 * without reserving memory (MAP_NORESERVE): a deep statement may need
 * hundreds of megabytes of address space, of which it touches only what
 * it uses. A guard page below the stack turns an overflow into a fault,
 * never into writes over other memory.
 */
/* pthread_getattr_np(): the calling thread's stack */
#define _GNU_SOURCE
#include "util/stack.h"
#include "util/cancel.h"

#include <sys/mman.h>
#include <unistd.h>

/* what the caller's own frames, and the C library's, may still take */
#define STACK_SLACK (128u << 10)

/* The lowest usable address of this thread's stack (cached), or NULL. */
static const char *stack_low(void)
{
	static __thread const char *low;
	static __thread bool is_known;
	pthread_attr_t attr;
	void *addr;
	size_t size, guard = 0;

	if (is_known)
		return low;
	is_known = true;
	if (pthread_getattr_np(pthread_self(), &attr))
		return NULL;
	if (!pthread_attr_getstack(&attr, &addr, &size)) {
		pthread_attr_getguardsize(&attr, &guard);
		low = (const char *)addr + guard;
	}
	pthread_attr_destroy(&attr);
	return low;
}

static size_t stack_left(void)
{
	const char *low = stack_low();
	char here;

	/* stacks grow down on every platform strata builds on */
	if (!low || &here <= low)
		return 0;
	return (size_t)(&here - low);
}

struct stack_job {
	void (*fn)(void *arg);
	void *arg;
};

static void *stack_job_run(void *p)
{
	struct stack_job *job = p;

	job->fn(job->arg);
	return NULL;
}

int stack_run(size_t need, void (*fn)(void *arg), void *arg)
{
	struct stack_job job = { fn, arg };
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t size;
	pthread_attr_t attr;
	pthread_t thread;
	char *map;
	int rc = -1;

	if (need + STACK_SLACK <= stack_left()) {
		fn(arg);
		return 0;
	}
	size = (need + STACK_SLACK + page - 1) / page * page;
	if (size < (size_t)PTHREAD_STACK_MIN)
		size = (size_t)PTHREAD_STACK_MIN;
	map = mmap(NULL, size + page, PROT_READ | PROT_WRITE,
	           MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1,
	           0);
	if (map == MAP_FAILED)
		return -1;
	if (mprotect(map, page, PROT_NONE) || pthread_attr_init(&attr)) {
		munmap(map, size + page);
		return -1;
	}
	if (!pthread_attr_setstack(&attr, map + page, size) &&
	    !cancel_thread_create_attr(&thread, &attr, stack_job_run, &job)) {
		pthread_join(thread, NULL);
		rc = 0;
	}
	pthread_attr_destroy(&attr);
	munmap(map, size + page);
	return rc;
}
