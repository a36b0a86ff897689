/*
 * concat.c - see concat.h.
 *
 * Every input is probed (vidinfo) before anything is written: each must
 * start with a keyframe, and their frames must add up to expect_frames.
 * Stream copy needs one fingerprint (codec, profile, level, pix_fmt,
 * range, time base, parameter sets): an MP4 track has one sample entry,
 * and a set whose SPS/PPS differ from it fails to decode at the join
 * (research/anchors-mission.md 5.4). So the fingerprint shared by the
 * most frames is the reference (the earliest set's on a tie: a lone odd
 * set in a long job is the one that moves), and every input that differs
 * is re-encoded from its decoded frames with the job's parameters and the
 * CPU encoder (media/transcode.c, the same setup as a render node) into
 * "<out>.tmp-<pid>-<set>.mp4". If a re-encoded set still differs, the
 * reference came from an encoder the CPU one cannot imitate (NVENC's
 * parameter sets, say), and every set is re-encoded instead. Which sets
 * were re-encoded, and why, is logged. Then the packets are copied in the
 * given order into one stream whose parameters (and avcC) are the
 * first input's, now the same as everyone's. Input k's timestamps are
 * moved so that its first presented frame lands where input k-1's last
 * frame ended: shift = sum of the earlier inputs' durations - start_k,
 * with a duration measured as max(pts + duration) - start. Decode
 * timestamps stay as the encoder made them, so an input with B-frames
 * keeps its negative lead (dts before pts) and still follows the previous
 * input's last dts; should two inputs disagree, dts is nudged forward and
 * a packet that would then be shown before it is decoded fails the concat.
 * With --timing timestamps nothing is moved: every input's frames already
 * sit at their times in the job (render.c), in a 1/10^6 time base.
 * The output's time base is the inputs' (the muxer may refine it; packets
 * are rescaled to whatever it chose).
 *
 * Every input given a sha256 must still have it before anything is
 * published: the one pass (concat_one_pass, media/concatread.c) hashes
 * the very bytes it copies, the general path hashes every input first.
 *
 * The result goes to "<out>.tmp-<pid>" (concat_out: its writeback starts
 * as it is written), is probed again (frame count), is
 * fsynced and renamed, and the directory is fsynced; on any failure the
 * temp file is removed and out_path is untouched. Re-encoded temp files
 * are removed on every path. The caller's thread owns every libav object
 * made here, and each that concatread's readers open once handed over.
 *
 * The output's container is the one out_path's extension names
 * (media/container.h: MP4, Matroska, QuickTime, WebM), whatever the
 * inputs' (MP4); HEVC in MP4 and MOV is tagged hvc1.
 */
#include "media/concat.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>

#include "common/err.h"
#include "common/fault.h"
#include "common/fdio.h"
#include "common/fsutil.h"
#include "common/hash.h"
#include "common/log.h"
#include "media/concatread.h"
#include "media/container.h"
#include "media/transcode.h"
#include "media/viddec.h"
#include "media/vidinfo.h"

#define CONCAT_DIFF_MAX 160
/* Room for an MP4/MOV index written up front: its boxes take at most ~44
 * bytes a frame (stsz 4, ctts 8, stts 8, stco/co64 8, stsc 12, stss 4)
 * when every frame is its own chunk and entry; the rest is fixed. What
 * is not used stays as a "free" box. */
#define CONCAT_MOOV_BASE 65536
#define CONCAT_MOOV_PER_FRAME 64
#define CONCAT_NUM_MAX 16

/* A profile's name ("High", "Constrained Baseline"), else its number. */
static const char *
concat_profile(const struct vidinfo *v, char *buf, size_t len)
{
    const AVCodecDescriptor *d = avcodec_descriptor_get_by_name(v->codec);
    const char *name =
        d != NULL ? avcodec_profile_name(d->id, v->profile) : NULL;

    if (name != NULL)
        return name;
    snprintf(buf, len, "%d", v->profile);
    return buf;
}

