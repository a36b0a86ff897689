/*
 * vfr.c - see vfr.h.
 */
#include "media/vfr.h"

#include <libavutil/dict.h>
#include <libavutil/mathematics.h>

/* ENC_TIMESTAMP_HZ, as movenc takes it */
#define VFR_MOVIE_TIMESCALE "1000000"

int
vfr_write_header(AVFormatContext *fmt, const struct enc_params *p)
{
    AVDictionary *opts = NULL;
    int ret;

    if (p->timing != ENC_TIMING_TIMESTAMPS)
        return avformat_write_header(fmt, NULL);
    /* Only MP4 and MOV take it; other muxers leave it in opts. */
    ret = av_dict_set(&opts, "movie_timescale", VFR_MOVIE_TIMESCALE, 0);
    if (ret >= 0)
        ret = avformat_write_header(fmt, &opts);
    av_dict_free(&opts);
    return ret;
}

int64_t
vfr_frame_period(const struct enc_params *p)
{
    return av_rescale(ENC_TIMESTAMP_HZ, p->fps_den, p->fps_num);
}
