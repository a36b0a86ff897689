/*
 * transcode.c - see transcode.h.
 *
 * Decode -> (convert) -> encode -> mux, one frame at a time in
 * presentation order, following FFmpeg's doc/examples (transcode.c): the
 * send/receive loops treat EAGAIN and EOF as normal, both codecs are
 * flushed with NULL, and the trailer is written on every path after the
 * header. Frames are renumbered 0, 1, 2 ... in the encoder's 1/fps time
 * base and every packet lasts one frame, exactly as render.c muxes a set,
 * so the file's stream parameters are those of a set rendered on the CPU
 * with the same parameters. With --timing timestamps each frame keeps its
 * time instead (rescaled to the encoder's 1/10^6) and lasts until the
 * next, as render.c times a set. The decoded frame's picture type is cleared:
 * libx264 would otherwise copy the source's frame types (and its GOP).
 * A picture the decoder flags corrupt fails the transcode rather than
 * being passed on.
 */
#include "media/transcode.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

#include "common/err.h"
#include "common/frametime.h"
#include "media/avlog.h"
#include "media/encoder.h"
#include "media/vfr.h"
#include "media/viddec.h"

#define TRANSCODE_FORMAT "mp4"
#define TRANSCODE_SWS_UNITY (1 << 16) /* swscale's fixed-point 1.0 */
#define TRANSCODE_PTS_CHUNK 64

struct transcode {
    const struct enc_params *p;
    const char *in, *out;
    struct viddec src; /* the input and its decoder */
    AVFormatContext *ofmt;
    struct encoder *enc;
    enum AVPixelFormat fmt; /* what the encoder takes */
    AVStream *ost;
    AVRational enc_tb;
    struct SwsContext *sws;
    AVFrame *frame, *conv;
    AVPacket *pkt;
    int header; /* written: the trailer is owed */
    uint64_t frames;
    int64_t *pts; /* --timing timestamps: the frames' pts so far, in order */
    size_t npts, pts_cap;
};

const char *
transcode_encoder(const struct enc_params *p)
{
    const struct encoder_backend *be = encoder_backend_cpu(p->codec);
    return be != NULL ? be->name : NULL;
}

/* The encoder, then the MP4 around it, as render.c makes a set's file. */
static int
transcode_open_output(struct transcode *t, char *err, size_t errlen)
{
    const char *name = transcode_encoder(t->p);
    const AVCodecContext *ec;
    int ret;

    if (name == NULL) {
        errf(err, errlen, "no CPU encoder for %s", t->p->codec);
        errno = ENOENT;
        return -1;
    }
    t->enc = encoder_open(name, t->p, 1, err, errlen);
    if (t->enc == NULL)
        return -1;
    ec = encoder_context(t->enc);
    t->fmt = encoder_input_format(t->enc);
    t->enc_tb = ec->time_base;
    ret = avformat_alloc_output_context2(&t->ofmt, NULL, TRANSCODE_FORMAT,
                                         t->out);
    if (ret < 0)
        return avlog_fail(err, errlen, NULL, ret, "%s", t->out);
    t->ost = avformat_new_stream(t->ofmt, NULL);
    if (t->ost == NULL)
        return avlog_fail(err, errlen, NULL, AVERROR(ENOMEM), "%s", t->out);
    ret = avcodec_parameters_from_context(t->ost->codecpar, ec);
    if (ret < 0)
        return avlog_fail(err, errlen, NULL, ret, "%s", t->out);
    if (ec->codec_id == AV_CODEC_ID_HEVC) /* as render.c tags a set */
        t->ost->codecpar->codec_tag = MKTAG('h', 'v', 'c', '1');
    t->ost->time_base = ec->time_base;
    t->ost->avg_frame_rate = ec->framerate;
    ret = avio_open(&t->ofmt->pb, t->out, AVIO_FLAG_WRITE);
    if (ret < 0)
        return avlog_fail(err, errlen, NULL, ret, "%s", t->out);
    ret = vfr_write_header(t->ofmt, t->p);
    if (ret < 0)
        return avlog_fail(err, errlen, NULL, ret, "%s: writing the header",
                          t->out);
    t->header = 1;
    return 0;
}

