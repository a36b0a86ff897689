/*
 * viddec.c - see viddec.h. The decode loop follows FFmpeg's
 * doc/examples (demux_decode.c): EAGAIN and EOF from the decoder are
 * normal, the decoder is flushed with a NULL packet at the end of the
 * file. Decoder errors go to the sink and decoding goes on; only a file
 * that cannot be read, or no memory, ends it early.
 */
#include "media/viddec.h"

#include <errno.h>
#include <string.h>

#include "common/err.h"
#include "media/avlog.h"

/* viddec_open_mem's read size: whole boxes of a small mini-video at once. */
#define VIDDEC_IO_BUF 65536

/* 1 when the container alone describes every video stream: codec, size
 * and parameter sets. */
static int
viddec_container_complete(const AVFormatContext *fmt)
{
    int video = 0;
    for (unsigned s = 0; s < fmt->nb_streams; s++) {
        const AVCodecParameters *par = fmt->streams[s]->codecpar;
        if (par->codec_type != AVMEDIA_TYPE_VIDEO)
            continue;
        if (par->codec_id == AV_CODEC_ID_NONE || par->width <= 0 ||
            par->height <= 0 || par->extradata == NULL ||
            par->extradata_size <= 0)
            return 0;
        video++;
    }
    return video > 0;
}

