/*
 * Running a function on a stack deep enough for it. Parsing SQL recurses
 * as deep as the statement nests (libpg_query's output and protobuf-c's
 * unpacking both do): stack_run() runs the function on the calling thread
 * when enough of its stack is left, else on a thread of its own whose
 * stack is that large.
 */
#ifndef STRATA_UTIL_STACK_H
#define STRATA_UTIL_STACK_H

#include "util/common.h"

/*
 * Calls fn(arg) with at least `need` bytes of stack. 0 once it ran; -1
 * when it could not (threads are off and the calling thread's stack is too
 * small, or no thread could be started): fn did not run.
 */
int stack_run(size_t need, void (*fn)(void *arg), void *arg);

#endif
