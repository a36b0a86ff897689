/*
 * ffassert.c - see ffassert.h. Any thread; it allocates nothing.
 */
#include "common/ffassert.h"

#include <stdlib.h>

#include "common/log.h"

void
ffassert_fail(const char *expr, const char *file, int line, const char *func)
{
    log_warnx("assertion failed: %s (%s:%d, %s)", expr, file, line, func);
    abort();
}