/* The file's best video stream; the others are discarded unread. */
static int
viddec_open_stream(struct viddec *v, unsigned flags, char *err, size_t errlen)
{
    int ret, idx;

    if (v->io != NULL || (flags & VIDDEC_COPY)) {
        v->fmt = avformat_alloc_context();
        if (v->fmt == NULL) {
            errf(err, errlen, "%s: out of memory", v->path);
            errno = ENOMEM;
            return -1;
        }
        v->fmt->pb = v->io; /* NULL: avformat_open_input opens the file */
        if (flags & VIDDEC_COPY)
            v->fmt->flags |= AVFMT_FLAG_NOPARSE | AVFMT_FLAG_NOFILLIN;
    }
    /* on failure it frees v->fmt (never v->io) and sets it NULL */
    ret = avformat_open_input(
        &v->fmt, v->path,
        flags & VIDDEC_MP4 ? av_find_input_format("mov") : NULL, NULL);
    if (ret < 0)
        return avlog_fail(err, errlen, NULL, ret, "%s", v->path);
    /* find_stream_info decodes the first picture to learn what the
     * container leaves out (H.264 in MP4: the pixel format, the level):
     * ~10 ms a 1600x900 file. VIDDEC_CONTAINER_INFO skips it when the
     * container names the codec and gives the size and the parameter
     * sets (extradata) of every video stream. */
    if (!(flags & VIDDEC_CONTAINER_INFO) ||
        !viddec_container_complete(v->fmt)) {
        ret = avformat_find_stream_info(v->fmt, NULL);
        if (ret < 0)
            return avlog_fail(err, errlen, NULL, ret, "%s: reading stream info",
                              v->path);
    }
    idx = av_find_best_stream(v->fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
    if (idx < 0) {
        errf(err, errlen, "%s: no video stream", v->path);
        errno = EINVAL;
        return -1;
    }
    for (unsigned s = 0; s < v->fmt->nb_streams; s++)
        if ((int)s != idx)
            v->fmt->streams[s]->discard = AVDISCARD_ALL;
    v->st = v->fmt->streams[idx];
    return 0;
}

static int
viddec_open_decoder(struct viddec *v, unsigned flags, char *err, size_t errlen)
{
    const AVCodec *codec = avcodec_find_decoder(v->st->codecpar->codec_id);
    int ret;

    if (codec == NULL) {
        errf(err, errlen, "%s: no decoder for %s", v->path,
             avcodec_get_name(v->st->codecpar->codec_id));
        errno = ENOENT;
        return -1;
    }
    v->dec = avcodec_alloc_context3(codec);
    if (v->dec == NULL) {
        errf(err, errlen, "%s: out of memory", v->path);
        errno = ENOMEM;
        return -1;
    }
    ret = avcodec_parameters_to_context(v->dec, v->st->codecpar);
    if (ret < 0)
        return avlog_fail(err, errlen, NULL, ret, "%s", v->path);
    v->dec->pkt_timebase = v->st->time_base;
    v->dec->thread_count = 0; /* one per CPU */
    v->dec->thread_type = FF_THREAD_FRAME | FF_THREAD_SLICE;
    if (flags & VIDDEC_EXPLODE)
        v->dec->err_recognition |= AV_EF_EXPLODE;
    ret = avcodec_open2(v->dec, codec, NULL);
    if (ret < 0)
        return avlog_fail(err, errlen, NULL, ret, "%s: opening the %s decoder",
                          v->path, codec->name);
    return 0;
}

int
viddec_open(struct viddec *v, const char *path, unsigned flags, char *err,
            size_t errlen)
{
    v->path = path;
    if (viddec_open_stream(v, flags, err, errlen) == -1)
        return -1;
    if (flags & VIDDEC_STREAM_ONLY)
        return 0;
    return viddec_open_decoder(v, flags, err, errlen);
}

/* viddec_open_mem's bytes, read through v->io. */
struct viddec_mem {
    const uint8_t *data;
    size_t len, pos;
};

static int
viddec_mem_read(void *opaque, uint8_t *buf, int size)
{
    struct viddec_mem *m = opaque;
    size_t n = m->len - m->pos;

    if (n == 0)
        return AVERROR_EOF;
    if (size >= 0 && n > (size_t)size)
        n = (size_t)size;
    memcpy(buf, m->data + m->pos, n);
    m->pos += n;
    return (int)n;
}

static int64_t
viddec_mem_seek(void *opaque, int64_t offset, int whence)
{
    struct viddec_mem *m = opaque;
    int64_t base;

    switch (whence & ~AVSEEK_FORCE) {
    case AVSEEK_SIZE:
        return (int64_t)m->len;
    case SEEK_SET:
        base = 0;
        break;
    case SEEK_CUR:
        base = (int64_t)m->pos;
        break;
    case SEEK_END:
        base = (int64_t)m->len;
        break;
    default:
        return AVERROR(EINVAL);
    }
    if (offset < -base || offset > (int64_t)m->len - base)
        return AVERROR(EINVAL);
    m->pos = (size_t)(base + offset);
    return (int64_t)m->pos;
}

int
viddec_open_mem(struct viddec *v, const char *path, const uint8_t *data,
                size_t len, unsigned flags, char *err, size_t errlen)
{
    struct viddec_mem *m = av_mallocz(sizeof(*m));
    uint8_t *buf = av_malloc(VIDDEC_IO_BUF);

    v->path = path;
    if (m == NULL || buf == NULL) {
        av_free(m);
        av_free(buf);
        errf(err, errlen, "%s: out of memory", path);
        errno = ENOMEM;
        return -1;
    }
    m->data = data;
    m->len = len;
    v->mem = m;
    v->io = avio_alloc_context(buf, VIDDEC_IO_BUF, 0, m, viddec_mem_read, NULL,
                               viddec_mem_seek);
    if (v->io == NULL) {
        av_free(buf);
        errf(err, errlen, "%s: out of memory", path);
        errno = ENOMEM;
        return -1;
    }
    return viddec_open(v, path, flags, err, errlen);
}

void
viddec_close(struct viddec *v)
{
    avcodec_free_context(&v->dec);
    avformat_close_input(&v->fmt);
    v->st = NULL;
    if (v->io != NULL)
        av_freep(&v->io->buffer); /* libav may have replaced ours */
    avio_context_free(&v->io);
    av_freep(&v->mem);
}

/* Hand every frame the decoder has ready to the sink. -1 only when the
 * sink says stop. */
static int
viddec_drain(struct viddec *v, const struct viddec_sink *sink, AVFrame *fr)
{
    int ret;

    for (;;) {
        ret = avcodec_receive_frame(v->dec, fr);
        if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF)
            return 0;
        if (ret < 0) {
            sink->rejected(sink->arg, ret);
            return 0;
        }
        ret = sink->frame(sink->arg, fr);
        av_frame_unref(fr);
        if (ret == -1)
            return -1;
    }
}

int
viddec_decode(struct viddec *v, const struct viddec_sink *sink, char *err,
              size_t errlen)
{
    AVPacket *pkt = av_packet_alloc();
    AVFrame *fr = av_frame_alloc();
    int ret, rc = -1;

    if (pkt == NULL || fr == NULL) {
        errf(err, errlen, "out of memory");
        errno = ENOMEM;
        goto out;
    }
    while ((ret = av_read_frame(v->fmt, pkt)) >= 0) {
        if (pkt->stream_index == v->st->index) {
            ret = avcodec_send_packet(v->dec, pkt);
            if (ret < 0)
                sink->rejected(sink->arg, ret);
        }
        av_packet_unref(pkt);
        if (viddec_drain(v, sink, fr) == -1)
            goto out;
    }
    if (ret != AVERROR_EOF) {
        avlog_fail(err, errlen, NULL, ret, "%s: reading", v->path);
        goto out;
    }
    avcodec_send_packet(v->dec, NULL); /* flush */
    if (viddec_drain(v, sink, fr) == -1)
        goto out;
    rc = 0;
out:
    av_frame_free(&fr);
    av_packet_free(&pkt);
    return rc;
}
