/*
 * avlog.h - where libav's own log lines go (private to media/). libav
 * logs through one process-wide callback; avlog installs it once and
 * sorts each line by the calling thread: a thread that opened a capture
 * collects its error lines into a buffer (they end up in an err string,
 * e.g. "Cannot load libcuda.so.1" as a probe's reason); any other thread's
 * error lines go to log_warnx, and warnings and chatter only to log_debug.
 * Any thread; a capture belongs to the thread that began it.
 */
#ifndef FF_AVLOG_H
#define FF_AVLOG_H

#include <stddef.h>

#include "common/log.h"

#define AVLOG_CAPTURE_MAX 256

struct avlog_capture {
    char text[AVLOG_CAPTURE_MAX]; /* error lines, "; "-separated */
    struct avlog_capture *prev;   /* the capture this one hides */
};

/* Install the callback (once per process; later calls do nothing). */
void avlog_init(void);
/* Collect this thread's libav error lines into c (cleared) until end. */
void avlog_capture_begin(struct avlog_capture *c);
void avlog_capture_end(struct avlog_capture *c);

/* The errno for a libav error code (EIO when it is not one). */
int avlog_errno(int averr);
/* Fill err with "<fmt ...>: <libav's text for averr>" followed by the
 * captured lines of c (NULL: none) in parentheses, set errno from averr
 * and return -1. */
int avlog_fail(char *err, size_t errlen, const struct avlog_capture *c,
               int averr, const char *fmt, ...) PRINTFLIKE(5, 6);

#endif
