/*
 * encparams.c - see encparams.h.
 */
#include "common/encparams.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/jsonutil.h"

#define ENC_MAX_CRF 51
#define ENC_MAX_GOP 10000
#define ENC_FPS_DEN_DECIMAL 1000
#define ENC_NTSC_FACTOR 1.001
#define ENC_NTSC_TOLERANCE 0.001

void
encparams_init(struct enc_params *p)
{
    memset(p, 0, sizeof(*p));
    strcpy(p->codec, ENC_DEFAULT_CODEC);
    strcpy(p->encoder, ENC_DEFAULT_ENCODER);
    strcpy(p->preset, ENC_DEFAULT_PRESET);
    strcpy(p->fallback, ENC_DEFAULT_FALLBACK);
    p->crf = ENC_DEFAULT_CRF;
    p->fps_num = ENC_DEFAULT_FPS;
    p->fps_den = 1;
    p->gop = ENC_DEFAULT_FPS * ENC_DEFAULT_GOP_SECONDS;
}

static int
encparams_name_ok(const char *s)
{
    if (s[0] == '\0')
        return 0;
    for (; *s != '\0'; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || *s == '-'))
            return 0;
    return 1;
}

int
encparams_check(const struct enc_params *p, char *err, size_t errlen)
{
    if (strcmp(p->codec, "h264") != 0 && strcmp(p->codec, "hevc") != 0 &&
        strcmp(p->codec, "av1") != 0) {
        errf(err, errlen, "codec \"%s\" is not h264, hevc or av1", p->codec);
        return -1;
    }
    if (!encparams_name_ok(p->encoder) || !encparams_name_ok(p->preset)) {
        errf(err, errlen, "encoder or preset name has bad characters");
        return -1;
    }
    if (strcmp(p->fallback, ENC_FALLBACK_CPU) != 0 &&
        strcmp(p->fallback, ENC_FALLBACK_NONE) != 0) {
        errf(err, errlen, "fallback \"%.32s\" is not %s or %s", p->fallback,
             ENC_FALLBACK_CPU, ENC_FALLBACK_NONE);
        return -1;
    }
    if (p->crf < 0 || p->crf > ENC_MAX_CRF) {
        errf(err, errlen, "crf %d outside 0..%d", p->crf, ENC_MAX_CRF);
        return -1;
    }
    if (p->fps_num <= 0 || p->fps_den <= 0 ||
        p->fps_num / p->fps_den > ENC_MAX_FPS) {
        errf(err, errlen, "frame rate %d/%d out of range", p->fps_num,
             p->fps_den);
        return -1;
    }
    if (p->width < ENC_MIN_DIM || p->height < ENC_MIN_DIM ||
        p->width > ENC_MAX_DIM || p->height > ENC_MAX_DIM ||
        p->width % 2 != 0 || p->height % 2 != 0) {
        errf(err, errlen, "frame size %dx%d: need even sizes in %d..%d",
             p->width, p->height, ENC_MIN_DIM, ENC_MAX_DIM);
        return -1;
    }
    if (p->gop < 1 || p->gop > ENC_MAX_GOP) {
        errf(err, errlen, "gop %d outside 1..%d", p->gop, ENC_MAX_GOP);
        return -1;
    }
    if (p->timing != ENC_TIMING_FPS && p->timing != ENC_TIMING_TIMESTAMPS) {
        errf(err, errlen, "timing %d is not fps or timestamps", p->timing);
        return -1;
    }
    return 0;
}

