/*
 * encoder.c - see encoder.h.
 *
 * Every row's context gets the same base: size, time base 1/fps (1/10^6
 * with --timing timestamps), frame rate, GOP length as both the maximum and
 * minimum keyframe interval, a closed GOP, and the colour tags of what the JPEG
 * decoders make (encoder_tag_frame). The row's setup function then maps the
 * job's x264-style preset and CRF onto its encoder and switches off scene-cut
 * keyframes, so a set of N frames always has IDRs at 0, gop, 2 * gop ... and a
 * set boundary never needs anything from the set before. avcodec_open2 must
 * consume every option it is given; a leftover one is a mapping error and fails
 * the open.
 *
 * NVENC takes frames in system memory (yuv420p) and uploads them itself,
 * in the node's shared CUDA context (hw_device_ctx). VAAPI needs its own
 * surfaces: encoder_open makes a frames context on the shared device, and
 * encoder_send uploads each nv12 frame. Devices come from hwdev, created
 * once per process. Both paths are exercised only on machines with such a
 * GPU.
 */
#include "media/encoder.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavutil/opt.h>

#include "common/err.h"
#include "media/avlog.h"
#include "media/hwdev.h"

#define ENCODER_HW_POOL 20 /* surfaces: the encoder's references + 1 */
#define ENCODER_MAX_CRF 51 /* x264's CRF scale, as in enc_params */
#define ENCODER_SVT_MAX_CRF 63

/* The colour of every picture we encode. A camera JPEG is sYCC: sRGB
 * primaries and transfer, BT.601 matrix, full range. The decoders keep
 * its Y'CbCr as it is (no matrix change: the fast path maps the samples,
 * swscale is told BT.601 on both sides) and only squeeze it to limited
 * range. So: limited range, BT.601 matrix (smpte170m), and the camera's
 * primaries (sRGB's are BT.709's) and transfer (sRGB's, iec61966-2-1),
 * which the conversion leaves untouched. */
#define ENCODER_RANGE AVCOL_RANGE_MPEG
#define ENCODER_MATRIX AVCOL_SPC_SMPTE170M
#define ENCODER_PRIMARIES AVCOL_PRI_BT709
#define ENCODER_TRANSFER AVCOL_TRC_IEC61966_2_1

struct encoder {
    const struct encoder_backend *be;
    AVCodecContext *ctx;
    AVFrame *hw; /* upload target (hw_format back ends) */
    AVPacket *pkt;
};

/* The job's preset, an x264 name, in the other encoders' terms. */
static const struct encoder_preset {
    const char *x264;
    const char *nvenc; /* p1 (fastest) .. p7 (slowest) */
    int svt;           /* 13 (fastest) .. 0 (slowest) */
} encoder_presets[] = {
    {"ultrafast", "p1", 12}, {"superfast", "p1", 11}, {"veryfast", "p2", 10},
    {"faster", "p3", 9},     {"fast", "p3", 8},       {"medium", "p4", 7},
    {"slow", "p5", 6},       {"slower", "p6", 5},     {"veryslow", "p7", 4},
    {"placebo", "p7", 2},
};

static const struct encoder_preset *
encoder_preset_find(const char *x264, char *err, size_t errlen)
{
    for (size_t i = 0; i < sizeof(encoder_presets) / sizeof(encoder_presets[0]);
         i++)
        if (strcmp(encoder_presets[i].x264, x264) == 0)
            return &encoder_presets[i];
    errf(err, errlen, "preset \"%s\" is not an x264 preset name", x264);
    errno = EINVAL;
    return NULL;
}

static int
encoder_set_int(AVDictionary **opts, const char *key, int v)
{
    return av_dict_set_int(opts, key, v, 0) < 0 ? -1 : 0;
}

/* libx264 (and libx265 below) take the job's preset and CRF as they are. */
static int
encoder_setup_x264(AVCodecContext *c, const struct enc_params *p,
                   AVDictionary **opts, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    c->thread_count = 0; /* x264's own choice: frame threads per core */
    if (av_dict_set(opts, "preset", p->preset, 0) < 0 ||
        encoder_set_int(opts, "crf", p->crf) == -1 ||
        av_dict_set(opts, "x264-params", "scenecut=0:open-gop=0", 0) < 0)
        goto nomem;
    return 0;
nomem:
    errno = ENOMEM;
    return -1;
}

