/*
 * jpegdec.h - one JPEG into one encoder input frame (private to media/).
 * JPEG is full-range BT.601 YCbCr; the frame leaves as limited-range
 * BT.601 at the frame's size, in the frame's format (yuv420p or nv12).
 * The common case (4:2:0 at the output size) decompresses with
 * libjpeg-turbo straight into the frame's planes and maps the range with
 * a byte table; other subsamplings, grey, RGB JPEGs and other sizes go
 * through libswscale. A decoder belongs to one thread at a time.
 */
#ifndef FF_JPEGDEC_H
#define FF_JPEGDEC_H

#include <stddef.h>
#include <stdint.h>

#include <libavutil/frame.h>

struct jpegdec;

/* NULL + errno (ENOMEM). */
struct jpegdec *jpegdec_new(void);
/* Decode jpeg[0..len) into out, whose format (yuv420p or nv12), width,
 * height and writable buffers the caller has set up. 0, or -1 with err. */
int jpegdec_decode(struct jpegdec *d, const uint8_t *jpeg, size_t len,
                   AVFrame *out, char *err, size_t errlen);
void jpegdec_free(struct jpegdec *d);

struct SwsContext;
/* Full-range BT.601 picture src (w x h, in fmt: planar or semi-planar
 * YCbCr, or RGB) into out's format and size at limited range, through
 * libswscale; *sws is the caller's cached context (sws_freeContext). Also
 * what hardware-decoded JPEGs go through. 0, or -1 with err. */
int jpegdec_convert(struct SwsContext **sws, const uint8_t *const src[],
                    const int srcstride[], int w, int h, enum AVPixelFormat fmt,
                    AVFrame *out, char *err, size_t errlen);

/* Pictures decoded so far that libjpeg-turbo warned about (recoverable
 * damage, e.g. a truncated scan: the picture is what it could decode). */
uint64_t jpegdec_warnings(const struct jpegdec *d);

#endif
