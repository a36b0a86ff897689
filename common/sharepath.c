/*
 * sharepath.c - see sharepath.h.
 */
#include "common/sharepath.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/ident.h"
#include "common/log.h"

#define SHAREPATH_JOBS "jobs"
#define SHAREPATH_NODES "nodes"
#define SHAREPATH_COORD "coord"
#define SHAREPATH_LOGS "logs"
#define SHAREPATH_GEN_PREFIX "gen."

static int sharepath_vput(const char *share, char *out, size_t len,
                          const char *fmt, va_list ap) PRINTFLIKE(4, 0);
static int sharepath_put(const char *share, char *out, size_t len,
                         const char *fmt, ...) PRINTFLIKE(4, 5);
static int sharepath_named(const char *share, const char *name, char *out,
                           size_t len, const char *fmt, ...) PRINTFLIKE(5, 6);

static int
sharepath_fail(char *out, size_t len, int err)
{
    if (len > 0)
        out[0] = '\0';
    errno = err;
    return -1;
}

/* "<share>/<fmt...>", or "<fmt...>" when share is NULL. */
static int
sharepath_vput(const char *share, char *out, size_t len, const char *fmt,
               va_list ap)
{
    size_t used = 0;
    int n;

    if (len == 0)
        return sharepath_fail(out, len, ENAMETOOLONG);
    if (share != NULL) {
        if (share[0] == '\0')
            return sharepath_fail(out, len, EINVAL);
        n = snprintf(out, len, "%s/", share);
        if (n < 0 || (size_t)n >= len)
            return sharepath_fail(out, len, ENAMETOOLONG);
        used = (size_t)n;
    }
    n = vsnprintf(out + used, len - used, fmt, ap);
    if (n < 0 || (size_t)n >= len - used)
        return sharepath_fail(out, len, ENAMETOOLONG);
    return 0;
}

static int
sharepath_put(const char *share, char *out, size_t len, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = sharepath_vput(share, out, len, fmt, ap);
    va_end(ap);
    return rc;
}

/* A path whose first %s is name, a job or node name that becomes a path
 * component: refused unless it is an ident. */
static int
sharepath_named(const char *share, const char *name, char *out, size_t len,
                const char *fmt, ...)
{
    va_list ap;
    int rc;

    if (name == NULL || !ident_is_valid(name))
        return sharepath_fail(out, len, EINVAL);
    va_start(ap, fmt);
    rc = sharepath_vput(share, out, len, fmt, ap);
    va_end(ap);
    return rc;
}

int
sharepath_jobs_dir(const char *share, char *out, size_t len)
{
    return sharepath_put(share, out, len, SHAREPATH_JOBS);
}

int
sharepath_job_dir(const char *share, const char *job, char *out, size_t len)
{
    return sharepath_named(share, job, out, len, SHAREPATH_JOBS "/%s", job);
}

int
sharepath_input_zip(const char *share, const char *job, char *out, size_t len)
{
    return sharepath_named(share, job, out, len, SHAREPATH_JOBS "/%s/input.zip",
                           job);
}

int
sharepath_sets_dir(const char *share, const char *job, char *out, size_t len)
{
    return sharepath_named(share, job, out, len, SHAREPATH_JOBS "/%s/sets",
                           job);
}

int
sharepath_manifest(const char *share, const char *job, uint32_t set, char *out,
                   size_t len)
{
    return sharepath_named(share, job, out, len,
                           SHAREPATH_JOBS "/%s/sets/%u.json", job, set);
}

int
sharepath_out_dir(const char *share, const char *job, uint32_t set, char *out,
                  size_t len)
{
    return sharepath_named(share, job, out, len, SHAREPATH_JOBS "/%s/out/%u",
                           job, set);
}

int
sharepath_result(const char *share, const char *job, uint32_t set,
                 uint64_t epoch, const char *node, char *out, size_t len)
{
    if (node == NULL || !ident_is_valid(node))
        return sharepath_fail(out, len, EINVAL);
    return sharepath_named(share, job, out, len,
                           SHAREPATH_JOBS "/%s/out/%u/%llu-%s.mp4", job, set,
                           (unsigned long long)epoch, node);
}

int
sharepath_journal(const char *share, const char *job, char *out, size_t len)
{
    return sharepath_named(share, job, out, len, SHAREPATH_JOBS "/%s/journal",
                           job);
}

int
sharepath_nodes_dir(const char *share, char *out, size_t len)
{
    return sharepath_put(share, out, len, SHAREPATH_NODES);
}

int
sharepath_node_dir(const char *share, const char *node, char *out, size_t len)
{
    return sharepath_named(share, node, out, len, SHAREPATH_NODES "/%s", node);
}

int
sharepath_lease(const char *share, const char *node, char *out, size_t len)
{
    return sharepath_named(share, node, out, len, SHAREPATH_NODES "/%s/lease",
                           node);
}

int
sharepath_coord_dir(const char *share, char *out, size_t len)
{
    return sharepath_put(share, out, len, SHAREPATH_COORD);
}

int
sharepath_probe(const char *share, char *out, size_t len)
{
    return sharepath_put(share, out, len, SHAREPATH_COORD "/probe");
}

int
sharepath_gen(const char *share, uint64_t gen, char *out, size_t len)
{
    return sharepath_put(share, out, len,
                         SHAREPATH_COORD "/" SHAREPATH_GEN_PREFIX "%llu",
                         (unsigned long long)gen);
}

int
sharepath_current(const char *share, char *out, size_t len)
{
    return sharepath_put(share, out, len, SHAREPATH_COORD "/current");
}

int
sharepath_logs_dir(const char *share, char *out, size_t len)
{
    return sharepath_put(share, out, len, SHAREPATH_LOGS);
}

int
sharepath_gen_parse(const char *name, uint64_t *gen)
{
    const size_t plen = strlen(SHAREPATH_GEN_PREFIX);
    const char *p;
    uint64_t g = 0;

    if (strncmp(name, SHAREPATH_GEN_PREFIX, plen) != 0 || name[plen] == '\0')
        return 0;
    for (p = name + plen; *p != '\0'; p++) {
        unsigned d = (unsigned)(*p - '0');
        if (d > 9 || g > (UINT64_MAX - d) / 10)
            return 0;
        g = g * 10 + d;
    }
    *gen = g;
    return 1;
}
