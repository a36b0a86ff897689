/*
 * vidinfo.c - see vidinfo.h.
 *
 * The stream's parameters come from libavformat,
 * as the container gives them when it names the codec and holds the size
 * and the parameter sets (every mini-video framefarm writes): no picture
 * is decoded, which cost ~10 ms a 1600x900 file, three times a set at
 * 1,000 sets. The pixel format may then stay unknown (""), alike for
 * every such file; the extradata hash, which covers H.264's SPS (profile,
 * level, chroma format, bit depth), is what tells streams apart.
 * Otherwise they come from avformat_find_stream_info, which decodes the
 * first picture. The frame count is the packets the file holds: for
 * MP4/MOV those its sample table lists, each checked to lie within the
 * file (the table is read whole at open; the packets' bytes are not read
 * again); else every packet of the video stream is read and counted, so a
 * file cut short or padded shows up here, and a packet the demuxer flags
 * corrupt (a file cut inside a packet) fails the probe. Other streams are
 * discarded unread (media/viddec opens the stream; no decoder is opened).
 * Each call owns all the libav objects it creates; nothing is global.
 */
#include "media/vidinfo.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/pixdesc.h>

#include "common/err.h"
#include "media/viddec.h"

/* Copy a libav name into a fixed field; "" when libav has none. */
static void
vidinfo_name(char *dst, size_t len, const char *name)
{
    snprintf(dst, len, "%s", name != NULL ? name : "");
}

/* MP4/MOV: the sample table lists every packet of the stream with its
 * offset, size and key flag, and the demuxer has read it whole at open.
 * When every listed packet lies within the file, count from the table
 * (1 then) instead of reading every packet's bytes; else (a file cut
 * short: 0) the packets are read, and the cut one fails the probe. */
static int
vidinfo_from_index(const AVFormatContext *fmt, AVStream *st, struct vidinfo *vi)
{
    int n = avformat_index_get_entries_count(st);
    int64_t size = fmt->pb != NULL ? avio_size(fmt->pb) : -1;
    uint64_t keys = 0;

    if (strncmp(fmt->iformat->name, "mov,", 4) != 0 || n <= 0 || size <= 0)
        return 0;
    for (int i = 0; i < n; i++) {
        const AVIndexEntry *e = avformat_index_get_entry(st, i);
        if (e == NULL || e->pos < 0 || e->size <= 0 || e->pos + e->size > size)
            return 0;
        keys += (e->flags & AVINDEX_KEYFRAME) != 0;
        if (i == 0)
            vi->first_is_key = (e->flags & AVINDEX_KEYFRAME) != 0;
    }
    vi->frames = (uint64_t)n;
    vi->keyframes = keys;
    return 1;
}

/* vidinfo_probe; of the len bytes at data when data is not NULL; with
 * keep, a file whose frames its index counted stays open in *vd, for
 * stream copy (VIDDEC_COPY), not a packet read. */
