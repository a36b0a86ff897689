/*
 * encprobe.c - see encprobe.h. The candidates are the rows of encoder.c's
 * back-end table, in its order, so what is probed is exactly what render
 * opens, with the same options.
 *
 * A candidate passes only by producing a packet: its hardware device (if
 * any) must open, then the encoder must open at a small size, take one
 * black frame and give a packet back after the flush. libav's error lines
 * are captured on the probing thread and turned into a reason a person can
 * act on, keeping libav's own text where it adds something.
 *
 * Each probe runs on its own thread under a watchdog: an encoder that hangs
 * (libsvtav1 did, when opened and closed without a frame) is abandoned
 * after ENCPROBE_TIMEOUT_S and reported, and its thread frees its own state
 * if it ever returns. Called once at node start-up, from one thread.
 */
#include "media/encprobe.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libavutil/imgutils.h>

#include "common/err.h"
#include "media/avlog.h"
#include "media/encoder.h"
#include "media/hwdev.h"
#include "media/watchdog.h"

#define ENCPROBE_WIDTH 256
#define ENCPROBE_HEIGHT 144
#define ENCPROBE_TIMEOUT_S 20
#define ENCPROBE_NVIDIA_GPUS "/proc/driver/nvidia/gpus"
#define ENCPROBE_NVIDIA_MODEL "Model:"
#define ENCPROBE_LINE_MAX 512

/* libav's words for common failures, and what they mean for a node. */
static const struct encprobe_hint {
    const char *needle;
    const char *reason;
    int detail; /* append libav's text after the reason */
} encprobe_hints[] = {
    {"libcuda.so", "no NVIDIA driver (cannot load libcuda.so.1)", 0},
    {"libnvidia-encode.so",
     "no NVENC library (cannot load libnvidia-encode.so.1)", 0},
    {"CUDA_ERROR_NO_DEVICE", "no NVIDIA GPU visible to CUDA", 1},
    {"Driver does not support the required nvenc API version",
     "NVIDIA driver too old for this FFmpeg's NVENC", 1},
    {"OpenEncodeSessionEx failed", "no NVENC encoder engine on this GPU", 1},
    {"No capable devices found", "no NVENC encoder engine on this GPU", 1},
    {"No VA display found", "VAAPI device unusable", 1},
    {"Cannot open a VA display", "VAAPI device unusable", 1},
};

struct encprobe_job {
    const struct encoder_backend *be;
    struct encprobe_entry entry; /* written by the probe thread */
};

const char *
encprobe_kind_name(enum encprobe_kind k)
{
    switch (k) {
    case ENCPROBE_NVENC:
        return "nvenc";
    case ENCPROBE_VAAPI:
        return "vaapi";
    case ENCPROBE_CPU:
        return "cpu";
    }
    return "unknown";
}

/* Turn "what failed" plus libav's text into e->reason. */
void
encprobe_reason(char *out, size_t outlen, const char *what, const char *text)
{
    for (size_t i = 0; i < sizeof(encprobe_hints) / sizeof(encprobe_hints[0]);
         i++) {
        const struct encprobe_hint *h = &encprobe_hints[i];
        if (strstr(text, h->needle) == NULL)
            continue;
        if (h->detail)
            snprintf(out, outlen, "%s: %s", h->reason, text);
        else
            snprintf(out, outlen, "%s", h->reason);
        return;
    }
    if (what != NULL)
        snprintf(out, outlen, "%s: %s", what, text);
    else
        snprintf(out, outlen, "%s", text);
}

static void
encprobe_explain(struct encprobe_entry *e, const char *what, const char *text)
{
    encprobe_reason(e->reason, sizeof(e->reason), what, text);
}

void
encprobe_gpu_model(char *out, size_t outlen)
{
    struct dirent **names = NULL;
    char path[ENCPROBE_LINE_MAX], line[ENCPROBE_LINE_MAX];
    FILE *f = NULL;
    int n;

    out[0] = '\0';
    n = scandir(ENCPROBE_NVIDIA_GPUS, &names, NULL, alphasort);
    for (int i = 0; i < n; i++) {
        if (f == NULL && names[i]->d_name[0] != '.' &&
            snprintf(path, sizeof(path), "%s/%s/information",
                     ENCPROBE_NVIDIA_GPUS,
                     names[i]->d_name) < (int)sizeof(path))
            f = fopen(path, "re");
        free(names[i]);
    }
    free(names);
    while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
        const char *v = line;
        size_t len;
        if (strncmp(v, ENCPROBE_NVIDIA_MODEL, strlen(ENCPROBE_NVIDIA_MODEL)))
            continue;
        v += strlen(ENCPROBE_NVIDIA_MODEL);
        v += strspn(v, " \t");
        len = strcspn(v, "\r\n");
        snprintf(out, outlen, "%.*s", (int)len, v);
        break;
    }
    if (f != NULL)
        fclose(f);
}

/* Open the candidate's hardware device, as a first and cheap proof. */
static int
encprobe_device(const struct encoder_backend *be, struct encprobe_entry *e)
{
    AVBufferRef *dev = NULL;
    char text[ERR_MAX];

    if (be->device_path != NULL && access(be->device_path, F_OK) == -1) {
        snprintf(e->reason, sizeof(e->reason), "no %s device (%s missing)",
                 be->kind == ENCPROBE_VAAPI
                     ? "VAAPI"
                     : av_hwdevice_get_type_name(be->device),
                 be->device_path);
        return -1;
    }
    /* The device stays open in hwdev for the node's encoders. */
    if (hwdev_get(be->device, be->device_path, &dev, text, sizeof(text)) ==
        -1) {
        encprobe_explain(e, NULL, text);
        return -1;
    }
    av_buffer_unref(&dev);
    if (be->device == AV_HWDEVICE_TYPE_CUDA)
        encprobe_gpu_model(e->device, sizeof(e->device));
    else if (be->device_path != NULL)
        snprintf(e->device, sizeof(e->device), "%s", be->device_path);
    return 0;
}