static int
encoder_setup_x265(AVCodecContext *c, const struct enc_params *p,
                   AVDictionary **opts, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    c->thread_count = 0;
    /* x265 opens GOPs and prints a banner on stderr unless told not to;
     * info=0 keeps the options string (which names the thread count) out
     * of the parameter sets, so they match across machines. */
    if (av_dict_set(opts, "preset", p->preset, 0) < 0 ||
        encoder_set_int(opts, "crf", p->crf) == -1 ||
        av_dict_set(opts, "x265-params",
                    "scenecut=0:open-gop=0:info=0:log-level=error", 0) < 0)
        goto nomem;
    return 0;
nomem:
    errno = ENOMEM;
    return -1;
}

static int
encoder_setup_svtav1(AVCodecContext *c, const struct enc_params *p,
                     AVDictionary **opts, char *err, size_t errlen)
{
    const struct encoder_preset *pr =
        encoder_preset_find(p->preset, err, errlen);
    /* SVT-AV1's CRF runs 0..63; scale the x264 value linearly. */
    int crf =
        (p->crf * ENCODER_SVT_MAX_CRF + ENCODER_MAX_CRF / 2) / ENCODER_MAX_CRF;

    if (pr == NULL)
        return -1;
    c->thread_count = 0;
    /* irefresh-type=2: every keyframe is a closed-GOP key frame. */
    if (encoder_set_int(opts, "preset", pr->svt) == -1 ||
        encoder_set_int(opts, "crf", crf) == -1 ||
        av_dict_set(opts, "svtav1-params", "scd=0:irefresh-type=2", 0) < 0)
        goto nomem;
    return 0;
nomem:
    errno = ENOMEM;
    return -1;
}

/* NVENC: constant quality (VBR with a CQ target and no bitrate cap). Only
 * exercised on machines with an NVIDIA GPU that has an NVENC engine. */
static int
encoder_setup_nvenc(AVCodecContext *c, const struct enc_params *p,
                    AVDictionary **opts, char *err, size_t errlen)
{
    const struct encoder_preset *pr =
        encoder_preset_find(p->preset, err, errlen);
    if (pr == NULL)
        return -1;
    c->bit_rate = 0;
    if (av_dict_set(opts, "preset", pr->nvenc, 0) < 0 ||
        av_dict_set(opts, "rc", "vbr", 0) < 0 ||
        encoder_set_int(opts, "cq", p->crf) == -1 ||
        av_dict_set(opts, "no-scenecut", "1", 0) < 0 ||
        av_dict_set(opts, "forced-idr", "1", 0) < 0)
        goto nomem;
    return 0;
nomem:
    errno = ENOMEM;
    return -1;
}

/* VAAPI: the driver's constant-quality mode (ICQ, else CQP) at the CRF
 * value; every I frame is an IDR (idr_interval 0). Only exercised on
 * machines with a VAAPI device. */
static int
encoder_setup_vaapi(AVCodecContext *c, const struct enc_params *p,
                    AVDictionary **opts, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    c->bit_rate = 0;
    c->global_quality = p->crf;
    if (encoder_set_int(opts, "idr_interval", 0) == -1) {
        errno = ENOMEM;
        return -1;
    }
    return 0;
}

#define ENCODER_VAAPI_NODE "/dev/dri/renderD128"

