/*
 * render.h - a render node's pipeline for one set: JPEG entries read from
 * the zip (zipframes), decoded on several threads, converted from full-range
 * JPEG YCbCr to the encoder's format with explicit range/matrix tags,
 * encoded (fixed GOP, IDR at frame 0, identical parameters for every set)
 * and muxed into MP4. The file is written to "<out>.part", fsynced, renamed
 * to "<out>", and its directory fsynced. One call per set; the caller's
 * thread owns every libav object it creates. Thread-safe across calls.
 */
#ifndef FF_RENDER_H
#define FF_RENDER_H

#include <stdatomic.h>
#include <stdint.h>

#include "common/err.h"
#include "common/hash.h"
#include "common/manifest.h"

/* GPU decoders per set: enough to keep an engine busy while pictures copy
 * back. */
#define RENDER_HW_STREAMS 4

struct render_request {
    const struct manifest *m; /* frames and encode parameters */
    const char *zip_path;     /* the zip, as a path this host can open */
    const char *out_path;     /* final name of the mini-video */
    const char *encoder;      /* FFmpeg encoder name, e.g. "libx264" */
    int threads;              /* decode threads; 0 = one per CPU */
    int enc_threads;          /* a CPU encoder's threads; 0 = its choice */
    /* "nvdec" or "vaapi": the first RENDER_HW_STREAMS decode threads decode
     * on that GPU (a picture it cannot take is decoded on the CPU and
     * counted), the others on the CPU. NULL or "cpu": all on the CPU. */
    const char *decoder;
    /* Test hook (a node's FRAMEFARM_FAULT_ENCODER): when it names encoder,
     * opening the encoder fails as a broken GPU would. NULL: none. */
    const char *fault_encoder;
    /* Test hook (FRAMEFARM_FAULT_DECODER): when it names decoder, every
     * GPU decode fails as a broken engine's would. NULL: none. */
    const char *fault_decoder;
    /* Asked just before the rename that publishes the mini-video (a
     * render that was fenced or cancelled while it ran, or whose share
     * went away, must not appear there): 0 to publish, -1 with why to
     * drop it instead. NULL: always publish. */
    int (*may_publish)(void *arg, char *why, size_t whylen);
    void *publish_arg;
};

struct render_result {
    uint64_t frames;               /* frames encoded (== m->count) */
    uint64_t bytes;                /* size of the file */
    char sha256[HASH_HEX_LEN + 1]; /* of the file */
    char encoder[ENC_NAME_MAX];    /* encoder that produced it */
    uint64_t hw_decoded;           /* pictures the GPU decoded */
    uint64_t damaged;       /* frames libjpeg-turbo decoded with a corruption
                               warning (what it could of a damaged JPEG) */
    char hw_error[ERR_MAX]; /* the first GPU decode failure, or "" */
    /* Set on every return: 1 when the render failed because the encoder
     * itself failed (open, encode or flush), not the zip, a JPEG, the
     * output file or a cancel; another encoder may then succeed. */
    int encoder_failed;
};

/* Render the set. *progress (may be NULL) counts frames encoded so far;
 * when *cancel (may be NULL) becomes non-zero the render stops, removes
 * its .part file and fails with ECANCELED. 0, or -1 with err and
 * res->encoder_failed saying whose fault it was; on failure nothing is
 * left under out_path, so the set may be rendered again at once. */
int render_set(const struct render_request *rq, atomic_uint_fast64_t *progress,
               const atomic_int *cancel, struct render_result *res, char *err,
               size_t errlen);

#endif