static int
encprobe_count_packet(void *arg, AVPacket *pkt, char *err, size_t errlen)
{
    size_t *packets = arg;
    (void)err;
    (void)errlen;
    if (pkt->size > 0)
        (*packets)++;
    return 0;
}

/* The whole proof for one candidate; fills e->ok or e->reason. */
static void
encprobe_one(const struct encoder_backend *be, struct encprobe_entry *e)
{
    struct avlog_capture cap;
    struct enc_params p;
    struct encoder *enc = NULL;
    AVFrame *frame = NULL;
    ptrdiff_t linesize[4];
    char err[ERR_MAX];
    size_t packets = 0;
    int ret;

    if (avcodec_find_encoder_by_name(be->name) == NULL) {
        snprintf(e->reason, sizeof(e->reason), "not built into this FFmpeg");
        goto out;
    }
    if (be->device != AV_HWDEVICE_TYPE_NONE && encprobe_device(be, e) == -1)
        goto out;

    encparams_init(&p);
    snprintf(p.codec, sizeof(p.codec), "%s", be->codec);
    p.width = ENCPROBE_WIDTH;
    p.height = ENCPROBE_HEIGHT;
    /* one thread: the probe proves the encoder works, nothing more */
    enc = encoder_open_threads(be->name, &p, 1, 1, err, sizeof(err));
    if (enc == NULL) {
        encprobe_explain(e, "cannot open the encoder", err);
        goto out;
    }
    frame = av_frame_alloc();
    if (frame == NULL) {
        snprintf(e->reason, sizeof(e->reason), "out of memory");
        goto out;
    }
    frame->format = encoder_input_format(enc);
    frame->width = p.width;
    frame->height = p.height;
    frame->pts = 0;
    ret = av_frame_get_buffer(frame, 0);
    for (int i = 0; ret >= 0 && i < 4; i++)
        linesize[i] = frame->linesize[i];
    if (ret >= 0)
        ret =
            av_image_fill_black(frame->data, linesize, frame->format,
                                AVCOL_RANGE_MPEG, frame->width, frame->height);
    if (ret < 0) {
        snprintf(e->reason, sizeof(e->reason), "cannot make a test frame");
        goto out;
    }
    /* A real frame, then the flush: the only way to learn that the
     * hardware encodes (and the only safe way to close libsvtav1). */
    avlog_capture_begin(&cap);
    ret = encoder_send(enc, frame, encprobe_count_packet, &packets, err,
                       sizeof(err));
    if (ret == 0)
        ret = encoder_send(enc, NULL, encprobe_count_packet, &packets, err,
                           sizeof(err));
    avlog_capture_end(&cap);
    if (ret == -1) {
        char text[ERR_MAX + AVLOG_CAPTURE_MAX + 2];
        snprintf(text, sizeof(text), "%s%s%s", err,
                 cap.text[0] != '\0' ? ": " : "", cap.text);
        encprobe_explain(e, "test encode failed", text);
        goto out;
    }
    if (packets == 0) {
        snprintf(e->reason, sizeof(e->reason),
                 "test encode produced no packet");
        goto out;
    }
    e->ok = 1;
    e->reason[0] = '\0';
out:
    av_frame_free(&frame);
    encoder_close(enc);
}

static void
encprobe_job_run(void *arg)
{
    struct encprobe_job *j = arg;
    encprobe_one(j->be, &j->entry);
}

/* Probe one candidate on a thread, giving up after ENCPROBE_TIMEOUT_S. */
static void
encprobe_watched(const struct encoder_backend *be, struct encprobe_entry *e)
{
    struct encprobe_job *j = calloc(1, sizeof(*j));
    int r;

    if (j == NULL) {
        snprintf(e->reason, sizeof(e->reason), "out of memory");
        return;
    }
    j->be = be;
    j->entry = *e;
    r = watchdog_run(encprobe_job_run, j, free,
                     (uint64_t)ENCPROBE_TIMEOUT_S * 1000);
    if (r == 1) {
        *e = j->entry;
        free(j);
    } else if (r == 0) {
        /* The thread is stuck inside the encoder; it owns j from now on. */
        e->ok = 0;
        snprintf(e->reason, sizeof(e->reason),
                 "test encode did not finish within %d s (the encoder hangs)",
                 ENCPROBE_TIMEOUT_S);
    } else {
        snprintf(e->reason, sizeof(e->reason), "cannot start a probe: %s",
                 strerror(errno));
        free(j);
    }
}

void
encprobe_run(struct encprobe_entry *out, size_t max, size_t *n)
{
    encprobe_run_codec(out, max, n, NULL);
}

void
encprobe_run_codec(struct encprobe_entry *out, size_t max, size_t *n,
                   const char *codec)
{
    size_t rows;
    const struct encoder_backend *be = encoder_backends(&rows);

    avlog_init();
    *n = 0;
    for (size_t i = 0; i < rows && *n < max; i++) {
        if (codec != NULL && strcmp(be[i].codec, codec) != 0)
            continue;
        struct encprobe_entry *e = &out[(*n)++];
        memset(e, 0, sizeof(*e));
        snprintf(e->name, sizeof(e->name), "%s", be[i].name);
        snprintf(e->codec, sizeof(e->codec), "%s", be[i].codec);
        e->kind = be[i].kind;
        encprobe_watched(&be[i], e);
    }
}

int
encprobe_preset_known(const char *preset)
{
    return encoder_preset_known(preset);
}