static const struct encoder_backend encoder_table[] = {
    {"h264_nvenc", "h264", ENCPROBE_NVENC, AV_HWDEVICE_TYPE_CUDA, NULL,
     AV_PIX_FMT_NONE, AV_PIX_FMT_YUV420P, "high", encoder_setup_nvenc},
    {"hevc_nvenc", "hevc", ENCPROBE_NVENC, AV_HWDEVICE_TYPE_CUDA, NULL,
     AV_PIX_FMT_NONE, AV_PIX_FMT_YUV420P, "main", encoder_setup_nvenc},
    {"av1_nvenc", "av1", ENCPROBE_NVENC, AV_HWDEVICE_TYPE_CUDA, NULL,
     AV_PIX_FMT_NONE, AV_PIX_FMT_YUV420P, "main", encoder_setup_nvenc},
    {"h264_vaapi", "h264", ENCPROBE_VAAPI, AV_HWDEVICE_TYPE_VAAPI,
     ENCODER_VAAPI_NODE, AV_PIX_FMT_VAAPI, AV_PIX_FMT_NV12, "high",
     encoder_setup_vaapi},
    {"hevc_vaapi", "hevc", ENCPROBE_VAAPI, AV_HWDEVICE_TYPE_VAAPI,
     ENCODER_VAAPI_NODE, AV_PIX_FMT_VAAPI, AV_PIX_FMT_NV12, "main",
     encoder_setup_vaapi},
    {"av1_vaapi", "av1", ENCPROBE_VAAPI, AV_HWDEVICE_TYPE_VAAPI,
     ENCODER_VAAPI_NODE, AV_PIX_FMT_VAAPI, AV_PIX_FMT_NV12, "main",
     encoder_setup_vaapi},
    /* No profile for x264: it picks High itself whenever the preset uses
     * High's tools, its profile option is only a ceiling, and "high"
     * would refuse lossless CRF 0. */
    {"libx264", "h264", ENCPROBE_CPU, AV_HWDEVICE_TYPE_NONE, NULL,
     AV_PIX_FMT_NONE, AV_PIX_FMT_YUV420P, NULL, encoder_setup_x264},
    {"libx265", "hevc", ENCPROBE_CPU, AV_HWDEVICE_TYPE_NONE, NULL,
     AV_PIX_FMT_NONE, AV_PIX_FMT_YUV420P, "main", encoder_setup_x265},
    {"libsvtav1", "av1", ENCPROBE_CPU, AV_HWDEVICE_TYPE_NONE, NULL,
     AV_PIX_FMT_NONE, AV_PIX_FMT_YUV420P, NULL, encoder_setup_svtav1},
};

const struct encoder_backend *
encoder_backends(size_t *n)
{
    *n = sizeof(encoder_table) / sizeof(encoder_table[0]);
    return encoder_table;
}

const struct encoder_backend *
encoder_backend_find(const char *name)
{
    for (size_t i = 0; i < sizeof(encoder_table) / sizeof(encoder_table[0]);
         i++)
        if (strcmp(encoder_table[i].name, name) == 0)
            return &encoder_table[i];
    return NULL;
}

const struct encoder_backend *
encoder_backend_cpu(const char *codec)
{
    for (size_t i = 0; i < sizeof(encoder_table) / sizeof(encoder_table[0]);
         i++)
        if (encoder_table[i].kind == ENCPROBE_CPU &&
            strcmp(encoder_table[i].codec, codec) == 0)
            return &encoder_table[i];
    return NULL;
}

int
encoder_preset_known(const char *x264)
{
    return encoder_preset_find(x264, NULL, 0) != NULL;
}

/* The node's one device of the back end's kind, by reference. */
static int
encoder_device(struct encoder *e, AVBufferRef **device, char *err,
               size_t errlen)
{
    char why[ERR_MAX];
    if (hwdev_get(e->be->device, e->be->device_path, device, why,
                  sizeof(why)) == -1) {
        int saved = errno;
        errf(err, errlen, "%s: %s", e->be->name, why);
        errno = saved;
        return -1;
    }
    return 0;
}

