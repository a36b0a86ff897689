/*
 * encoder.h - the encoder back ends, as a table, and one open encoder
 * (private to media/). The table, best first (NVENC, VAAPI, CPU), is what
 * encprobe tests and what render opens: every row turns the same
 * enc_params into its encoder's options, so all back ends agree on GOP
 * (fixed, closed, IDR first, no scene-cut keyframes), colour tags
 * (limited range, BT.601 matrix, sRGB primaries and transfer: what the
 * JPEG decoders make of a camera's frames) and profile. An encoder
 * belongs to the thread that opened it.
 */
#ifndef FF_ENCODER_H
#define FF_ENCODER_H

#include <stddef.h>

#include <libavcodec/avcodec.h>
#include <libavutil/dict.h>
#include <libavutil/hwcontext.h>

#include "common/encparams.h"
#include "media/encprobe.h"

struct encoder_backend {
    const char *name;  /* FFmpeg encoder */
    const char *codec; /* "h264", "hevc", "av1" */
    enum encprobe_kind kind;
    /* Hardware whose device must open for the encoder to work, and where
     * (NULL: libav's default); NONE for CPU encoders. */
    enum AVHWDeviceType device;
    const char *device_path;
    /* Frame format sent to the encoder: hw_format when frames are uploaded
     * to device surfaces (VAAPI), else sw_format, which is also what the
     * JPEG decoders produce. */
    enum AVPixelFormat hw_format;
    enum AVPixelFormat sw_format;
    const char *profile; /* NULL: the encoder's default */
    /* Encoder-specific options for p, added to opts / set on c. 0, or -1
     * with err. */
    int (*setup)(AVCodecContext *c, const struct enc_params *p,
                 AVDictionary **opts, char *err, size_t errlen);
};

/* The table and its length. */
const struct encoder_backend *encoder_backends(size_t *n);
/* The row for an FFmpeg encoder name, or NULL. */
const struct encoder_backend *encoder_backend_find(const char *name);
/* The first CPU row for codec ("h264": libx264), or NULL. */
const struct encoder_backend *encoder_backend_cpu(const char *codec);
/* 1 when x264 is an x264 preset name, which every row can map. */
int encoder_preset_known(const char *x264);

struct encoder;

/* Open encoder name for p (size, frame rate, quality, GOP). global_header:
 * parameter sets go to extradata (MP4). NULL with err, which includes
 * libav's own error text when there is any. */
struct encoder *encoder_open(const char *name, const struct enc_params *p,
                             int global_header, char *err, size_t errlen);
/* The same with the threads of a CPU encoder (libx264, libx265, libsvtav1)
 * capped at threads; 0: the encoder's own choice (encoder_open's). GPU
 * encoders ignore it. */
struct encoder *encoder_open_threads(const char *name,
                                     const struct enc_params *p,
                                     int global_header, int threads, char *err,
                                     size_t errlen);
/* Tag a picture with the colour every encoder is opened with: range,
 * matrix, primaries, transfer. Any thread. */
void encoder_tag_frame(AVFrame *f);
/* The format the frames passed to encoder_send must have. */
enum AVPixelFormat encoder_input_format(const struct encoder *e);
/* The opened context: time base, extradata, parameters for the muxer. */
const AVCodecContext *encoder_context(const struct encoder *e);
/* Encode frame (NULL: flush) and pass every packet that is ready to sink,
 * which takes the packet's contents (it may leave them in place) and
 * returns 0, or -1 with err. frame is not modified, but the encoder may
 * keep a reference to its buffers: check av_frame_is_writable before
 * writing into them again. 0, or -1 with err and errno. */
int encoder_send(struct encoder *e, const AVFrame *frame,
                 int (*sink)(void *arg, AVPacket *pkt, char *err,
                             size_t errlen),
                 void *arg, char *err, size_t errlen);
void encoder_close(struct encoder *e);

#endif