int
encparams_parse_fps(const char *s, int *num, int *den)
{
    char *end;
    const char *slash = strchr(s, '/');

    errno = 0;
    if (slash != NULL) {
        long n = strtol(s, &end, 10);
        if (end != slash || errno != 0)
            return -1;
        long d = strtol(slash + 1, &end, 10);
        if (*end != '\0' || errno != 0 || n <= 0 || d <= 0 ||
            n > ENC_MAX_FPS * 1001L || d > 1001000L)
            return -1;
        *num = (int)n;
        *den = (int)d;
        return 0;
    }
    double f = strtod(s, &end);
    if (*end != '\0' || errno != 0 || !isfinite(f) || f <= 0 || f > ENC_MAX_FPS)
        return -1;
    if (f == floor(f)) {
        *num = (int)f;
        *den = 1;
    } else if (fabs(f * ENC_NTSC_FACTOR - round(f * ENC_NTSC_FACTOR)) <
               ENC_NTSC_TOLERANCE) {
        /* 29.97, 23.976, 59.94: the NTSC rates N*1000/1001. */
        *num = (int)round(f * ENC_NTSC_FACTOR) * 1000;
        *den = 1001;
    } else {
        *num = (int)round(f * ENC_FPS_DEN_DECIMAL);
        *den = ENC_FPS_DEN_DECIMAL;
    }
    return 0;
}

/* One side of --size, s[0..len): pixels rounded down to even, or
 * ENC_SIZE_KEEP. 0, or -1. */
static int
encparams_parse_side(const char *s, size_t len, int *out)
{
    char buf[ENC_NAME_MAX], *end;
    long v;

    /* strtol would also take leading blanks and a '+' */
    if (len == 0 || len >= sizeof(buf) ||
        !(isdigit((unsigned char)s[0]) || s[0] == '-'))
        return -1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    errno = 0;
    v = strtol(buf, &end, 10);
    if (*end != '\0' || errno != 0)
        return -1;
    if (v == ENC_SIZE_KEEP) {
        *out = ENC_SIZE_KEEP;
        return 0;
    }
    if (v < ENC_MIN_DIM || v > ENC_MAX_DIM)
        return -1;
    *out = (int)v & ~1;
    return 0;
}

int
encparams_parse_size(const char *s, struct enc_size *out, char *err,
                     size_t errlen)
{
    const char *x = strpbrk(s, "xX");
    struct enc_size z;

    if (x == NULL || x == s || x[1] == '\0') {
        errf(err, errlen, "--size %s: expected WxH, Wx-2 or -2xH", s);
        return -1;
    }
    if (encparams_parse_side(s, (size_t)(x - s), &z.w) == -1 ||
        encparams_parse_side(x + 1, strlen(x + 1), &z.h) == -1) {
        errf(err, errlen,
             "--size %s: each side is %d..%d pixels, or -2 to keep the "
             "frames' aspect",
             s, ENC_MIN_DIM, ENC_MAX_DIM);
        return -1;
    }
    if (z.w == ENC_SIZE_KEEP && z.h == ENC_SIZE_KEEP) {
        errf(err, errlen, "--size %s: give at least one side in pixels", s);
        return -1;
    }
    *out = z;
    return 0;
}

/* other * src_this / src_other, to the nearest even number. */
static long long
encparams_keep_side(int other, int src_other, int src_this)
{
    long long num = (long long)other * src_this;
    return 2 * ((num + src_other) / (2LL * src_other));
}

int
encparams_fit_size(const struct enc_size *req, int src_w, int src_h, int *w,
                   int *h, char *err, size_t errlen)
{
    long long rw, rh;

    if (src_w < 1 || src_h < 1) {
        errf(err, errlen, "frames of %dx%d have no size", src_w, src_h);
        return -1;
    }
    if (req == NULL || (req->w == 0 && req->h == 0)) {
        *w = src_w & ~1;
        *h = src_h & ~1;
        return 0;
    }
    rw = req->w == ENC_SIZE_KEEP ? encparams_keep_side(req->h, src_h, src_w)
                                 : req->w & ~1;
    rh = req->h == ENC_SIZE_KEEP ? encparams_keep_side(req->w, src_w, src_h)
                                 : req->h & ~1;
    if (rw < ENC_MIN_DIM || rh < ENC_MIN_DIM || rw > ENC_MAX_DIM ||
        rh > ENC_MAX_DIM) {
        errf(err, errlen,
             "--size %dx%d on frames of %dx%d gives %lldx%lld: each side "
             "must be %d..%d pixels",
             req->w, req->h, src_w, src_h, rw, rh, ENC_MIN_DIM, ENC_MAX_DIM);
        return -1;
    }
    *w = (int)rw;
    *h = (int)rh;
    return 0;
}

