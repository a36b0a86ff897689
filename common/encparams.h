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
/* --timing: frames at a constant --fps, or each at its nuScenes capture
 * time (variable frame rate, in a 1/ENC_TIMESTAMP_HZ time base). */
#define ENC_TIMING_FPS 0
#define ENC_TIMING_TIMESTAMPS 1
#define ENC_TIMESTAMP_HZ 1000000 /* nuScenes timestamps are microseconds */
#define ENC_SIZE_KEEP (-2)       /* --size Wx-2: this side keeps the aspect */

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
    int timing; /* ENC_TIMING_FPS or ENC_TIMING_TIMESTAMPS (fps_num/den is
                   then the nominal rate: GOP and the last frame's span) */
};

/* An output size asked for (--size WxH, Wx-2, -2xH): each side in pixels,
 * or ENC_SIZE_KEEP for the side that follows the frames' aspect. {0, 0}:
 * none asked for, the frames' own size. */
struct enc_size {
    int w, h;
};

void encparams_init(struct enc_params *p); /* the documented defaults */
/* 0 when every field is in range; else -1 and err says which. */
int encparams_check(const struct enc_params *p, char *err, size_t errlen);
/* Parse "12", "29.97" or "30000/1001" into num/den. 0, or -1. */
int encparams_parse_fps(const char *s, int *num, int *den);
/* "fps" or "timestamps" into *timing. 0, or -1. */
int encparams_parse_timing(const char *s, int *timing);
/* The name of a timing: "fps" or "timestamps". */
const char *encparams_timing_name(int timing);
/* Parse "WxH", "Wx-2" or "-2xH" (sides in ENC_MIN_DIM..ENC_MAX_DIM; an odd
 * side is rounded down to even, as 4:2:0 needs; one side at most is -2).
 * 0, or -1 with err. */
int encparams_parse_size(const char *s, struct enc_size *out, char *err,
                         size_t errlen);
/* The output size for frames of src_w x src_h under req (NULL or {0, 0}:
 * the frames' size rounded down to even): a kept side is the other scaled
 * by the frames' aspect, rounded to the nearest even number. 0 with *w,
 * *h, or -1 with err when that side falls outside ENC_MIN_DIM..ENC_MAX_DIM
 * (or the frames have no size). */
int encparams_fit_size(const struct enc_size *req, int src_w, int src_h, int *w,
                       int *h, char *err, size_t errlen);
cJSON *encparams_to_json(const struct enc_params *p);
int encparams_from_json(const cJSON *o, struct enc_params *p, char *err,
                        size_t errlen);

#endif
