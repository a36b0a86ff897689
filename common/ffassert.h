/*
 * ffassert.h - assertions on invariants that stay on in every build, as
 * Redis's serverAssert does: unlike assert(3), FF_ASSERT does not depend
 * on NDEBUG. A broken invariant means the state can no longer be trusted
 * (a set counted twice, a journal out of step), so going on would be
 * worse than dying: the process logs "assertion failed: EXPR (FILE:LINE,
 * FUNC)" on stderr and calls abort(), leaving a core where enabled. Any
 * thread. Use it for invariants of our own state, never to check input
 * from the network, the share or the user: those are errors to report.
 */
#ifndef FF_FFASSERT_H
#define FF_FFASSERT_H

#include <stdnoreturn.h>

#define FF_ASSERT(cond)                                                        \
    (__builtin_expect(!!(cond), 1)                                             \
         ? (void)0                                                             \
         : ffassert_fail(#cond, __FILE__, __LINE__, __func__))

/* Logs the failed assertion and aborts; called only by FF_ASSERT. */
noreturn void ffassert_fail(const char *expr, const char *file, int line,
                            const char *func);

#endif
