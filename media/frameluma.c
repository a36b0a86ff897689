/*
 * frameluma.c - see frameluma.h.
 */
#include "media/frameluma.h"

#include <libavutil/error.h>
#include <libavutil/pixdesc.h>

#include "common/err.h"

#define FRAMELUMA_SWS_UNITY (1 << 16) /* swscale's fixed-point 1.0 */

int
frameluma_full_range(const AVFrame *fr)
{
    switch (fr->format) {
    case AV_PIX_FMT_YUVJ420P:
    case AV_PIX_FMT_YUVJ422P:
    case AV_PIX_FMT_YUVJ444P:
    case AV_PIX_FMT_YUVJ440P:
    case AV_PIX_FMT_YUVJ411P:
        return 1;
    default:
        return fr->color_range == AVCOL_RANGE_JPEG;
    }
}

int
frameluma_get(struct frameluma *fl, const AVFrame *fr, const uint8_t **luma,
              int *stride, char *err, size_t errlen)
{
    const AVPixFmtDescriptor *d =
        av_pix_fmt_desc_get((enum AVPixelFormat)fr->format);
    int ret, full = frameluma_full_range(fr);

    if (d != NULL &&
        !(d->flags & (AV_PIX_FMT_FLAG_RGB | AV_PIX_FMT_FLAG_PAL |
                      AV_PIX_FMT_FLAG_HWACCEL)) &&
        d->comp[0].plane == 0 && d->comp[0].depth == 8 &&
        d->comp[0].step == 1 && d->comp[0].offset == 0) {
        *luma = fr->data[0];
        *stride = fr->linesize[0];
        return 0;
    }
    fl->sws = sws_getCachedContext(
        fl->sws, fr->width, fr->height, (enum AVPixelFormat)fr->format,
        fr->width, fr->height, AV_PIX_FMT_YUV420P, SWS_POINT, NULL, NULL, NULL);
    if (fl->sws == NULL) {
        errf(err, errlen, "cannot convert %s frames",
             d != NULL ? d->name : "unknown");
        return -1;
    }
    sws_setColorspaceDetails(fl->sws, sws_getCoefficients(SWS_CS_DEFAULT), full,
                             sws_getCoefficients(SWS_CS_DEFAULT), full, 0,
                             FRAMELUMA_SWS_UNITY, FRAMELUMA_SWS_UNITY);
    if (fl->conv == NULL && (fl->conv = av_frame_alloc()) == NULL) {
        errf(err, errlen, "out of memory");
        return -1;
    }
    if (fl->conv->width != fr->width || fl->conv->height != fr->height) {
        av_frame_unref(fl->conv);
        fl->conv->format = AV_PIX_FMT_YUV420P;
        fl->conv->width = fr->width;
        fl->conv->height = fr->height;
        ret = av_frame_get_buffer(fl->conv, 0);
        if (ret < 0) {
            errf(err, errlen, "%s", av_err2str(ret));
            return -1;
        }
    }
    sws_scale(fl->sws, (const uint8_t *const *)fr->data, fr->linesize, 0,
              fr->height, fl->conv->data, fl->conv->linesize);
    *luma = fl->conv->data[0];
    *stride = fl->conv->linesize[0];
    return 0;
}

void
frameluma_fini(struct frameluma *fl)
{
    av_frame_free(&fl->conv);
    sws_freeContext(fl->sws);
    fl->sws = NULL;
}
