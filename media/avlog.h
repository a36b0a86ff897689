/*
 * avlog.h - where libav's own log lines go: never to stderr as libav
 * writes them ("[libdav1d @ 0x...] ..."). libav logs through one
 * process-wide callback; avlog installs it and sorts each line by the
 * calling thread: a thread that opened a capture collects its error lines
 * into a buffer (they end up in an err string, e.g. "Cannot load
 * libcuda.so.1" as a probe's reason); any other thread's error lines go
 * to log_warnx (a daemon's log) or log_debug (a command that says what
 * failed in its own words), and warnings and chatter only to log_debug,
 * that is with -v. Each program calls avlog_start once; the rest is for
 * media/. Any thread; a capture belongs to the thread that began it.
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

/* A program's start-up, once its flags have set log_verbosity and before
 * any thread: install the callback. log_errors: libav's error lines from
 * threads without a capture go to log_warnx (1) or log_debug (0). */
void avlog_start(int log_errors);
/* Install the callback as it is (once per process; later calls do
 * nothing; avlog_start's choice stays). */
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