int
encparams_parse_timing(const char *s, int *timing)
{
    if (strcmp(s, "fps") == 0)
        *timing = ENC_TIMING_FPS;
    else if (strcmp(s, "timestamps") == 0)
        *timing = ENC_TIMING_TIMESTAMPS;
    else
        return -1;
    return 0;
}

const char *
encparams_timing_name(int timing)
{
    return timing == ENC_TIMING_TIMESTAMPS ? "timestamps" : "fps";
}

cJSON *
encparams_to_json(const struct enc_params *p)
{
    cJSON *o = cJSON_CreateObject();
    if (o == NULL)
        return NULL;
    if (cJSON_AddStringToObject(o, "codec", p->codec) == NULL ||
        cJSON_AddStringToObject(o, "encoder", p->encoder) == NULL ||
        cJSON_AddStringToObject(o, "preset", p->preset) == NULL ||
        cJSON_AddStringToObject(o, "fallback", p->fallback) == NULL ||
        json_add_u64(o, "crf", (uint64_t)p->crf) == NULL ||
        json_add_u64(o, "fps_num", (uint64_t)p->fps_num) == NULL ||
        json_add_u64(o, "fps_den", (uint64_t)p->fps_den) == NULL ||
        json_add_u64(o, "width", (uint64_t)p->width) == NULL ||
        json_add_u64(o, "height", (uint64_t)p->height) == NULL ||
        json_add_u64(o, "gop", (uint64_t)p->gop) == NULL ||
        /* Only when not the default, which manifests written before the
         * field existed mean. */
        (p->timing != ENC_TIMING_FPS &&
         cJSON_AddStringToObject(o, "timing",
                                 encparams_timing_name(p->timing)) == NULL)) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

int
encparams_from_json(const cJSON *o, struct enc_params *p, char *err,
                    size_t errlen)
{
    uint64_t crf, num, den, w, h, gop;
    if (!cJSON_IsObject(o)) {
        errf(err, errlen, "encode parameters are not an object");
        return -1;
    }
    memset(p, 0, sizeof(*p));
    if (json_strcpy(o, "codec", p->codec, sizeof(p->codec)) == -1 ||
        json_strcpy(o, "encoder", p->encoder, sizeof(p->encoder)) == -1 ||
        json_strcpy(o, "preset", p->preset, sizeof(p->preset)) == -1) {
        errf(err, errlen, "codec, encoder or preset missing or too long");
        return -1;
    }
    /* Absent in manifests written before the field existed: the default. */
    if (cJSON_GetObjectItemCaseSensitive(o, "fallback") == NULL)
        strcpy(p->fallback, ENC_DEFAULT_FALLBACK);
    else if (json_strcpy(o, "fallback", p->fallback, sizeof(p->fallback)) ==
             -1) {
        errf(err, errlen, "fallback is not a string or too long");
        return -1;
    }
    if (json_u64(o, "crf", INT32_MAX, &crf) == -1 ||
        json_u64(o, "fps_num", INT32_MAX, &num) == -1 ||
        json_u64(o, "fps_den", INT32_MAX, &den) == -1 ||
        json_u64(o, "width", INT32_MAX, &w) == -1 ||
        json_u64(o, "height", INT32_MAX, &h) == -1 ||
        json_u64(o, "gop", INT32_MAX, &gop) == -1) {
        errf(err, errlen, "a numeric encode parameter is missing or bad");
        return -1;
    }
    p->crf = (int)crf;
    p->fps_num = (int)num;
    p->fps_den = (int)den;
    p->width = (int)w;
    p->height = (int)h;
    p->gop = (int)gop;
    /* Absent: fps, as every manifest written before the field existed. */
    if (cJSON_GetObjectItemCaseSensitive(o, "timing") != NULL &&
        (json_str(o, "timing") == NULL ||
         encparams_parse_timing(json_str(o, "timing"), &p->timing) == -1)) {
        errf(err, errlen, "timing is not \"fps\" or \"timestamps\"");
        return -1;
    }
    return encparams_check(p, err, errlen);
}
