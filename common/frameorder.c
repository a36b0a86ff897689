/*
 * frameorder.c - see frameorder.h.
 */
#include "common/frameorder.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define FRAMEORDER_TS_MAX_DIGITS 19 /* fits uint64_t */

int
frameorder_timestamp(const char *name, uint64_t *ts)
{
    const char *base = strrchr(name, '/');
    const char *dot, *sep, *p;
    uint64_t v = 0;
    size_t digits;

    base = base != NULL ? base + 1 : name;
    dot = strrchr(base, '.');
    if (dot == NULL ||
        (strcasecmp(dot, ".jpg") != 0 && strcasecmp(dot, ".jpeg") != 0))
        return 0;
    sep = NULL;
    for (p = base; p + 1 < dot; p++)
        if (p[0] == '_' && p[1] == '_')
            sep = p;
    if (sep == NULL)
        return 0;
    p = sep + 2;
    digits = (size_t)(dot - p);
    if (digits == 0 || digits > FRAMEORDER_TS_MAX_DIGITS)
        return 0;
    for (; p < dot; p++) {
        if (!isdigit((unsigned char)*p))
            return 0;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    *ts = v;
    return 1;
}

/* 1 when s[0..n) is a camera's name: the prefix, then capitals, digits and
 * single underscores, not ending in one. */
static int
frameorder_camera_span(const char *s, size_t n)
{
    size_t plen = strlen(FRAMEORDER_CAMERA_PREFIX);

    if (n <= plen || n >= FRAMEORDER_CAMERA_MAX ||
        strncmp(s, FRAMEORDER_CAMERA_PREFIX, plen) != 0 || s[n - 1] == '_')
        return 0;
    for (size_t i = plen; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_') ||
            (c == '_' && s[i - 1] == '_'))
            return 0;
    }
    return 1;
}

int
frameorder_camera_valid(const char *cam)
{
    return frameorder_camera_span(cam, strlen(cam));
}

int
frameorder_camera(const char *name, char *cam)
{
    const char *base = strrchr(name, '/'), *found = NULL;
    size_t n = 0;

    base = base != NULL ? base + 1 : name;
    /* The basename's channel: the last "CAM_" that starts it or follows an
     * underscore, up to the "__" before the timestamp's digits. */
    for (const char *p = base;
         (p = strstr(p, FRAMEORDER_CAMERA_PREFIX)) != NULL; p++) {
        const char *end = strstr(p, "__");
        if ((p == base || p[-1] == '_') && end != NULL &&
            isdigit((unsigned char)end[2]) &&
            frameorder_camera_span(p, (size_t)(end - p))) {
            found = p;
            n = (size_t)(end - p);
        }
    }
    /* Else the folder it sits in. */
    if (found == NULL && base > name) {
        const char *dir = base - 1;
        while (dir > name && dir[-1] != '/')
            dir--;
        if (frameorder_camera_span(dir, (size_t)(base - 1 - dir))) {
            found = dir;
            n = (size_t)(base - 1 - dir);
        }
    }
    if (found == NULL)
        return 0;
    memcpy(cam, found, n);
    cam[n] = '\0';
    return 1;
}

int
frameorder_natural_cmp(const char *a, const char *b)
{
    const char *pa = a, *pb = b;

    while (*pa != '\0' && *pb != '\0') {
        if (isdigit((unsigned char)*pa) && isdigit((unsigned char)*pb)) {
            const char *sa, *sb;
            size_t la, lb;
            while (*pa == '0')
                pa++;
            while (*pb == '0')
                pb++;
            sa = pa;
            sb = pb;
            while (isdigit((unsigned char)*pa))
                pa++;
            while (isdigit((unsigned char)*pb))
                pb++;
            la = (size_t)(pa - sa);
            lb = (size_t)(pb - sb);
            if (la != lb)
                return la < lb ? -1 : 1;
            int c = memcmp(sa, sb, la);
            if (c != 0)
                return c < 0 ? -1 : 1;
            continue;
        }
        if (*pa != *pb)
            return (unsigned char)*pa < (unsigned char)*pb ? -1 : 1;
        pa++;
        pb++;
    }
    if (*pa != *pb)
        return *pa == '\0' ? -1 : 1;
    /* Equal by value ("f01" vs "f1"): fall back to bytes for a total
     * order. */
    int c = strcmp(a, b);
    return c < 0 ? -1 : c > 0;
}

struct frameorder_key {
    const char *name;
    uint64_t ts;
    size_t index;
};

static int
frameorder_cmp_ts(const void *x, const void *y)
{
    const struct frameorder_key *a = x, *b = y;
    if (a->ts != b->ts)
        return a->ts < b->ts ? -1 : 1;
    return frameorder_natural_cmp(a->name, b->name);
}

static int
frameorder_cmp_natural(const void *x, const void *y)
{
    const struct frameorder_key *a = x, *b = y;
    return frameorder_natural_cmp(a->name, b->name);
}

int
frameorder_sort(const char *const *names, size_t n, size_t *order)
{
    struct frameorder_key *keys;
    int all_ts = 1;

    if (n == 0)
        return 0;
    keys = calloc(n, sizeof(*keys));
    if (keys == NULL)
        return -1;
    for (size_t i = 0; i < n; i++) {
        keys[i].name = names[i];
        keys[i].index = i;
        if (!frameorder_timestamp(names[i], &keys[i].ts))
            all_ts = 0;
    }
    qsort(keys, n, sizeof(*keys),
          all_ts ? frameorder_cmp_ts : frameorder_cmp_natural);
    for (size_t i = 0; i < n; i++)
        order[i] = keys[i].index;
    free(keys);
    return all_ts;
}
