/*
 * verify.h - checks a final video against its zip, frame by frame: the
 * frame count and size, and that frame i is source frame i (by the drawn
 * framemark when the zip is a framefarm sample, and for every zip by PSNR
 * against the decoded source JPEG, which must beat both neighbours' PSNR
 * so a swapped or shifted frame is caught).
 */
#ifndef FF_VERIFY_H
#define FF_VERIFY_H

#include <stddef.h>
#include <stdint.h>

#define VERIFY_DEFAULT_MIN_PSNR 28.0

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
    char first_problem[256];   /* "" when all is well */
};

/* 0 = the video matches, 1 = it does not (report says how), -1 = could
 * not check (err says why). */
int verify_video(const char *video, const char *zip, double min_psnr,
                 struct verify_report *rep, char *err, size_t errlen);

#endif
