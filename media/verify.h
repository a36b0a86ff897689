/*
 * verify.h - checks a final video against its zip, frame by frame: the
 * frame count and size, and that frame i is source frame i (by the drawn
 * framemark when the zip is a framefarm sample, and for every zip by PSNR
 * against the decoded source JPEG, which must beat both neighbours' PSNR
 * so a swapped or shifted frame is caught), and each frame's presentation
 * time: at a constant rate, or at its nuScenes capture time (--timing
 * timestamps), to within a tick of the video's time base.
 */
#ifndef FF_VERIFY_H
#define FF_VERIFY_H

#include <stddef.h>
#include <stdint.h>

#include "media/zipframes.h"

#define VERIFY_DEFAULT_MIN_PSNR 28.0
/* The frame times a video may have: ENC_TIMING_FPS, ENC_TIMING_TIMESTAMPS,
 * or either (the check passes when one of them holds, and says which). */
#define VERIFY_TIMING_AUTO (-1)

struct verify_opts {
    double min_psnr;
    char camera[FRAMEORDER_CAMERA_MAX]; /* taken from the zip, as a job does */
    int timing;                         /* VERIFY_TIMING_AUTO or ENC_TIMING_* */
};
void verify_opts_init(struct verify_opts *o); /* the defaults */

struct verify_report {
    uint64_t video_frames, zip_frames;
    int width, height;         /* of the video */
    int src_width, src_height; /* of the first source frame */
    char codec[32];
    int fps_num, fps_den;
    int marked;                /* the zip is a framefarm sample */
    uint64_t mark_errors;      /* frames whose mark is not their index */
    uint64_t order_errors;     /* frames closer to a neighbour source */
    uint64_t psnr_errors;      /* frames under min_psnr */
    uint64_t decode_errors;    /* packets the decoder rejected */
    double psnr_min, psnr_avg; /* luma PSNR against the source, dB */
    char camera[FRAMEORDER_CAMERA_MAX]; /* the zip's frames'; "" for all */
    /* The frame times found (ENC_TIMING_*), or VERIFY_TIMING_AUTO when
     * they are none that was allowed; frames more than a tick off them. */
    int timing;
    uint64_t timing_errors;
    char first_problem[256]; /* "" when all is well */
};

/* 0 = the video matches, 1 = it does not (report says how), -1 = could
 * not check (err says why; also --timing timestamps on names without
 * capture times). */
int verify_video(const char *video, const char *zip,
                 const struct verify_opts *o, struct verify_report *rep,
                 char *err, size_t errlen);

#endif