/* What makes two fingerprints unfit for stream copy, in words. */
static void
concat_describe_diff(const struct vidinfo *a, const struct vidinfo *b,
                     char *buf, size_t len)
{
    char pa[CONCAT_NUM_MAX], pb[CONCAT_NUM_MAX];

    if (strcmp(a->codec, b->codec) != 0)
        snprintf(buf, len, "codec %s vs %s", b->codec, a->codec);
    else if (a->width != b->width || a->height != b->height)
        snprintf(buf, len, "size %dx%d vs %dx%d", b->width, b->height, a->width,
                 a->height);
    else if (strcmp(a->pix_fmt, b->pix_fmt) != 0)
        snprintf(buf, len, "pix_fmt %s vs %s", b->pix_fmt, a->pix_fmt);
    else if (a->profile != b->profile)
        snprintf(buf, len, "profile %s vs %s",
                 concat_profile(b, pb, sizeof(pb)),
                 concat_profile(a, pa, sizeof(pa)));
    else if (a->level != b->level)
        snprintf(buf, len, "level %d vs %d", b->level, a->level);
    else if (a->color_range != b->color_range)
        snprintf(buf, len, "color range %d vs %d", b->color_range,
                 a->color_range);
    else if (a->tb_num != b->tb_num || a->tb_den != b->tb_den)
        snprintf(buf, len, "time base %d/%d vs %d/%d", b->tb_num, b->tb_den,
                 a->tb_num, a->tb_den);
    else
        snprintf(buf, len, "different parameter sets (extradata)");
}

/* Every input whose sha256 was counted (shas[i] not NULL) must still have
 * it: the general path's check, a pass of its own before anything is
 * read for the concat. 0, or -1 with err. */
static int
concat_verify_inputs(const char *const *inputs, const char *const *shas,
                     size_t n, char *err, size_t errlen)
{
    char hex[HASH_HEX_LEN + 1];

    for (size_t i = 0; shas != NULL && i < n; i++) {
        if (shas[i] == NULL)
            continue;
        if (hash_sha256_file(inputs[i], hex, NULL) == -1) {
            errf(err, errlen, "input %zu (%s): %s", i, inputs[i],
                 strerror(errno));
            return -1;
        }
        if (concatread_same_sha(inputs, i, hex, shas[i], err, errlen) == -1)
            return -1;
    }
    return 0;
}

/* Probe every input into vi[0..n): each must hold frames and start with a
 * keyframe. 0 with the frame total, or -1 with err. */
static int
concat_probe_inputs(const char *const *inputs, size_t n, struct vidinfo *vi,
                    uint64_t *total, char *err, size_t errlen)
{
    char why[ERR_MAX];

    *total = 0;
    for (size_t i = 0; i < n; i++) {
        if (vidinfo_probe(inputs[i], &vi[i], why, sizeof(why)) == -1) {
            errf(err, errlen, "input %zu: %s", i, why);
            return -1;
        }
        if (vi[i].frames == 0 || !vi[i].first_is_key) {
            errf(err, errlen, "input %zu (%s): %s", i, inputs[i],
                 vi[i].frames == 0 ? "no video frames"
                                   : "does not start with a keyframe");
            return -1;
        }
        *total += vi[i].frames;
    }
    return 0;
}

/* The reference fingerprint: the one shared by the most frames, the
 * earliest input's on a tie. Its index in vi. */
static size_t
concat_reference(const struct vidinfo *vi, size_t n)
{
    size_t best = 0;
    uint64_t best_frames = 0;

    for (size_t i = 0; i < n; i++) {
        uint64_t frames = 0;
        size_t j;
        for (j = 0; j < i && !vidinfo_compatible(&vi[j], &vi[i]); j++)
            ;
        if (j < i)
            continue; /* counted with the earlier input j */
        for (j = i; j < n; j++)
            if (vidinfo_compatible(&vi[i], &vi[j]))
                frames += vi[j].frames;
        if (frames > best_frames) {
            best = i;
            best_frames = frames;
        }
    }
    return best;
}

/* Re-encode input i into tmp[i] ("<out>.tmp-<pid>-<i>.mp4") with enc; its
 * fingerprint into *vi. The frame count must not change. */
