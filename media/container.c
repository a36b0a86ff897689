/*
 * container.c - see container.h.
 *
 * The table says what libavformat's muxers accept for our three codecs
 * (avformat_query_codec agrees: tests/unit/test_container.c checks every
 * cell against it), so a refusal here is one libav would make later, at
 * the concat, after every set was rendered. WebM takes only VP8, VP9 and
 * AV1 of the video codecs; framefarm makes AV1 of those.
 */
#include "media/container.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/err.h"

#define CONTAINER_LIST_MAX 64 /* "h264, hevc or av1", ".mp4, .mkv or .mov" */

static const struct container container_table[] = {
    {".mp4", "MP4", "mp4", {"h264", "hevc", "av1", NULL}, 1},
    {".mkv", "Matroska", "matroska", {"h264", "hevc", "av1", NULL}, 0},
    {".mov", "QuickTime", "mov", {"h264", "hevc", "av1", NULL}, 1},
    {".webm", "WebM", "webm", {"av1", NULL}, 0},
};

#define CONTAINER_N (sizeof(container_table) / sizeof(container_table[0]))

/* Every codec some container holds, in the table's order of first use. */
static const char *const container_known[] = {"h264", "hevc", "av1"};

static int
container_holds(const struct container *c, const char *codec)
{
    for (size_t i = 0; c->codecs[i] != NULL; i++)
        if (strcmp(c->codecs[i], codec) == 0)
            return 1;
    return 0;
}

/* "a, b or c" into buf. */
static void
container_join(char *buf, size_t len, const char *const *items, size_t n)
{
    size_t used = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < n && used < len; i++) {
        const char *sep = i == 0 ? "" : i + 1 == n ? " or " : ", ";
        int w = snprintf(buf + used, len - used, "%s%s", sep, items[i]);
        if (w < 0)
            return;
        used += (size_t)w;
    }
}

const struct container *
container_by_ext(const char *ext)
{
    for (size_t i = 0; i < CONTAINER_N; i++)
        if (strcasecmp(container_table[i].ext, ext) == 0)
            return &container_table[i];
    return NULL;
}

const struct container *
container_for_output(const char *path, const char *codec, char *err,
                     size_t errlen)
{
    const char *base = strrchr(path, '/'), *dot, *others[CONTAINER_N];
    const struct container *c;
    char holds[CONTAINER_LIST_MAX], alt[CONTAINER_LIST_MAX];
    size_t n = 0, k = 0;

    base = base != NULL ? base + 1 : path;
    dot = strrchr(base, '.');
    if (dot == NULL || dot == base) {
        errf(err, errlen,
             "output %s has no extension: name it %s (the container "
             "follows the name)",
             path, CONTAINER_EXTENSIONS);
        return NULL;
    }
    c = container_by_ext(dot);
    if (c == NULL) {
        errf(err, errlen,
             "output %s: \"%s\" is not a container framefarm writes; name "
             "it %s",
             path, dot, CONTAINER_EXTENSIONS);
        return NULL;
    }
    while (k < sizeof(container_known) / sizeof(container_known[0]) &&
           strcmp(container_known[k], codec) != 0)
        k++;
    if (k == sizeof(container_known) / sizeof(container_known[0])) {
        container_join(holds, sizeof(holds), container_known, k);
        errf(err, errlen, "codec \"%s\" is not %s", codec, holds);
        return NULL;
    }
    if (container_holds(c, codec))
        return c;
    while (n < CONTAINER_MAX_CODECS && c->codecs[n] != NULL)
        n++;
    container_join(holds, sizeof(holds), c->codecs, n);
    n = 0;
    for (size_t i = 0; i < CONTAINER_N; i++)
        if (container_holds(&container_table[i], codec))
            others[n++] = container_table[i].ext;
    container_join(alt, sizeof(alt), others, n);
    errf(err, errlen,
         "output %s: %s cannot hold %s video: use --codec %s, or name "
         "the output %s",
         path, c->name, codec, holds, alt);
    return NULL;
}