/* encoder_send's sink: one packet, one frame long, into the MP4. */
static int
transcode_mux_packet(void *arg, AVPacket *pkt, char *err, size_t errlen)
{
    struct transcode *t = arg;
    int ret;

    pkt->duration = t->pts != NULL ? frametime_span(t->pts, t->npts, pkt->pts,
                                                    vfr_frame_period(t->p))
                                   : 1;
    av_packet_rescale_ts(pkt, t->enc_tb, t->ost->time_base);
    pkt->stream_index = t->ost->index;
    ret = av_interleaved_write_frame(t->ofmt, pkt);
    if (ret < 0)
        return avlog_fail(err, errlen, NULL, ret, "writing %s", t->out);
    return 0;
}

/* The decoded picture in the encoder's format, size and (limited) range:
 * the frame itself when it already is, else a converted copy. */
static AVFrame *
transcode_convert(struct transcode *t, AVFrame *f, char *err, size_t errlen)
{
    int full = f->color_range == AVCOL_RANGE_JPEG;
    int ret;

    if (f->format == t->fmt && f->width == t->p->width &&
        f->height == t->p->height && !full)
        return f;
    t->sws = sws_getCachedContext(t->sws, f->width, f->height, f->format,
                                  t->p->width, t->p->height, t->fmt,
                                  SWS_BICUBIC, NULL, NULL, NULL);
    if (t->sws == NULL) {
        errf(err, errlen, "%s: cannot convert %dx%d %s frames", t->in, f->width,
             f->height, av_get_pix_fmt_name((enum AVPixelFormat)f->format));
        errno = EINVAL;
        return NULL;
    }
    sws_setColorspaceDetails(t->sws, sws_getCoefficients(SWS_CS_ITU601), full,
                             sws_getCoefficients(SWS_CS_ITU601), 0, 0,
                             TRANSCODE_SWS_UNITY, TRANSCODE_SWS_UNITY);
    /* The encoder may still hold the previous picture's buffers. */
    if (t->conv->buf[0] == NULL || !av_frame_is_writable(t->conv)) {
        av_frame_unref(t->conv);
        t->conv->format = t->fmt;
        t->conv->width = t->p->width;
        t->conv->height = t->p->height;
        ret = av_frame_get_buffer(t->conv, 0);
        if (ret < 0) {
            avlog_fail(err, errlen, NULL, ret, "av_frame_get_buffer");
            return NULL;
        }
    }
    sws_scale(t->sws, (const uint8_t *const *)f->data, f->linesize, 0,
              f->height, t->conv->data, t->conv->linesize);
    encoder_tag_frame(t->conv);
    return t->conv;
}

/* The picture's pts: its number, or with --timing timestamps its own time
 * (src, in the input's time base), which must come after the one before
 * and is kept for the packets' spans. 0, or -1 with err. */
static int
transcode_frame_pts(struct transcode *t, AVFrame *pic, int64_t src, char *err,
                    size_t errlen)
{
    int64_t pts;

    if (t->p->timing != ENC_TIMING_TIMESTAMPS) {
        pic->pts = (int64_t)t->frames;
        return 0;
    }
    if (src == AV_NOPTS_VALUE) {
        errf(err, errlen, "%s: frame %llu has no timestamp", t->in,
             (unsigned long long)t->frames);
        errno = EINVAL;
        return -1;
    }
    pts = av_rescale_q(src, t->src.st->time_base, t->enc_tb);
    if (t->npts > 0 && pts <= t->pts[t->npts - 1]) {
        errf(err, errlen, "%s: frame %llu is not after the one before", t->in,
             (unsigned long long)t->frames);
        errno = EINVAL;
        return -1;
    }
    if (t->npts == t->pts_cap) {
        size_t cap = t->pts_cap > 0 ? 2 * t->pts_cap : TRANSCODE_PTS_CHUNK;
        int64_t *grown = realloc(t->pts, cap * sizeof(*grown));
        if (grown == NULL) {
            errf(err, errlen, "out of memory");
            errno = ENOMEM;
            return -1;
        }
        t->pts = grown;
        t->pts_cap = cap;
    }
    t->pts[t->npts++] = pts;
    pic->pts = pts;
    return 0;
}