static int
concat_reencode(const char *const *inputs, size_t i, const char *tmp_base,
                const struct enc_params *enc, const struct vidinfo *orig,
                char **tmp, struct vidinfo *vi, char *err, size_t errlen)
{
    char path[FS_PATH_MAX], why[ERR_MAX];
    uint64_t frames = 0;

    if (snprintf(path, sizeof(path), "%s-%zu.mp4", tmp_base, i) >=
        (int)sizeof(path)) {
        errf(err, errlen, "input %zu: temp path too long", i);
        return -1;
    }
    tmp[i] = strdup(path);
    if (tmp[i] == NULL) {
        errf(err, errlen, "input %zu: out of memory", i);
        return -1;
    }
    if (transcode_video(inputs[i], tmp[i], enc, &frames, why, sizeof(why)) ==
        -1) {
        errf(err, errlen, "input %zu (%s): re-encoding: %s", i, inputs[i], why);
        return -1;
    }
    if (vidinfo_probe(tmp[i], vi, why, sizeof(why)) == -1) {
        errf(err, errlen, "input %zu: the re-encoded file: %s", i, why);
        return -1;
    }
    if (vi->frames != orig->frames || !vi->first_is_key) {
        errf(err, errlen,
             "input %zu (%s): re-encoded to %" PRIu64 " frames (%s), "
             "expected %" PRIu64,
             i, inputs[i], vi->frames,
             vi->first_is_key ? "keyframe first" : "no keyframe first",
             orig->frames);
        return -1;
    }
    return 0;
}

/* Re-encode input i (logged with why) and make it the one to copy; its
 * new fingerprint replaces vi[i]. */
static int
concat_redo(const char *const *inputs, size_t i, const char *why,
            const char *tmp_base, const struct enc_params *enc,
            struct vidinfo *vi, char **tmp, const char **src, char *err,
            size_t errlen)
{
    struct vidinfo re;

    log_info("concat: set %zu: %s; re-encoding it with %s, preset %s, crf %d",
             i, why, transcode_encoder(enc), enc->preset, enc->crf);
    if (concat_reencode(inputs, i, tmp_base, enc, &vi[i], tmp, &re, err,
                        errlen) == -1)
        return -1;
    vi[i] = re;
    src[i] = tmp[i];
    return 0;
}

/* One pass: re-encode every input whose fingerprint differs from *ref
 * (described by ref_name). 0 when every input now matches; 1 when a
 * re-encoded input still differs and may_switch: *ref is then its
 * fingerprint (what the job's parameters make), and the pass must run
 * again; -1 with err. */
static int
concat_pass(const char *const *inputs, size_t n, struct vidinfo *vi,
            struct vidinfo *ref, const char *ref_name,
            const struct enc_params *enc, const char *tmp_base, char **tmp,
            const char **src, int may_switch, char *err, size_t errlen)
{
    char diff[CONCAT_DIFF_MAX], why[ERR_MAX];
    struct vidinfo orig;

    for (size_t i = 0; i < n; i++) {
        if (vidinfo_compatible(ref, &vi[i]))
            continue;
        orig = vi[i];
        concat_describe_diff(ref, &vi[i], diff, sizeof(diff));
        if (enc == NULL || transcode_encoder(enc) == NULL || tmp[i] != NULL) {
            errf(err, errlen,
                 "set %zu (%s) cannot be stream-copied with %s: %s", i,
                 inputs[i], ref_name, diff);
            return -1;
        }
        errf(why, sizeof(why), "its stream differs from %s: %s", ref_name,
             diff);
        if (concat_redo(inputs, i, why, tmp_base, enc, vi, tmp, src, err,
                        errlen) == -1)
            return -1;
        if (vidinfo_compatible(ref, &vi[i]))
            continue;
        concat_describe_diff(ref, &vi[i], diff, sizeof(diff));
        if (!may_switch) {
            errf(err, errlen,
                 "set %zu re-encoded still differs from %s (%s); cannot "
                 "join the sets",
                 i, ref_name, diff);
            return -1;
        }
        log_info("concat: set %zu re-encoded still differs from %s (%s): "
                 "%s cannot reproduce it; what it makes is the reference "
                 "now, and every set unlike it is re-encoded",
                 i, ref_name, diff, transcode_encoder(enc));
        *ref = vi[i];
        if (vidinfo_compatible(ref, &orig)) {
            /* It was what the CPU encoder makes all along: keep it as
             * rendered. */
            log_info("concat: set %zu as rendered already matches; kept", i);
            if (unlink(tmp[i]) == -1 && errno != ENOENT)
                log_warn("concat: removing %s", tmp[i]);
            free(tmp[i]);
            tmp[i] = NULL;
            src[i] = inputs[i];
            vi[i] = orig;
        }
        return 1;
    }
    return 0;
}

