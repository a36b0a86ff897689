/*
 * watchdog.h - run a probe that may hang inside a driver (an encoder or
 * decoder opening a GPU) on a thread of its own, and stop waiting for it
 * after a deadline. A thread stuck in a driver cannot be cancelled safely;
 * it is abandoned instead and frees its own argument if it ever returns.
 * Any thread.
 */
#ifndef FF_WATCHDOG_H
#define FF_WATCHDOG_H

#include <stdint.h>

/* Run fn(arg) on a new thread and wait up to timeout_ms for it.
 *   1: it finished; arg is the caller's again.
 *   0: it did not finish in time; the thread goes on, owns arg from now
 *      on and calls free_arg(arg) when fn returns.
 *  -1: no thread could be started (errno); fn never ran, arg is the
 *      caller's. */
int watchdog_run(void (*fn)(void *arg), void *arg, void (*free_arg)(void *arg),
                 uint64_t timeout_ms);

#endif
