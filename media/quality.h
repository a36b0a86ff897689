/*
 * quality.h - how close a video is to its source frames, on luma.
 *
 * quality_psnr and quality_ssim are pure functions over two 8-bit luma
 * planes of the same size (any thread, no state, nothing read or
 * written): verify and bench share this one implementation.
 *
 * quality_video is the I/O edge: it decodes a video (libavcodec) and
 * scores each of its first frames against the zip's source frame of the
 * same index, decoded to grey with libjpeg-turbo and mapped to the video's
 * range exactly as verify does (limited: 16 + y * 219 / 255, rounded;
 * scaled with libswscale when the sizes differ). Every libav object
 * belongs to the calling thread.
 *
 * PSNR: 10 log10(255^2 / MSE) over the whole plane, QUALITY_PSNR_CAP for
 * identical planes. SSIM: Wang, Bovik, Sheikh and Simoncelli (2004) on
 * luma at full resolution: an 11x11 Gaussian window (sigma 1.5,
 * normalised), C1 = (0.01 * 255)^2, C2 = (0.03 * 255)^2, the mean of the
 * SSIM map over every window that fits inside the picture (no padding,
 * no downsampling).
 */
#ifndef FF_QUALITY_H
#define FF_QUALITY_H

#include <stddef.h>
#include <stdint.h>

#include "media/zipframes.h"

#define QUALITY_PSNR_CAP 100.0 /* dB, for identical planes */
#define QUALITY_SSIM_WINDOW 11 /* pixels; planes must be at least this */

/* Sum of squared differences of two w x h planes. */
uint64_t quality_sse(const uint8_t *a, ptrdiff_t astride, const uint8_t *b,
                     ptrdiff_t bstride, int w, int h);
/* PSNR in dB for a sum of squared differences over pixels pixels, capped
 * at QUALITY_PSNR_CAP. */
double quality_psnr_sse(uint64_t sse, uint64_t pixels);
/* Luma PSNR of plane a against plane b, in dB. */
double quality_psnr(const uint8_t *a, ptrdiff_t astride, const uint8_t *b,
                    ptrdiff_t bstride, int w, int h);
/* Mean SSIM of plane a against plane b into *ssim (1.0 when identical).
 * 0, or -1 + errno: EINVAL when a side is under QUALITY_SSIM_WINDOW,
 * ENOMEM. */
int quality_ssim(const uint8_t *a, ptrdiff_t astride, const uint8_t *b,
                 ptrdiff_t bstride, int w, int h, double *ssim);

struct quality_report {
    uint64_t frames;        /* frames decoded */
    uint64_t scored;        /* of those, compared with a source frame */
    uint64_t decode_errors; /* packets or frames the decoder rejected */
    int width, height;      /* of the video */
    double psnr_db;         /* mean luma PSNR over the scored frames */
    double psnr_min_db;     /* the worst scored frame */
    double ssim;            /* mean luma SSIM over the scored frames */
};

/* Decode video and score its frames 0..count-1 against list's frames
 * 0..count-1, read from zip. Frames past count are decoded and counted,
 * not scored. 0 with rep filled, or -1 with err (unreadable video or zip,
 * an undecodable source, no memory). */
int quality_video(const char *video, const char *zip,
                  const struct zipf_listing *list, size_t count,
                  struct quality_report *rep, char *err, size_t errlen);

#endif
