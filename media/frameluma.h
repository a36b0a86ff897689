/*
 * frameluma.h - the 8-bit luma plane of a decoded video frame, for the
 * checks that compare frames against their source (verify, bench): the
 * frame's own plane when its format has one, else a conversion kept in
 * the frame's own range. One per decoding thread.
 */
#ifndef FF_FRAMELUMA_H
#define FF_FRAMELUMA_H

#include <stddef.h>
#include <stdint.h>

#include <libavutil/frame.h>
#include <libswscale/swscale.h>

struct frameluma {
    struct SwsContext *sws; /* owned; odd pixel formats -> 8-bit luma */
    AVFrame *conv;          /* owned; allocated on first need */
};

/* 1 when the frame's samples are full range (JPEG), else 0. */
int frameluma_full_range(const AVFrame *fr);
/* Point *luma and *stride at the frame's luma (valid until the next call or
 * the frame's unref). 0, or -1 with err. */
int frameluma_get(struct frameluma *fl, const AVFrame *fr, const uint8_t **luma,
                  int *stride, char *err, size_t errlen);
void frameluma_fini(struct frameluma *fl);

#endif
