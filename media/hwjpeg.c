/*
 * hwjpeg.c - see hwjpeg.h. FFmpeg's hw_decode.c example is the pattern:
 * the mjpeg decoder gets the device through hw_device_ctx and a get_format
 * callback that accepts only the device's surface format, so a picture
 * the hardware cannot take fails instead of falling back to libavcodec's
 * software path behind our back. Exercised only on machines with such a
 * GPU; elsewhere hwjpeg_open fails with the device's reason.
 */
#include "media/hwjpeg.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

#include "common/err.h"
#include "media/avlog.h"
#include "media/hwdev.h"
#include "media/jpegdec.h"

#define HWJPEG_VAAPI_NODE "/dev/dri/renderD128"

static const struct hwjpeg_backend hwjpeg_table[] = {
    {"nvdec", AV_HWDEVICE_TYPE_CUDA, NULL},
    {"vaapi", AV_HWDEVICE_TYPE_VAAPI, HWJPEG_VAAPI_NODE},
};

struct hwjpeg {
    const struct hwjpeg_backend *be;
    AVCodecContext *ctx;
    enum AVPixelFormat hw_fmt; /* the device's surface format */
    AVPacket *pkt;
    AVFrame *hw; /* decoded, on the device */
    AVFrame *sw; /* copied back */
    struct SwsContext *sws;
};

const struct hwjpeg_backend *
hwjpeg_backends(size_t *n)
{
    *n = sizeof(hwjpeg_table) / sizeof(hwjpeg_table[0]);
    return hwjpeg_table;
}

const struct hwjpeg_backend *
hwjpeg_backend_find(const char *name)
{
    for (size_t i = 0; i < sizeof(hwjpeg_table) / sizeof(hwjpeg_table[0]); i++)
        if (strcmp(hwjpeg_table[i].name, name) == 0)
            return &hwjpeg_table[i];
    return NULL;
}

static enum AVPixelFormat
hwjpeg_get_format(AVCodecContext *c, const enum AVPixelFormat *fmts)
{
    const struct hwjpeg *d = c->opaque;
    for (; *fmts != AV_PIX_FMT_NONE; fmts++)
        if (*fmts == d->hw_fmt)
            return *fmts;
    return AV_PIX_FMT_NONE; /* no quiet software decode */
}

struct hwjpeg *
hwjpeg_open(const struct hwjpeg_backend *be, char *err, size_t errlen)
{
    struct avlog_capture cap;
    const AVCodec *codec = avcodec_find_decoder(AV_CODEC_ID_MJPEG);
    const char *tname = av_hwdevice_get_type_name(be->device);
    struct hwjpeg *d = calloc(1, sizeof(*d));
    char why[ERR_MAX];
    int ret, ok = 0, saved = EIO;

    avlog_capture_begin(&cap);
    if (d == NULL) {
        errf(err, errlen, "out of memory");
        saved = ENOMEM;
        goto out;
    }
    d->be = be;
    d->hw_fmt = AV_PIX_FMT_NONE;
    for (int i = 0; codec != NULL; i++) {
        const AVCodecHWConfig *hc = avcodec_get_hw_config(codec, i);
        if (hc == NULL)
            break;
        if (hc->device_type == be->device &&
            (hc->methods & AV_CODEC_HW_CONFIG_METHOD_HW_DEVICE_CTX)) {
            d->hw_fmt = hc->pix_fmt;
            break;
        }
    }
    if (d->hw_fmt == AV_PIX_FMT_NONE) {
        errf(err, errlen, "%s: this FFmpeg's JPEG decoder has no %s hwaccel",
             be->name, tname != NULL ? tname : "such");
        saved = ENOTSUP;
        goto out;
    }
    d->ctx = avcodec_alloc_context3(codec);
    d->pkt = av_packet_alloc();
    d->hw = av_frame_alloc();
    d->sw = av_frame_alloc();
    if (d->ctx == NULL || d->pkt == NULL || d->hw == NULL || d->sw == NULL) {
        errf(err, errlen, "out of memory");
        saved = ENOMEM;
        goto out;
    }
    if (hwdev_get(be->device, be->device_path, &d->ctx->hw_device_ctx, why,
                  sizeof(why)) == -1) {
        saved = errno;
        errf(err, errlen, "%s: %s", be->name, why);
        goto out;
    }
    d->ctx->opaque = d;
    d->ctx->get_format = hwjpeg_get_format;
    d->ctx->thread_count = 1;
    ret = avcodec_open2(d->ctx, codec, NULL);
    if (ret < 0) {
        avlog_fail(err, errlen, &cap, ret, "%s: avcodec_open2(mjpeg)",
                   be->name);
        saved = errno;
        goto out;
    }
    ok = 1;
out:
    avlog_capture_end(&cap);
    if (!ok) {
        hwjpeg_free(d);
        d = NULL;
        errno = saved;
    }
    return d;
}

int
hwjpeg_decode(struct hwjpeg *d, const uint8_t *jpeg, size_t len, AVFrame *out,
              char *err, size_t errlen)
{
    struct avlog_capture cap;
    int ret, rc = -1;

    if (len == 0 || len > INT32_MAX) {
        errf(err, errlen, "JPEG of %zu bytes", len);
        errno = EINVAL;
        return -1;
    }
    avlog_capture_begin(&cap);
    ret = av_new_packet(d->pkt, (int)len); /* padded, as libavcodec needs */
    if (ret < 0) {
        avlog_fail(err, errlen, NULL, ret, "av_new_packet");
        goto out;
    }
    memcpy(d->pkt->data, jpeg, len);
    ret = avcodec_send_packet(d->ctx, d->pkt);
    if (ret >= 0)
        ret = avcodec_receive_frame(d->ctx, d->hw);
    if (ret < 0) {
        avlog_fail(err, errlen, &cap, ret, "%s: JPEG decode", d->be->name);
        goto out;
    }
    if (d->hw->format != d->hw_fmt) {
        errf(err, errlen, "%s: decoded as %s, not on the device", d->be->name,
             av_get_pix_fmt_name((enum AVPixelFormat)d->hw->format));
        errno = EIO;
        goto out;
    }
    ret = av_hwframe_transfer_data(d->sw, d->hw, 0);
    if (ret < 0) {
        avlog_fail(err, errlen, &cap, ret, "%s: copying the picture back",
                   d->be->name);
        goto out;
    }
    rc = jpegdec_convert(&d->sws, (const uint8_t *const *)d->sw->data,
                         d->sw->linesize, d->sw->width, d->sw->height,
                         (enum AVPixelFormat)d->sw->format, out, err, errlen);
out:
    avlog_capture_end(&cap);
    if (rc == -1) {
        int saved = errno;
        avcodec_flush_buffers(d->ctx); /* start the next picture clean */
        errno = saved;
    }
    av_packet_unref(d->pkt);
    av_frame_unref(d->hw);
    av_frame_unref(d->sw);
    return rc;
}

void
hwjpeg_free(struct hwjpeg *d)
{
    if (d == NULL)
        return;
    avcodec_free_context(&d->ctx); /* unrefs hw_device_ctx */
    av_packet_free(&d->pkt);
    av_frame_free(&d->hw);
    av_frame_free(&d->sw);
    sws_freeContext(d->sws);
    free(d);
}