/* Make every input stream-copyable; src[i] is then the file to copy for
 * input i, tmp[i] a re-encoded temp file or NULL. The reference is the
 * fingerprint of the most frames; inputs that differ are re-encoded with
 * enc. Should a re-encoded set still differ (the reference came from an
 * encoder the CPU encoder cannot match, such as NVENC, or another preset),
 * what the CPU encoder makes becomes the reference: the inputs that
 * already look like that are kept and every other one is re-encoded. -1
 * with err when inputs differ and enc is NULL, or when even the
 * re-encoded files disagree. */
static int
concat_plan(const char *const *inputs, size_t n, struct vidinfo *vi,
            const struct enc_params *enc, const char *tmp_base, char **tmp,
            const char **src, char *err, size_t errlen)
{
    char name[CONCAT_DIFF_MAX];
    size_t ref = concat_reference(vi, n), redone = 0;
    struct vidinfo refvi = vi[ref];
    int r;

    for (size_t i = 0; i < n; i++)
        src[i] = inputs[i];
    snprintf(name, sizeof(name), "the reference (set %zu and those like it)",
             ref);
    r = concat_pass(inputs, n, vi, &refvi, name, enc, tmp_base, tmp, src, 1,
                    err, errlen);
    if (r == 1) {
        snprintf(name, sizeof(name), "what %s makes with the job's parameters",
                 transcode_encoder(enc));
        r = concat_pass(inputs, n, vi, &refvi, name, enc, tmp_base, tmp, src, 0,
                        err, errlen);
    }
    if (r == -1)
        return -1;
    for (size_t i = 0; i < n; i++)
        redone += tmp[i] != NULL;
    if (redone > 0)
        log_info("concat: re-encoded %zu of %zu sets so that the join plays "
                 "end to end",
                 redone, n);
    return 0;
}

