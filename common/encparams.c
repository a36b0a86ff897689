/*
 * encparams.c - see encparams.h.
 */
#include "common/encparams.h"

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
        json_add_u64(o, "gop", (uint64_t)p->gop) == NULL) {
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
    return encparams_check(p, err, errlen);
}
