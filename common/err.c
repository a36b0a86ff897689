/*
 * err.c - see err.h.
 */
#include "common/err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void
errf(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    if (err == NULL || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* Is one of errs[0..n) named in text? */
static int
err_names_one(const char *text, const int *errs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strstr(text, strerror(errs[i])) != NULL)
            return 1;
    return 0;
}

int
err_is_nospace(const char *text)
{
    static const int errs[] = {ENOSPC, EDQUOT};
    return err_names_one(text, errs, sizeof(errs) / sizeof(errs[0]));
}

int
err_is_share_io(int e)
{
    return e == EIO || e == ESTALE || e == ENOTCONN || e == ETIMEDOUT ||
           e == EHOSTDOWN || e == ECONNABORTED;
}

int
err_is_resource(const char *text)
{
    static const int errs[] = {ENOSPC, EDQUOT, EMFILE, ENFILE, ENOMEM};
    return err_names_one(text, errs, sizeof(errs) / sizeof(errs[0]));
}