/* Open an input and find its video stream; -1 with err. */
static int
concat_open_input(const char *path, size_t i, AVFormatContext **fmt, int *idx,
                  char *err, size_t errlen)
{
    int ret = avformat_open_input(fmt, path, NULL, NULL);

    if (ret >= 0 && i == 0)
        /* the first input's parameters become the output's: fill them in
         * completely (pixel format, level) from the bitstream */
        ret = avformat_find_stream_info(*fmt, NULL);
    if (ret < 0) {
        errf(err, errlen, "input %zu (%s): %s", i, path, av_err2str(ret));
        return -1;
    }
    *idx = av_find_best_stream(*fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
    if (*idx < 0) {
        errf(err, errlen, "input %zu (%s): no video stream", i, path);
        return -1;
    }
    for (unsigned s = 0; s < (*fmt)->nb_streams; s++)
        if ((int)s != *idx)
            (*fmt)->streams[s]->discard = AVDISCARD_ALL;
    return 0;
}

/* The output is written through an AVIOContext of ours, so that its
 * writeback to disk starts every CONCAT_SYNC_STEP bytes
 * (sync_file_range, which does not wait) while the rest is copied, and
 * the fsync before the rename has little left to wait for (through
 * avio_open it waited ~10 ms for 18 MB and ~27 ms for 63 MB here). */
#define CONCAT_SYNC_STEP ((int64_t)4 << 20)
#define CONCAT_OUT_BUF 65536

struct concat_out {
    int fd;
    int64_t pos;    /* the descriptor's offset */
    int64_t end;    /* the file's size so far */
    int64_t synced; /* writeback started for [0, synced) */
};

static int
concat_out_write(void *opaque, uint8_t *buf, int size)
{
    struct concat_out *o = opaque;

    if (size < 0)
        return AVERROR(EINVAL);
    if (fdio_write_full(o->fd, buf, (size_t)size) == -1)
        return AVERROR(errno);
    o->pos += size;
    if (o->pos > o->end)
        o->end = o->pos;
    if (o->end - o->synced >= CONCAT_SYNC_STEP) {
        /* a hint: the fsync before the rename is what must succeed */
        (void)sync_file_range(o->fd, o->synced, o->end - o->synced,
                              SYNC_FILE_RANGE_WRITE);
        o->synced = o->end;
    }
    return size;
}

static int64_t
concat_out_seek(void *opaque, int64_t offset, int whence)
{
    struct concat_out *o = opaque;
    off_t pos;

    if (whence == AVSEEK_SIZE)
        return o->end;
    pos = lseek(o->fd, (off_t)offset, whence & ~AVSEEK_FORCE);
    if (pos == -1)
        return AVERROR(errno);
    o->pos = (int64_t)pos;
    return o->pos;
}

/* Create path (truncated) for writing, into *pb. 0, or a libav error. */
static int
concat_out_open(AVIOContext **pb, const char *path)
{
    struct concat_out *o = av_mallocz(sizeof(*o));
    uint8_t *buf = av_malloc(CONCAT_OUT_BUF);
    int ret = AVERROR(ENOMEM);

    if (o == NULL || buf == NULL)
        goto fail;
    o->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (o->fd == -1) {
        ret = AVERROR(errno);
        goto fail;
    }
    *pb = avio_alloc_context(buf, CONCAT_OUT_BUF, 1, o, NULL, concat_out_write,
                             concat_out_seek);
    if (*pb != NULL)
        return 0;
    close(o->fd);
fail:
    av_free(buf);
    av_free(o);
    return ret;
}

/* Flush and close what concat_out_open made; *pb NULL after. 0, or the
 * first write or close error as a libav error. NULL ok. */
static int
concat_out_close(AVIOContext **pb)
{
    struct concat_out *o;
    int ret;

    if (*pb == NULL)
        return 0;
    avio_flush(*pb);
    ret = (*pb)->error;
    o = (*pb)->opaque;
    if (close(o->fd) == -1 && ret >= 0)
        ret = AVERROR(errno);
    av_free(o);
    av_freep(&(*pb)->buffer);
    avio_context_free(pb);
    return ret < 0 ? ret : 0;
}

/* Create the output in container ct from the first input's stream and
 * write the header. */
static int
concat_open_output(const char *tmp, const struct container *ct,
                   const AVStream *ist, uint64_t frames, AVFormatContext **out,
                   char *err, size_t errlen)
{
    AVFormatContext *ofmt = NULL;
    AVDictionary *opts = NULL;
    AVStream *ost;
    int ret, rc = -1;

    ret = avformat_alloc_output_context2(&ofmt, NULL, ct->muxer, tmp);
    if (ret < 0) {
        errf(err, errlen, "%s: %s", tmp, av_err2str(ret));
        goto out;
    }
    ost = avformat_new_stream(ofmt, NULL);
    if (ost == NULL) {
        errf(err, errlen, "%s: out of memory", tmp);
        goto out;
    }
    ret = avcodec_parameters_copy(ost->codecpar, ist->codecpar);
    if (ret < 0) {
        errf(err, errlen, "%s: %s", tmp, av_err2str(ret));
        goto out;
    }
    /* The muxer picks (avc1, av01, Matroska's ids), except for HEVC in
     * MP4/MOV: hvc1 (parameter sets in the sample entry only), which
     * Apple's players require, where the muxer would pick hev1. */
    ost->codecpar->codec_tag =
        ct->isobmff && ist->codecpar->codec_id == AV_CODEC_ID_HEVC
            ? MKTAG('h', 'v', 'c', '1')
            : 0;
    ost->time_base = ist->time_base;
    ost->avg_frame_rate = ist->avg_frame_rate;
    ret = concat_out_open(&ofmt->pb, tmp);
    if (ret < 0) {
        errf(err, errlen, "%s: %s", tmp, av_err2str(ret));
        goto out;
    }
    /* Whole buffers only: on an AVIOContext of its own a muxer flushes
     * after every packet by default (a write a frame: 24,000 for 18 MB). */
    ofmt->flush_packets = 0;
    /* The index up front, so that players can start before the end:
     * written into room reserved for it at the start (moov_size), for
     * the frames the job has, instead of +faststart's second pass that
     * rewrites the whole file to move it there. */
    if (ct->isobmff) {
        uint64_t room = CONCAT_MOOV_BASE + frames * CONCAT_MOOV_PER_FRAME;
        ret = frames < (INT_MAX - CONCAT_MOOV_BASE) / CONCAT_MOOV_PER_FRAME
                  ? av_dict_set_int(&opts, "moov_size", (int64_t)room, 0)
                  : av_dict_set(&opts, "movflags", "+faststart", 0);
        if (ret < 0) {
            errf(err, errlen, "%s: out of memory", tmp);
            goto out;
        }
    }
    ret = avformat_write_header(ofmt, &opts);
    if (ret < 0) {
        errf(err, errlen, "%s: writing the header: %s", tmp, av_err2str(ret));
        goto out;
    }
    *out = ofmt;
    ofmt = NULL;
    rc = 0;
out:
    av_dict_free(&opts);
    if (ofmt != NULL) {
        concat_out_close(&ofmt->pb);
        avformat_free_context(ofmt);
    }
    return rc;
}

/* The state of the output timeline while inputs are appended. */
struct concat_timeline {
    int64_t offset;    /* where the next input starts, input time base */
    int64_t last_dts;  /* last written, output time base */
    int64_t frame_dur; /* a frame's duration when a packet has none */
    uint64_t frames;
    int keep_pts; /* --timing timestamps: the inputs' times are the job's */
};

/* The output's timing, from the first input's frame rate and time base:
 * each frame's duration, and whether capture times are kept. */
static void
concat_timeline_start(struct concat_timeline *tl, const struct enc_params *enc,
                      const struct vidinfo *first)
{
    tl->keep_pts = enc != NULL && enc->timing == ENC_TIMING_TIMESTAMPS;
    if (first->fps_num > 0)
        tl->frame_dur =
            av_rescale_q(1, (AVRational){first->fps_den, first->fps_num},
                         (AVRational){first->tb_num, first->tb_den});
    if (tl->frame_dur < 1)
        tl->frame_dur = 1;
}

/* Append the video packets of one open input. -1 with err. */
static int
concat_copy(AVFormatContext *ifmt, int idx, AVFormatContext *ofmt,
            struct concat_timeline *tl, const char *path, size_t i,
            AVPacket *pkt, char *err, size_t errlen)
{
    const AVStream *ist = ifmt->streams[idx];
    const AVStream *ost = ofmt->streams[0];
    int64_t start = AV_NOPTS_VALUE, end = INT64_MIN;
    int ret;

    while ((ret = av_read_frame(ifmt, pkt)) >= 0) {
        int64_t dur;
        if (pkt->stream_index != idx) {
            av_packet_unref(pkt);
            continue;
        }
        if (pkt->pts == AV_NOPTS_VALUE) {
            errf(err, errlen, "input %zu (%s): packet without a timestamp", i,
                 path);
            return -1;
        }
        if (pkt->dts == AV_NOPTS_VALUE)
            pkt->dts = pkt->pts;
        if (start == AV_NOPTS_VALUE)
            start =
                ist->start_time != AV_NOPTS_VALUE ? ist->start_time : pkt->pts;
        dur = pkt->duration > 0 ? pkt->duration : tl->frame_dur;
        if (pkt->pts + dur > end)
            end = pkt->pts + dur;
        if (!tl->keep_pts) {
            pkt->pts += tl->offset - start;
            pkt->dts += tl->offset - start;
        }
        av_packet_rescale_ts(pkt, ist->time_base, ost->time_base);
        if (tl->last_dts != AV_NOPTS_VALUE && pkt->dts <= tl->last_dts) {
            pkt->dts = tl->last_dts + 1;
            if (pkt->pts < pkt->dts) {
                errf(err, errlen,
                     "input %zu (%s): its decoding delay does not fit "
                     "after the previous input's",
                     i, path);
                return -1;
            }
        }
        tl->last_dts = pkt->dts;
        pkt->stream_index = 0;
        pkt->pos = -1;
        /* takes the packet's contents and leaves it blank */
        ret = av_interleaved_write_frame(ofmt, pkt);
        if (ret < 0) {
            errf(err, errlen, "input %zu (%s): writing: %s", i, path,
                 av_err2str(ret));
            return -1;
        }
        tl->frames++;
    }
    if (ret != AVERROR_EOF) {
        errf(err, errlen, "input %zu (%s): reading: %s", i, path,
             av_err2str(ret));
        return -1;
    }
    if (start != AV_NOPTS_VALUE)
        tl->offset += end - start;
    return 0;
}

/* The common case, each input read once: every input's frames counted
 * from its index (MP4, MOV) and its fingerprint input 0's, so input 0's
 * is the reference and nothing is re-encoded. The inputs are read whole,
 * hashed against shas and probed ahead by media/concatread; here each is
 * checked as concat_probe_inputs does and its packets copied, in order,
 * into tmp. 0 with every packet written to *out (header written; the
 * caller finishes it). -1 with err when an input is not the one counted.
 * 1 when the general path must run: an input it cannot take that way,
 * and any other failure, which the general path meets again and reports
 * in its order. On 1 and -1 nothing is left behind (tmp removed). */
static int
concat_one_pass(const char *const *inputs, const char *const *shas, size_t n,
                const char *out_path, const char *tmp,
                const struct enc_params *enc, uint64_t expect_frames,
                struct vidinfo *vi, AVPacket *pkt, AVFormatContext **out,
                char *err, size_t errlen)
{
    struct concat_timeline tl = {0, AV_NOPTS_VALUE, 1, 0, 0};
    AVFormatContext *ofmt = NULL;
    const struct container *ct;
    struct concatread *rd = concatread_start(inputs, shas, n, vi);
    struct viddec *vd;
    char why[ERR_MAX];
    uint64_t total = 0;
    int rc = 1, r, header = 0, made = 0;

    for (size_t i = 0; rd != NULL && i < n; i++) {
        r = concatread_next(rd, i, &vd, err, errlen);
        if (r != 0) {
            rc = r;
            goto out;
        }
        if (!vidinfo_compatible(&vi[0], &vi[i]) || vi[i].frames == 0 ||
            !vi[i].first_is_key)
            goto out;
        total += vi[i].frames;
        if (i == 0) {
            ct = container_for_output(out_path, vi[0].codec, why, sizeof(why));
            /* the output's parameters: filled in completely (pixel
             * format, level) from the bitstream, as concat_open_input */
            if (ct == NULL || avformat_find_stream_info(vd->fmt, NULL) < 0)
                goto out;
            concat_timeline_start(&tl, enc, &vi[0]);
            made = 1;
            if (concat_open_output(tmp, ct, vd->st, expect_frames, &ofmt, why,
                                   sizeof(why)) == -1)
                goto out;
            header = 1;
        }
        if (concat_copy(vd->fmt, vd->st->index, ofmt, &tl, inputs[i], i, pkt,
                        why, sizeof(why)) == -1)
            goto out;
        concatread_done(rd, i);
    }
    if (rd == NULL || total != expect_frames)
        goto out;
    *out = ofmt;
    ofmt = NULL;
    made = 0;
    rc = 0;
out:
    av_packet_unref(pkt);
    concatread_free(rd);
    if (ofmt != NULL) {
        if (header)
            av_write_trailer(ofmt); /* the muxer's state is freed with it */
        concat_out_close(&ofmt->pb);
        avformat_free_context(ofmt);
    }
    if (made && unlink(tmp) == -1 && errno != ENOENT)
        log_warn("concat: removing %s", tmp);
    return rc;
}

/* Remove the re-encoded temp files and free the arrays. */
static void
concat_free_temps(char **tmp, size_t n)
{
    for (size_t i = 0; tmp != NULL && i < n; i++) {
        if (tmp[i] != NULL && unlink(tmp[i]) == -1 && errno != ENOENT)
            log_warn("concat: removing %s", tmp[i]);
        free(tmp[i]);
    }
    free(tmp);
}

int
concat_videos(const char *const *inputs, const char *const *shas, size_t n,
              const char *out_path, const struct enc_params *enc,
              uint64_t expect_frames, uint64_t *frames_out, char *err,
              size_t errlen)
{
    AVFormatContext *ofmt = NULL, *ifmt = NULL;
    AVPacket *pkt = NULL;
    struct vidinfo *vi = NULL, result;
    const struct container *ct;
    struct concat_timeline tl = {0, AV_NOPTS_VALUE, 1, 0, 0};
    char tmp[FS_PATH_MAX], why[ERR_MAX];
    char **temps = NULL;
    const char **src = NULL;
    uint64_t total = 0;
    int rc = -1, ret, header = 0, tmp_made = 0, idx;

    *frames_out = 0;
    if (n == 0) {
        errf(err, errlen, "%s: no inputs to concatenate", out_path);
        goto out;
    }
    if (snprintf(tmp, sizeof(tmp), "%s.tmp-%ld", out_path, (long)getpid()) >=
        (int)sizeof(tmp)) {
        errf(err, errlen, "%s: path too long", out_path);
        goto out;
    }
    vi = calloc(n, sizeof(*vi));
    temps = calloc(n, sizeof(*temps));
    src = calloc(n, sizeof(*src));
    if (vi == NULL || temps == NULL || src == NULL) {
        errf(err, errlen, "%s: out of memory", out_path);
        goto out;
    }
    pkt = av_packet_alloc();
    if (pkt == NULL) {
        errf(err, errlen, "%s: out of memory", out_path);
        goto out;
    }
    switch (concat_one_pass(inputs, shas, n, out_path, tmp, enc, expect_frames,
                            vi, pkt, &ofmt, err, errlen)) {
    case 0:
        tmp_made = 1;
        header = 1;
        goto finish;
    case -1:
        goto out;
    default:
        break;
    }
    if (concat_verify_inputs(inputs, shas, n, err, errlen) == -1 ||
        concat_probe_inputs(inputs, n, vi, &total, err, errlen) == -1)
        goto out;
    /* Refused before any work by the programs that take the name; here
     * for a caller that did not ask. */
    ct = container_for_output(out_path, vi[0].codec, err, errlen);
    if (ct == NULL)
        goto out;
    if (total != expect_frames) {
        errf(err, errlen,
             "the %zu inputs hold %" PRIu64 " frames, expected %" PRIu64, n,
             total, expect_frames);
        goto out;
    }
    if (concat_plan(inputs, n, vi, enc, tmp, temps, src, err, errlen) == -1)
        goto out;
    concat_timeline_start(&tl, enc, &vi[0]);
    for (size_t i = 0; i < n; i++) {
        if (concat_open_input(src[i], i, &ifmt, &idx, err, errlen) == -1)
            goto out;
        if (i == 0) {
            tmp_made = 1; /* from here on, a failure may leave a file */
            if (concat_open_output(tmp, ct, ifmt->streams[idx], expect_frames,
                                   &ofmt, err, errlen) == -1)
                goto out;
            header = 1;
        }
        if (concat_copy(ifmt, idx, ofmt, &tl, src[i], i, pkt, err, errlen) ==
            -1)
            goto out;
        avformat_close_input(&ifmt);
    }
finish:
    header = 0;
    ret = av_write_trailer(ofmt);
    if (ret >= 0)
        ret = concat_out_close(&ofmt->pb);
    if (ret < 0) {
        errf(err, errlen, "%s: finishing: %s", tmp, av_err2str(ret));
        goto out;
    }
    if (vidinfo_probe(tmp, &result, why, sizeof(why)) == -1) {
        errf(err, errlen, "the result does not read back: %s", why);
        goto out;
    }
    *frames_out = result.frames;
    if (result.frames != expect_frames) {
        errf(err, errlen,
             "%s: the result holds %" PRIu64 " frames, expected %" PRIu64, tmp,
             result.frames, expect_frames);
        goto out;
    }
    /* Test hook: die with the verified temp file written and the final
     * name not yet taken; a restart must redo the concat. */
    fault_crash_point(FAULT_CONCAT_BEFORE_RENAME);
    if (fs_fsync_path(tmp) == -1 || rename(tmp, out_path) == -1) {
        errf(err, errlen, "%s: %s", out_path, strerror(errno));
        goto out;
    }
    tmp_made = 0;
    if (fs_fsync_parent(out_path) == -1) {
        errf(err, errlen, "%s: syncing its directory: %s", out_path,
             strerror(errno));
        goto out;
    }
    rc = 0;
out:
    if (header)
        av_write_trailer(ofmt); /* the muxer's state is freed with it */
    if (ofmt != NULL) {
        concat_out_close(&ofmt->pb);
        avformat_free_context(ofmt);
    }
    avformat_close_input(&ifmt);
    av_packet_free(&pkt);
    if (tmp_made)
        unlink(tmp);
    concat_free_temps(temps, n);
    free(src);
    free(vi);
    return rc;
}
