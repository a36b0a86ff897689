/*
 * concat.c - see concat.h.
 *
 * Every input is probed (vidinfo) before anything is written: each must
 * start with a keyframe and share the first input's stream fingerprint, or
 * the join would not decode; their frames must add up to expect_frames.
 * Then the packets are copied in the given order into one MP4 stream whose
 * parameters (and avcC) are the first input's. Input k's timestamps are
 * moved so that its first presented frame lands where input k-1's last
 * frame ended: shift = sum of the earlier inputs' durations - start_k,
 * with a duration measured as max(pts + duration) - start. Decode
 * timestamps stay as the encoder made them, so an input with B-frames
 * keeps its negative lead (dts before pts) and still follows the previous
 * input's last dts; should two inputs disagree, dts is nudged forward and
 * a packet that would then be shown before it is decoded fails the concat.
 * The output's time base is the inputs' (the muxer may refine it; packets
 * are rescaled to whatever it chose).
 *
 * The result goes to "<out>.tmp-<pid>", is probed again (frame count), is
 * fsynced and renamed, and the directory is fsynced; on any failure the
 * temp file is removed and out_path is untouched. The caller's thread owns
 * every libav object made here.
 */
#include "media/concat.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>

#include "common/err.h"
#include "common/fsutil.h"
#include "media/vidinfo.h"

#define CONCAT_FORMAT "mp4"
#define CONCAT_DIFF_MAX 160

/* What makes two fingerprints unfit for stream copy, in words. */
static void
concat_describe_diff(const struct vidinfo *a, const struct vidinfo *b,
                     char *buf, size_t len)
{
    if (strcmp(a->codec, b->codec) != 0)
        snprintf(buf, len, "codec %s vs %s", b->codec, a->codec);
    else if (a->width != b->width || a->height != b->height)
        snprintf(buf, len, "size %dx%d vs %dx%d", b->width, b->height, a->width,
                 a->height);
    else if (strcmp(a->pix_fmt, b->pix_fmt) != 0)
        snprintf(buf, len, "pix_fmt %s vs %s", b->pix_fmt, a->pix_fmt);
    else if (a->profile != b->profile)
        snprintf(buf, len, "profile %d vs %d", b->profile, a->profile);
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

/* Probe every input; 0 with *first and the frame total, or -1 with err. */
static int
concat_check_inputs(const char *const *inputs, size_t n, struct vidinfo *first,
                    uint64_t *total, char *err, size_t errlen)
{
    char why[ERR_MAX], diff[CONCAT_DIFF_MAX];
    struct vidinfo vi;

    *total = 0;
    for (size_t i = 0; i < n; i++) {
        if (vidinfo_probe(inputs[i], &vi, why, sizeof(why)) == -1) {
            errf(err, errlen, "input %zu: %s", i, why);
            return -1;
        }
        if (vi.frames == 0 || !vi.first_is_key) {
            errf(err, errlen, "input %zu (%s): %s", i, inputs[i],
                 vi.frames == 0 ? "no video frames"
                                : "does not start with a keyframe");
            return -1;
        }
        if (i == 0) {
            *first = vi;
        } else if (!vidinfo_compatible(first, &vi)) {
            /* Mixed encoders (a CPU set beside a GPU set) end here for
             * now. Their place is this branch: convert every input to
             * in-band parameter sets (Annex B via h264_mp4toannexb into
             * an avc3/TS stream) or re-encode the odd inputs to the first
             * one's parameters, then copy as below (DESIGN.md 6). */
            concat_describe_diff(first, &vi, diff, sizeof(diff));
            errf(err, errlen,
                 "input %zu (%s) cannot be stream-copied after %s: %s", i,
                 inputs[i], inputs[0], diff);
            return -1;
        }
        *total += vi.frames;
    }
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

/* Create the output from the first input's stream and write the header. */
static int
concat_open_output(const char *tmp, const AVStream *ist, AVFormatContext **out,
                   char *err, size_t errlen)
{
    AVFormatContext *ofmt = NULL;
    AVDictionary *opts = NULL;
    AVStream *ost;
    int ret, rc = -1;

    ret = avformat_alloc_output_context2(&ofmt, NULL, CONCAT_FORMAT, tmp);
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
    ost->codecpar->codec_tag = 0; /* let the muxer pick (avc1) */
    ost->time_base = ist->time_base;
    ost->avg_frame_rate = ist->avg_frame_rate;
    ret = avio_open(&ofmt->pb, tmp, AVIO_FLAG_WRITE);
    if (ret < 0) {
        errf(err, errlen, "%s: %s", tmp, av_err2str(ret));
        goto out;
    }
    /* the index up front, so that players can start before the end */
    av_dict_set(&opts, "movflags", "+faststart", 0);
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
        avio_closep(&ofmt->pb);
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
};

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
        pkt->pts += tl->offset - start;
        pkt->dts += tl->offset - start;
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

int
concat_videos(const char *const *inputs, size_t n, const char *out_path,
              uint64_t expect_frames, uint64_t *frames_out, char *err,
              size_t errlen)
{
    AVFormatContext *ofmt = NULL, *ifmt = NULL;
    AVPacket *pkt = NULL;
    struct vidinfo first, result;
    struct concat_timeline tl = {0, AV_NOPTS_VALUE, 1, 0};
    char tmp[FS_PATH_MAX], why[ERR_MAX];
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
    if (concat_check_inputs(inputs, n, &first, &total, err, errlen) == -1)
        goto out;
    if (total != expect_frames) {
        errf(err, errlen,
             "the %zu inputs hold %" PRIu64 " frames, expected %" PRIu64, n,
             total, expect_frames);
        goto out;
    }
    if (first.fps_num > 0)
        tl.frame_dur =
            av_rescale_q(1, (AVRational){first.fps_den, first.fps_num},
                         (AVRational){first.tb_num, first.tb_den});
    if (tl.frame_dur < 1)
        tl.frame_dur = 1;
    pkt = av_packet_alloc();
    if (pkt == NULL) {
        errf(err, errlen, "%s: out of memory", out_path);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        if (concat_open_input(inputs[i], i, &ifmt, &idx, err, errlen) == -1)
            goto out;
        if (i == 0) {
            tmp_made = 1; /* from here on, a failure may leave a file */
            if (concat_open_output(tmp, ifmt->streams[idx], &ofmt, err,
                                   errlen) == -1)
                goto out;
            header = 1;
        }
        if (concat_copy(ifmt, idx, ofmt, &tl, inputs[i], i, pkt, err, errlen) ==
            -1)
            goto out;
        avformat_close_input(&ifmt);
    }
    header = 0;
    ret = av_write_trailer(ofmt);
    if (ret >= 0)
        ret = avio_closep(&ofmt->pb);
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
        avio_closep(&ofmt->pb);
        avformat_free_context(ofmt);
    }
    avformat_close_input(&ifmt);
    av_packet_free(&pkt);
    if (tmp_made)
        unlink(tmp);
    return rc;
}
