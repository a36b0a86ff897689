/*
 * log.c - see log.h. The tag is set once at start-up, before threads exist.
 */
#include "common/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LOG_LINE_MAX 2048
#define LOG_TAG_MAX 64

int log_verbosity = 1;
static char log_tag[LOG_TAG_MAX] = "framefarm";

void
log_init(const char *tag)
{
    snprintf(log_tag, sizeof(log_tag), "%s", tag);
    const char *v = getenv("FRAMEFARM_DEBUG");
    if (v != NULL && *v != '\0' && strcmp(v, "0") != 0)
        log_verbosity = 2;
}

/* The attribute lets the compiler check log_emit's callers' formats
 * (clang's -Wformat-nonliteral refuses a va_list format without it). */
static void log_emit(const char *level, int errnum, const char *fmt, va_list ap)
    PRINTFLIKE(3, 0);

static void
log_emit(const char *level, int errnum, const char *fmt, va_list ap)
{
    char line[LOG_LINE_MAX];
    struct timespec ts;
    struct tm tm;
    size_t n;
    int r;

    clock_gettime(CLOCK_REALTIME, &ts);
    localtime_r(&ts.tv_sec, &tm);
    n = strftime(line, sizeof(line), "%H:%M:%S", &tm);
    r = snprintf(line + n, sizeof(line) - n,
                 ".%03ld %s %s: ", ts.tv_nsec / 1000000, log_tag, level);
    if (r > 0)
        n += (size_t)r < sizeof(line) - n ? (size_t)r : sizeof(line) - n - 1;
    r = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
    if (r > 0)
        n += (size_t)r < sizeof(line) - n ? (size_t)r : sizeof(line) - n - 1;
    if (errnum != 0 && n < sizeof(line) - 1) {
        r = snprintf(line + n, sizeof(line) - n, ": %s", strerror(errnum));
        if (r > 0)
            n +=
                (size_t)r < sizeof(line) - n ? (size_t)r : sizeof(line) - n - 1;
    }
    if (n >= sizeof(line) - 1)
        n = sizeof(line) - 2;
    line[n++] = '\n';
    /* One write per line: atomic for pipes up to PIPE_BUF, and never
     * interleaved mid-line with other threads' lines. */
    ssize_t w = write(STDERR_FILENO, line, n);
    (void)w;
}

#define LOG_FN(name, level, with_errno)                                        \
    void name(const char *fmt, ...)                                            \
    {                                                                          \
        int saved = errno;                                                     \
        va_list ap;                                                            \
        va_start(ap, fmt);                                                     \
        log_emit(level, with_errno ? saved : 0, fmt, ap);                      \
        va_end(ap);                                                            \
        errno = saved;                                                         \
    }

LOG_FN(log_info, "info", 0)
LOG_FN(log_warn, "warn", 1)
LOG_FN(log_warnx, "warn", 0)
LOG_FN(log_debug_, "debug", 0)

void
fatal(const char *fmt, ...)
{
    int saved = errno;
    va_list ap;
    va_start(ap, fmt);
    log_emit("fatal", saved, fmt, ap);
    va_end(ap);
    exit(1);
}

void
fatalx(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_emit("fatal", 0, fmt, ap);
    va_end(ap);
    exit(1);
}
