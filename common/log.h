/*
 * log.h - one line per event on stderr, written with a single write(2) so
 * lines from many threads and processes never interleave. Any thread.
 * Lines name what they are about ("job demo set 3 epoch 2 node n1: ...");
 * the caller supplies that, log adds the time and the process tag.
 */
#ifndef FF_LOG_H
#define FF_LOG_H

#include <stdnoreturn.h>

#define PRINTFLIKE(a, b) __attribute__((format(printf, a, b)))

extern int log_verbosity; /* 0 quiet, 1 info (default), 2 debug */

void log_init(const char *tag); /* process tag, e.g. "coord" or "node n1" */
void log_info(const char *fmt, ...) PRINTFLIKE(1, 2);
void log_warn(const char *fmt, ...) PRINTFLIKE(1, 2);  /* + strerror(errno) */
void log_warnx(const char *fmt, ...) PRINTFLIKE(1, 2); /* no errno */
void log_debug_(const char *fmt, ...) PRINTFLIKE(1, 2);
#define log_debug(...)                                                         \
    do {                                                                       \
        if (log_verbosity > 1)                                                 \
            log_debug_(__VA_ARGS__);                                           \
    } while (0)
/* Start-up only: print and exit(1). */
noreturn void fatal(const char *fmt, ...) PRINTFLIKE(1, 2);  /* + errno */
noreturn void fatalx(const char *fmt, ...) PRINTFLIKE(1, 2); /* no errno */

#endif
