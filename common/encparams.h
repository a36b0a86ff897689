/*
 * encparams.h - the encode parameters of a job. Every set of a job is
 * encoded with the same values so the mini-videos concatenate by stream
 * copy. Pure value type.
 */
#ifndef FF_ENCPARAMS_H
#define FF_ENCPARAMS_H

#include <cjson/cJSON.h>

#define ENC_NAME_MAX 32
#define ENC_DEFAULT_CODEC "h264"
#define ENC_DEFAULT_ENCODER "auto"
#define ENC_DEFAULT_PRESET "veryfast"
#define ENC_FALLBACK_CPU                                                       \
    "cpu"                        /* render on the CPU when the encoder asked   \
                                    for is unavailable, and say so */
#define ENC_FALLBACK_NONE "none" /* fail the set instead */
#define ENC_DEFAULT_FALLBACK ENC_FALLBACK_CPU
#define ENC_DEFAULT_CRF 23
#define ENC_DEFAULT_FPS 12
#define ENC_DEFAULT_GOP_SECONDS 2
#define ENC_MAX_DIM 8192
#define ENC_MIN_DIM 16
#define ENC_MAX_FPS 1000

struct enc_params {
    char codec[ENC_NAME_MAX];    /* "h264" (hevc, av1: see docs) */
    char encoder[ENC_NAME_MAX];  /* "auto", "cpu" or an FFmpeg encoder name */
    char preset[ENC_NAME_MAX];   /* x264 preset name */
    char fallback[ENC_NAME_MAX]; /* "cpu" or "none": when the encoder asked
                                    for is not available on a node */
    int crf;                     /* 0..51 */
    int fps_num, fps_den;        /* frame rate, e.g. 12/1 */
    int width, height;           /* output size: the first frame's size */
    int gop;                     /* frames between IDRs; each set starts one */
};

void encparams_init(struct enc_params *p); /* the documented defaults */
/* 0 when every field is in range; else -1 and err says which. */
int encparams_check(const struct enc_params *p, char *err, size_t errlen);
/* Parse "12", "29.97" or "30000/1001" into num/den. 0, or -1. */
int encparams_parse_fps(const char *s, int *num, int *den);
cJSON *encparams_to_json(const struct enc_params *p);
int encparams_from_json(const cJSON *o, struct enc_params *p, char *err,
                        size_t errlen);

#endif
