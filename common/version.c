/*
 * version.c - see version.h.
 */
#include "common/version.h"

#include <stdio.h>

#ifndef FF_GIT_HASH
#define FF_GIT_HASH "unknown"
#endif

void
version_text(char *buf, size_t len, const char *program)
{
    snprintf(buf, len, "%s %s (git %s)", program, FF_VERSION, FF_GIT_HASH);
}