/* The surface pool frames are uploaded to (VAAPI), on the shared device. */
static int
encoder_hw_frames(struct encoder *e, const struct enc_params *p,
                  const struct avlog_capture *cap, char *err, size_t errlen)
{
    AVBufferRef *device = NULL, *frames = NULL;
    AVHWFramesContext *fc;
    int ret, rc = -1;

    if (encoder_device(e, &device, err, errlen) == -1)
        goto out;
    frames = av_hwframe_ctx_alloc(device);
    if (frames == NULL) {
        avlog_fail(err, errlen, cap, AVERROR(ENOMEM),
                   "%s: av_hwframe_ctx_alloc", e->be->name);
        goto out;
    }
    fc = (AVHWFramesContext *)(void *)frames->data;
    fc->format = e->be->hw_format;
    fc->sw_format = e->be->sw_format;
    fc->width = p->width;
    fc->height = p->height;
    fc->initial_pool_size = ENCODER_HW_POOL;
    ret = av_hwframe_ctx_init(frames);
    if (ret < 0) {
        avlog_fail(err, errlen, cap, ret, "%s: av_hwframe_ctx_init",
                   e->be->name);
        goto out;
    }
    e->ctx->hw_frames_ctx = av_buffer_ref(frames);
    if (e->ctx->hw_frames_ctx == NULL) {
        avlog_fail(err, errlen, cap, AVERROR(ENOMEM), "%s: av_buffer_ref",
                   e->be->name);
        goto out;
    }
    rc = 0;
out:
    av_buffer_unref(&frames);
    av_buffer_unref(&device);
    return rc;
}

struct encoder *
encoder_open(const char *name, const struct enc_params *p, int global_header,
             char *err, size_t errlen)
{
    return encoder_open_threads(name, p, global_header, 0, err, errlen);
}

struct encoder *
encoder_open_threads(const char *name, const struct enc_params *p,
                     int global_header, int threads, char *err, size_t errlen)
{
    struct avlog_capture cap;
    struct encoder *e = NULL;
    AVDictionary *opts = NULL;
    const AVDictionaryEntry *left;
    const AVCodec *codec;
    AVCodecContext *c;
    int ret, ok = 0, saved = 0;

    avlog_capture_begin(&cap);
    e = calloc(1, sizeof(*e));
    if (e == NULL) {
        errf(err, errlen, "out of memory");
        saved = ENOMEM;
        goto out;
    }
    e->be = encoder_backend_find(name);
    if (e->be == NULL) {
        errf(err, errlen, "encoder \"%s\" is not one of the back ends", name);
        saved = ENOENT;
        goto out;
    }
    if (strcmp(e->be->codec, p->codec) != 0) {
        errf(err, errlen, "encoder %s makes %s, the job wants %s", name,
             e->be->codec, p->codec);
        saved = EINVAL;
        goto out;
    }
    codec = avcodec_find_encoder_by_name(name);
    if (codec == NULL) {
        errf(err, errlen, "encoder %s is not built into this FFmpeg", name);
        saved = ENOENT;
        goto out;
    }
    e->ctx = avcodec_alloc_context3(codec);
    e->hw = av_frame_alloc();
    e->pkt = av_packet_alloc();
    if (e->ctx == NULL || e->hw == NULL || e->pkt == NULL) {
        errf(err, errlen, "out of memory");
        saved = ENOMEM;
        goto out;
    }
    c = e->ctx;
    c->width = p->width;
    c->height = p->height;
    c->pix_fmt = e->be->hw_format != AV_PIX_FMT_NONE ? e->be->hw_format
                                                     : e->be->sw_format;
    /* --timing timestamps: frames carry their capture times in us; the
     * frame rate stays the nominal one (rate control, GOP). */
    c->time_base = p->timing == ENC_TIMING_TIMESTAMPS
                       ? (AVRational){1, ENC_TIMESTAMP_HZ}
                       : (AVRational){p->fps_den, p->fps_num};
    c->framerate = (AVRational){p->fps_num, p->fps_den};
    c->gop_size = p->gop;
    c->keyint_min = p->gop;
    c->flags |= AV_CODEC_FLAG_CLOSED_GOP;
    if (global_header)
        c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    c->color_range = ENCODER_RANGE;
    c->colorspace = ENCODER_MATRIX;
    c->color_primaries = ENCODER_PRIMARIES;
    c->color_trc = ENCODER_TRANSFER;
    if (e->be->setup(c, p, &opts, err, errlen) == -1) {
        saved = errno;
        if (saved == ENOMEM)
            errf(err, errlen, "out of memory");
        goto out;
    }
    /* A CPU encoder sharing the machine with other renders (framefarm
     * render's nodes): its share of the cores, not its own choice. */
    if (threads > 0 && e->be->kind == ENCPROBE_CPU)
        c->thread_count = threads;
    if (e->be->profile != NULL &&
        av_dict_set(&opts, "profile", e->be->profile, 0) < 0) {
        errf(err, errlen, "out of memory");
        saved = ENOMEM;
        goto out;
    }
    if (e->be->hw_format != AV_PIX_FMT_NONE) {
        if (encoder_hw_frames(e, p, &cap, err, errlen) == -1) {
            saved = errno;
            goto out;
        }
    } else if (e->be->device != AV_HWDEVICE_TYPE_NONE &&
               encoder_device(e, &c->hw_device_ctx, err, errlen) == -1) {
        /* NVENC takes system-memory frames but runs in the shared CUDA
         * context instead of creating one per set. */
        saved = errno;
        goto out;
    }
    ret = avcodec_open2(c, codec, &opts);
    if (ret < 0) {
        avlog_fail(err, errlen, &cap, ret, "avcodec_open2(%s)", name);
        saved = errno;
        goto out;
    }
    left = av_dict_get(opts, "", NULL, AV_DICT_IGNORE_SUFFIX);
    if (left != NULL) {
        errf(err, errlen, "encoder %s does not take option %s=%s", name,
             left->key, left->value);
        saved = EINVAL;
        goto out;
    }
    ok = 1;
out:
    avlog_capture_end(&cap);
    av_dict_free(&opts);
    if (!ok) {
        encoder_close(e);
        e = NULL;
        errno = saved;
    }
    return e;
}

