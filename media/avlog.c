/*
 * avlog.c - see avlog.h. The callback runs on whatever thread libav logs
 * from (the caller's, or an encoder's worker threads); the only state it
 * touches is the calling thread's capture stack, so it needs no lock.
 */
#include "media/avlog.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <libavutil/error.h>
#include <libavutil/log.h>

#include "common/err.h"
#include "common/log.h"

#define AVLOG_LINE_MAX 1024
#define AVLOG_SEPARATOR "; "
#define AVLOG_ERRNO_MAX                                                        \
    4096 /* AVERROR(e) is -e; libav's own codes are                            \
            far larger tags */

static pthread_once_t avlog_once = PTHREAD_ONCE_INIT;
static _Thread_local struct avlog_capture *avlog_top;
static int avlog_log_errors = 1; /* set by avlog_start, before threads */

/* The AVClass item name of the object that logged ("libx264", "mp4"). */
static const char *
avlog_item_name(void *avcl)
{
    const AVClass *cls = avcl != NULL ? *(const AVClass **)avcl : NULL;
    if (cls == NULL || cls->item_name == NULL)
        return "libav";
    return cls->item_name(avcl);
}

static void
avlog_append(struct avlog_capture *c, const char *line)
{
    size_t used = strlen(c->text);
    if (used > 0 && used + sizeof(AVLOG_SEPARATOR) < sizeof(c->text)) {
        memcpy(c->text + used, AVLOG_SEPARATOR, sizeof(AVLOG_SEPARATOR));
        used += sizeof(AVLOG_SEPARATOR) - 1;
    }
    if (used + 1 < sizeof(c->text))
        snprintf(c->text + used, sizeof(c->text) - used, "%s", line);
}

static void
avlog_callback(void *avcl, int level, const char *fmt, va_list vl)
{
    char line[AVLOG_LINE_MAX];
    int print_prefix = 0; /* the item name is added below, without the
                             object's address */
    size_t n;

    if (level > AV_LOG_WARNING && log_verbosity < 2)
        return;
    av_log_format_line2(avcl, level, fmt, vl, line, sizeof(line),
                        &print_prefix);
    n = strlen(line);
    while (n > 0 &&
           (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' '))
        line[--n] = '\0';
    if (n == 0)
        return;
    if (level <= AV_LOG_ERROR && avlog_top != NULL)
        avlog_append(avlog_top, line);
    else if (level <= AV_LOG_ERROR && avlog_log_errors)
        log_warnx("libav %s: %s", avlog_item_name(avcl), line);
    else
        log_debug("libav %s: %s", avlog_item_name(avcl), line);
}

static void
avlog_install(void)
{
    av_log_set_level(log_verbosity > 1 ? AV_LOG_VERBOSE : AV_LOG_WARNING);
    av_log_set_callback(avlog_callback);
}

void
avlog_start(int log_errors)
{
    avlog_log_errors = log_errors;
    pthread_once(&avlog_once, avlog_install);
    avlog_install(); /* log_verbosity may have changed since */
}

void
avlog_init(void)
{
    pthread_once(&avlog_once, avlog_install);
}

void
avlog_capture_begin(struct avlog_capture *c)
{
    avlog_init();
    c->text[0] = '\0';
    c->prev = avlog_top;
    avlog_top = c;
}

void
avlog_capture_end(struct avlog_capture *c)
{
    if (avlog_top == c)
        avlog_top = c->prev;
}

int
avlog_errno(int averr)
{
    if (averr < 0 && averr > -AVLOG_ERRNO_MAX)
        return -averr;
    return EIO;
}

int
avlog_fail(char *err, size_t errlen, const struct avlog_capture *c, int averr,
           const char *fmt, ...)
{
    char what[AVLOG_LINE_MAX];
    char averr_text[AV_ERROR_MAX_STRING_SIZE];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    av_strerror(averr, averr_text, sizeof(averr_text));
    if (c != NULL && c->text[0] != '\0')
        errf(err, errlen, "%s: %s (%s)", what, averr_text, c->text);
    else
        errf(err, errlen, "%s: %s", what, averr_text);
    errno = avlog_errno(averr);
    return -1;
}