/* Encode every frame the decoder has ready. */
static int
transcode_drain(struct transcode *t, char *err, size_t errlen)
{
    AVFrame *pic;
    int ret;

    for (;;) {
        ret = avcodec_receive_frame(t->src.dec, t->frame);
        if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF)
            return 0;
        if (ret < 0)
            return avlog_fail(err, errlen, NULL, ret, "%s: decoding frame %llu",
                              t->in, (unsigned long long)t->frames);
        if (t->frame->flags & AV_FRAME_FLAG_CORRUPT) {
            errf(err, errlen, "%s: frame %llu decodes corrupt", t->in,
                 (unsigned long long)t->frames);
            errno = EIO;
            return -1;
        }
        pic = transcode_convert(t, t->frame, err, errlen);
        if (pic == NULL)
            return -1;
        if (transcode_frame_pts(t, pic, t->frame->best_effort_timestamp, err,
                                errlen) == -1)
            return -1;
        pic->pict_type = AV_PICTURE_TYPE_NONE;
        if (encoder_send(t->enc, pic, transcode_mux_packet, t, err, errlen) ==
            -1)
            return -1;
        av_frame_unref(t->frame);
        t->frames++;
    }
}

/* Every packet of the input through the decoder, then both flushes. */
static int
transcode_run(struct transcode *t, char *err, size_t errlen)
{
    int ret;

    while ((ret = av_read_frame(t->src.fmt, t->pkt)) >= 0) {
        if (t->pkt->stream_index == t->src.st->index)
            ret = avcodec_send_packet(t->src.dec, t->pkt);
        av_packet_unref(t->pkt);
        if (ret < 0)
            return avlog_fail(err, errlen, NULL, ret, "%s: decoding", t->in);
        if (transcode_drain(t, err, errlen) == -1)
            return -1;
    }
    if (ret != AVERROR_EOF)
        return avlog_fail(err, errlen, NULL, ret, "%s: reading", t->in);
    ret = avcodec_send_packet(t->src.dec, NULL);
    if (ret < 0)
        return avlog_fail(err, errlen, NULL, ret, "%s: flushing", t->in);
    if (transcode_drain(t, err, errlen) == -1)
        return -1;
    return encoder_send(t->enc, NULL, transcode_mux_packet, t, err, errlen);
}

int
transcode_video(const char *in, const char *out, const struct enc_params *p,
                uint64_t *frames, char *err, size_t errlen)
{
    struct transcode t;
    int ret, rc = -1;

    memset(&t, 0, sizeof(t));
    t.p = p;
    t.in = in;
    t.out = out;
    *frames = 0;
    t.frame = av_frame_alloc();
    t.conv = av_frame_alloc();
    t.pkt = av_packet_alloc();
    if (t.frame == NULL || t.conv == NULL || t.pkt == NULL) {
        errf(err, errlen, "%s: out of memory", out);
        goto out;
    }
    if (viddec_open(&t.src, in, 0, err, errlen) == -1 ||
        transcode_open_output(&t, err, errlen) == -1 ||
        transcode_run(&t, err, errlen) == -1)
        goto out;
    t.header = 0;
    ret = av_write_trailer(t.ofmt);
    if (ret >= 0)
        ret = avio_closep(&t.ofmt->pb);
    if (ret < 0) {
        avlog_fail(err, errlen, NULL, ret, "%s: finishing", out);
        goto out;
    }
    *frames = t.frames;
    rc = 0;
out:
    if (t.header)
        av_write_trailer(t.ofmt); /* frees the muxer's state */
    if (t.ofmt != NULL) {
        avio_closep(&t.ofmt->pb);
        avformat_free_context(t.ofmt);
    }
    encoder_close(t.enc);
    viddec_close(&t.src);
    sws_freeContext(t.sws);
    av_frame_free(&t.frame);
    av_frame_free(&t.conv);
    av_packet_free(&t.pkt);
    free(t.pts);
    return rc;
}
