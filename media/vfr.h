/*
 * vfr.h - what muxing frames at their own times needs (--timing
 * timestamps; private to media/): the MP4 header with a movie time scale
 * as fine as the track's, and the span of a frame with no next one. With
 * --timing fps both leave things as they were. Any thread; the muxer
 * belongs to the caller's.
 */
#ifndef FF_VFR_H
#define FF_VFR_H

#include <stdint.h>

#include <libavformat/avformat.h>

#include "common/encparams.h"

/* avformat_write_header for frames timed as p says: with timestamps, an
 * MP4 or MOV whose first frame is not at 0 gets an edit list in a movie
 * time scale of 1/ENC_TIMESTAMP_HZ, not the default 1/1000, so that it
 * starts exactly there. libav's return value. */
int vfr_write_header(AVFormatContext *fmt, const struct enc_params *p);
/* The nominal frame period, 1/fps, in us: how long the last frame of a set
 * or video is shown when frames carry timestamps. */
int64_t vfr_frame_period(const struct enc_params *p);

#endif