static int
vidinfo_probe_vd(const char *path, const uint8_t *data, size_t len,
                 struct vidinfo *vi, struct viddec *keep, char *err,
                 size_t errlen)
{
    struct viddec vd;
    AVPacket *pkt = NULL;
    const AVCodecParameters *par;
    const AVStream *st;
    int ret, rc = -1, first = 1;
    unsigned flags = VIDDEC_STREAM_ONLY | VIDDEC_CONTAINER_INFO |
                     (keep != NULL ? VIDDEC_MP4 | VIDDEC_COPY : 0);

    memset(vi, 0, sizeof(*vi));
    memset(&vd, 0, sizeof(vd));
    if ((data != NULL
             ? viddec_open_mem(&vd, path, data, len, flags, err, errlen)
             : viddec_open(&vd, path, flags, err, errlen)) == -1)
        goto out;
    st = vd.st;
    par = st->codecpar;
    vidinfo_name(vi->codec, sizeof(vi->codec), avcodec_get_name(par->codec_id));
    vidinfo_name(vi->pix_fmt, sizeof(vi->pix_fmt),
                 av_get_pix_fmt_name((enum AVPixelFormat)par->format));
    vi->width = par->width;
    vi->height = par->height;
    vi->profile = par->profile;
    vi->level = par->level;
    /* Not decoded (VIDDEC_CONTAINER_INFO): H.264's profile and level are
     * in its avcC record (ISO/IEC 14496-15: version 1, profile, ...,
     * level), the same bytes the extradata hash covers. */
    if (par->codec_id == AV_CODEC_ID_H264 && par->extradata_size >= 4 &&
        par->extradata[0] == 1) {
        if (vi->profile == FF_PROFILE_UNKNOWN)
            vi->profile = par->extradata[1];
        if (vi->level == FF_LEVEL_UNKNOWN)
            vi->level = par->extradata[3];
    }
    vi->color_range = (int)par->color_range;
    vi->tb_num = st->time_base.num;
    vi->tb_den = st->time_base.den;
    if (st->avg_frame_rate.num > 0 && st->avg_frame_rate.den > 0) {
        vi->fps_num = st->avg_frame_rate.num;
        vi->fps_den = st->avg_frame_rate.den;
    } else {
        vi->fps_num = 0;
        vi->fps_den = 1;
    }
    hash_sha256_buf(par->extradata,
                    par->extradata != NULL ? (size_t)par->extradata_size : 0,
                    vi->extradata_sha256);

    if (vidinfo_from_index(vd.fmt, vd.fmt->streams[st->index], vi)) {
        if (keep != NULL) {
            *keep = vd;
            memset(&vd, 0, sizeof(vd));
        }
        rc = 0;
        goto out;
    }
    pkt = av_packet_alloc();
    if (pkt == NULL) {
        errf(err, errlen, "%s: out of memory", path);
        goto out;
    }
    while ((ret = av_read_frame(vd.fmt, pkt)) >= 0) {
        if (pkt->stream_index == st->index) {
            int key = (pkt->flags & AV_PKT_FLAG_KEY) != 0;
            if (pkt->flags & AV_PKT_FLAG_CORRUPT) {
                /* e.g. the file ends inside the packet: not a frame */
                errf(err, errlen, "%s: video packet %" PRIu64 " is corrupt",
                     path, vi->frames);
                goto out;
            }
            if (first)
                vi->first_is_key = key;
            first = 0;
            vi->frames++;
            vi->keyframes += (uint64_t)key;
        }
        av_packet_unref(pkt);
    }
    if (ret != AVERROR_EOF) {
        errf(err, errlen, "%s: reading packet %" PRIu64 ": %s", path,
             vi->frames, av_err2str(ret));
        goto out;
    }
    rc = 0;
out:
    av_packet_free(&pkt);
    viddec_close(&vd);
    return rc;
}

int
vidinfo_probe(const char *path, struct vidinfo *vi, char *err, size_t errlen)
{
    return vidinfo_probe_vd(path, NULL, 0, vi, NULL, err, errlen);
}

int
vidinfo_probe_mem(const char *path, const uint8_t *data, size_t len,
                  struct vidinfo *vi, struct viddec *vd, char *err,
                  size_t errlen)
{
    memset(vd, 0, sizeof(*vd));
    return vidinfo_probe_vd(path, data, len, vi, vd, err, errlen);
}

int
vidinfo_compatible(const struct vidinfo *a, const struct vidinfo *b)
{
    return strcmp(a->codec, b->codec) == 0 &&
           strcmp(a->pix_fmt, b->pix_fmt) == 0 && a->width == b->width &&
           a->height == b->height && a->profile == b->profile &&
           a->level == b->level && a->color_range == b->color_range &&
           a->tb_num == b->tb_num && a->tb_den == b->tb_den &&
           strcmp(a->extradata_sha256, b->extradata_sha256) == 0;
}
