/*
 * fault.c - see fault.h. The only file compiled twice: with FF_TEST_HOOKS
 * it reads the environment; without it (release) every reader is a
 * constant "no fault" and no hook's name is compiled in.
 */
#include "common/fault.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"

#ifdef FF_TEST_HOOKS

static const char *const fault_env_names[] = {
    [FAULT_HOOK_CRASH_AT] = "FRAMEFARM_CRASH_AT",
    [FAULT_HOOK_ENCODER] = "FRAMEFARM_FAULT_ENCODER",
    [FAULT_HOOK_DECODER] = "FRAMEFARM_FAULT_DECODER",
    [FAULT_HOOK_CORRUPT_SET] = "FRAMEFARM_FAULT_CORRUPT_SET",
    [FAULT_HOOK_STALL_SET] = "FRAMEFARM_FAULT_STALL_SET",
    [FAULT_HOOK_SLOW_MS] = "FRAMEFARM_FAULT_SLOW_MS",
    [FAULT_HOOK_JOURNAL_EIO] = "FRAMEFARM_FAULT_JOURNAL_EIO",
    [FAULT_HOOK_ZIP_EIO] = "FRAMEFARM_FAULT_ZIP_EIO",
    [FAULT_HOOK_CONN_CAP] = "FRAMEFARM_FAULT_CONN_CAP",
    [FAULT_HOOK_SET_FILES] = "FRAMEFARM_FAULT_SET_FILES",
};

/* The hook's value; NULL when unset or empty. */
static const char *
fault_get(enum fault_hook h)
{
    const char *v = getenv(fault_env(h));
    return v != NULL && v[0] != '\0' ? v : NULL;
}

int
fault_hooks_built(void)
{
    return 1;
}

const char *
fault_env(enum fault_hook h)
{
    if ((unsigned)h >= sizeof(fault_env_names) / sizeof(fault_env_names[0]))
        return "(unknown test hook)";
    return fault_env_names[h];
}

int
fault_crash_armed(const char *point)
{
    const char *v = fault_get(FAULT_HOOK_CRASH_AT);
    return v != NULL && point != NULL && strcmp(v, point) == 0;
}

void
fault_crash_point(const char *point)
{
    if (!fault_crash_armed(point))
        return;
    log_warnx("crash point %s: exiting now", point);
    _exit(FAULT_CRASH_EXIT);
}

const char *
fault_encoder(void)
{
    return fault_get(FAULT_HOOK_ENCODER);
}

const char *
fault_decoder(void)
{
    return fault_get(FAULT_HOOK_DECODER);
}

/* A hook that names a set: its number, or -1. */
static long
fault_set(enum fault_hook h)
{
    const char *v = fault_get(h);
    char *end;
    long n;

    if (v == NULL)
        return -1;
    errno = 0;
    n = strtol(v, &end, 10);
    if (errno != 0 || *end != '\0' || n < 0)
        return -1;
    return n;
}

long
fault_corrupt_set(void)
{
    return fault_set(FAULT_HOOK_CORRUPT_SET);
}

long
fault_stall_set(void)
{
    return fault_set(FAULT_HOOK_STALL_SET);
}

long
fault_slow_ms(void)
{
    return fault_set(FAULT_HOOK_SLOW_MS);
}

long
fault_journal_eio(void)
{
    return fault_set(FAULT_HOOK_JOURNAL_EIO);
}

long
fault_conn_cap(void)
{
    return fault_set(FAULT_HOOK_CONN_CAP);
}

int
fault_zip_eio(void)
{
    return fault_get(FAULT_HOOK_ZIP_EIO) != NULL;
}

long
fault_set_files(void)
{
    return fault_set(FAULT_HOOK_SET_FILES);
}

#else /* release: no hook exists */

int
fault_hooks_built(void)
{
    return 0;
}

const char *
fault_env(enum fault_hook h)
{
    (void)h;
    return "(no test hooks)";
}

int
fault_crash_armed(const char *point)
{
    (void)point;
    return 0;
}

void
fault_crash_point(const char *point)
{
    (void)point;
}

const char *
fault_encoder(void)
{
    return NULL;
}

const char *
fault_decoder(void)
{
    return NULL;
}

long
fault_corrupt_set(void)
{
    return -1;
}

long
fault_stall_set(void)
{
    return -1;
}

long
fault_slow_ms(void)
{
    return -1;
}

long
fault_journal_eio(void)
{
    return -1;
}

long
fault_conn_cap(void)
{
    return -1;
}

int
fault_zip_eio(void)
{
    return 0;
}

long
fault_set_files(void)
{
    return -1;
}

#endif