void
encoder_tag_frame(AVFrame *f)
{
    f->color_range = ENCODER_RANGE;
    f->colorspace = ENCODER_MATRIX;
    f->color_primaries = ENCODER_PRIMARIES;
    f->color_trc = ENCODER_TRANSFER;
}

enum AVPixelFormat
encoder_input_format(const struct encoder *e)
{
    return e->be->sw_format;
}

const AVCodecContext *
encoder_context(const struct encoder *e)
{
    return e->ctx;
}

int
encoder_send(struct encoder *e, const AVFrame *frame,
             int (*sink)(void *arg, AVPacket *pkt, char *err, size_t errlen),
             void *arg, char *err, size_t errlen)
{
    const AVFrame *in = frame;
    int ret;

    if (frame != NULL && e->be->hw_format != AV_PIX_FMT_NONE) {
        /* VAAPI: a fresh surface from the pool for every frame. */
        av_frame_unref(e->hw);
        ret = av_hwframe_get_buffer(e->ctx->hw_frames_ctx, e->hw, 0);
        if (ret < 0)
            return avlog_fail(err, errlen, NULL, ret, "av_hwframe_get_buffer");
        ret = av_hwframe_transfer_data(e->hw, frame, 0);
        if (ret < 0)
            return avlog_fail(err, errlen, NULL, ret,
                              "av_hwframe_transfer_data");
        ret = av_frame_copy_props(e->hw, frame);
        if (ret < 0)
            return avlog_fail(err, errlen, NULL, ret, "av_frame_copy_props");
        in = e->hw;
    }
    ret = avcodec_send_frame(e->ctx, in);
    if (ret < 0)
        return avlog_fail(err, errlen, NULL, ret, "avcodec_send_frame(%s)",
                          e->be->name);
    for (;;) {
        ret = avcodec_receive_packet(e->ctx, e->pkt);
        if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF)
            return 0;
        if (ret < 0)
            return avlog_fail(err, errlen, NULL, ret,
                              "avcodec_receive_packet(%s)", e->be->name);
        if (sink(arg, e->pkt, err, errlen) == -1) {
            int saved = errno;
            av_packet_unref(e->pkt);
            errno = saved;
            return -1;
        }
        av_packet_unref(e->pkt);
    }
}

void
encoder_close(struct encoder *e)
{
    if (e == NULL)
        return;
    avcodec_free_context(&e->ctx);
    av_frame_free(&e->hw);
    av_packet_free(&e->pkt);
    free(e);
}
