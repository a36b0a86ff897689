/*
 * srcluma.c - see srcluma.h.
 */
#include "media/srcluma.h"

#include <stdlib.h>
#include <string.h>

#include <libswscale/swscale.h>
#include <turbojpeg.h>

#include "common/err.h"

#define SRCLUMA_MAX_DIM 16384
#define SRCLUMA_MAX_PIXELS (64ll << 20)
#define SRCLUMA_LEVELS 256
#define SRCLUMA_LIMITED_BLACK 16
#define SRCLUMA_LIMITED_SPAN 219 /* white - black in limited range */
#define SRCLUMA_FULL_SPAN 255

struct srcluma {
    const struct zipf_listing *list; /* borrowed */
    struct zipf_reader *zr;
    tjhandle tj;
    int w, h;                    /* the target's, 0 until set */
    uint8_t lut[SRCLUMA_LEVELS]; /* source level -> the target's range */
    uint8_t *grey;               /* one decoded source, its own size */
    size_t grey_cap;
    struct SwsContext *sws; /* source size -> target size */
};

struct srcluma *
srcluma_open(const char *zip, const struct zipf_listing *list, char *err,
             size_t errlen)
{
    struct srcluma *s = calloc(1, sizeof(*s));
    char why[ERR_MAX];

    if (s == NULL) {
        errf(err, errlen, "out of memory");
        return NULL;
    }
    s->list = list;
    if ((s->zr = zipf_reader_open(zip, why, sizeof(why))) == NULL) {
        errf(err, errlen, "%s: %s", zip, why);
        srcluma_close(s);
        return NULL;
    }
    if ((s->tj = tjInitDecompress()) == NULL) {
        errf(err, errlen, "tjInitDecompress: %s", tjGetErrorStr2(NULL));
        srcluma_close(s);
        return NULL;
    }
    return s;
}

int
srcluma_target(struct srcluma *s, int w, int h, int full, char *err,
               size_t errlen)
{
    if (w <= 0 || h <= 0 || w > SRCLUMA_MAX_DIM || h > SRCLUMA_MAX_DIM) {
        errf(err, errlen, "video frame size %dx%d out of range", w, h);
        return -1;
    }
    s->w = w;
    s->h = h;
    for (int i = 0; i < SRCLUMA_LEVELS; i++)
        s->lut[i] =
            full ? (uint8_t)i
                 : (uint8_t)(SRCLUMA_LIMITED_BLACK + (i * SRCLUMA_LIMITED_SPAN +
                                                      SRCLUMA_FULL_SPAN / 2) /
                                                         SRCLUMA_FULL_SPAN);
    return 0;
}

int
srcluma_load(struct srcluma *s, size_t i, uint8_t *dst, int *sw_out,
             int *sh_out, char *err, size_t errlen)
{
    const struct zipf_frame *f = &s->list->frames[i];
    uint8_t *jpeg = NULL;
    size_t len = 0, pixels;
    int sw, sh, subsamp, cs, rc = -1;
    char why[ERR_MAX], name_buf[ZIPF_NAME_MAX];
    const char *name = zipf_frame_name(s->list, i, name_buf);

    if (s->w == 0) {
        errf(err, errlen, "source frame %zu: no video size yet", i);
        return -1;
    }
    if (zipf_reader_read(s->zr, name, f->size, f->crc, &jpeg, &len, why,
                         sizeof(why)) == -1) {
        errf(err, errlen, "source frame %zu: %s", i, why);
        goto out;
    }
    if (tjDecompressHeader3(s->tj, jpeg, (unsigned long)len, &sw, &sh, &subsamp,
                            &cs) != 0) {
        errf(err, errlen, "source frame %zu (%s): %s", i, name,
             tjGetErrorStr2(s->tj));
        goto out;
    }
    if (sw <= 0 || sh <= 0 || sw > SRCLUMA_MAX_DIM || sh > SRCLUMA_MAX_DIM ||
        (long long)sw * sh > SRCLUMA_MAX_PIXELS) {
        errf(err, errlen, "source frame %zu (%s): size %dx%d too large", i,
             name, sw, sh);
        goto out;
    }
    pixels = (size_t)sw * (size_t)sh;
    if (s->grey_cap < pixels) {
        free(s->grey);
        s->grey_cap = pixels;
        s->grey = malloc(pixels);
        if (s->grey == NULL) {
            s->grey_cap = 0;
            errf(err, errlen, "out of memory for a %dx%d source", sw, sh);
            goto out;
        }
    }
    /* a warning (e.g. stray bytes after the image) still decodes fully */
    if (tjDecompress2(s->tj, jpeg, (unsigned long)len, s->grey, sw, sw, sh,
                      TJPF_GRAY, 0) != 0 &&
        tjGetErrorCode(s->tj) != TJERR_WARNING) {
        errf(err, errlen, "source frame %zu (%s): %s", i, name,
             tjGetErrorStr2(s->tj));
        goto out;
    }
    for (size_t p = 0; p < pixels; p++)
        s->grey[p] = s->lut[s->grey[p]];
    if (sw == s->w && sh == s->h) {
        memcpy(dst, s->grey, pixels);
    } else {
        const uint8_t *from[1] = {s->grey};
        uint8_t *to[1] = {dst};
        int fstride[1] = {sw}, tstride[1] = {s->w};
        s->sws = sws_getCachedContext(s->sws, sw, sh, AV_PIX_FMT_GRAY8, s->w,
                                      s->h, AV_PIX_FMT_GRAY8, SWS_BICUBIC, NULL,
                                      NULL, NULL);
        if (s->sws == NULL) {
            errf(err, errlen, "cannot scale %dx%d to %dx%d", sw, sh, s->w,
                 s->h);
            goto out;
        }
        sws_scale(s->sws, from, fstride, 0, sh, to, tstride);
    }
    if (sw_out != NULL)
        *sw_out = sw;
    if (sh_out != NULL)
        *sh_out = sh;
    rc = 0;
out:
    free(jpeg);
    return rc;
}

void
srcluma_close(struct srcluma *s)
{
    if (s == NULL)
        return;
    sws_freeContext(s->sws);
    free(s->grey);
    if (s->tj != NULL)
        tjDestroy(s->tj);
    zipf_reader_close(s->zr);
    free(s);
}
