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
    enc = encoder_open(be->name, &p, 1, err, sizeof(err));
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
    size_t rows;
    const struct encoder_backend *be = encoder_backends(&rows);

    avlog_init();
    *n = 0;
    for (size_t i = 0; i < rows && *n < max; i++) {
        struct encprobe_entry *e = &out[(*n)++];
        memset(e, 0, sizeof(*e));
        snprintf(e->name, sizeof(e->name), "%s", be[i].name);
        snprintf(e->codec, sizeof(e->codec), "%s", be[i].codec);
        e->kind = be[i].kind;
        encprobe_watched(&be[i], e);
    }
}

static int
encprobe_kind_from_name(const char *want, enum encprobe_kind *k)
{
    static const enum encprobe_kind kinds[] = {ENCPROBE_NVENC, ENCPROBE_VAAPI,
                                               ENCPROBE_CPU};
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
        if (strcmp(want, encprobe_kind_name(kinds[i])) == 0) {
            *k = kinds[i];
            return 1;
        }
    return 0;
}

/* Append "; text" (or text, when buf is empty) to buf, truncating. */
static void
encprobe_append(char *buf, size_t buflen, const char *text)
{
    size_t used = strlen(buf);
    if (used + 1 < buflen)
        errf(buf + used, buflen - used, "%s%s", used > 0 ? "; " : "", text);
}

/* "name: reason; name: reason" for the failed candidates of codec. */
static void
encprobe_reasons(const struct encprobe_entry *e, size_t n, const char *codec,
                 char *buf, size_t buflen)
{
    char one[ERR_MAX];

    buf[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (strcmp(e[i].codec, codec) != 0 || e[i].ok)
            continue;
        snprintf(one, sizeof(one), "%s: %s", e[i].name, e[i].reason);
        encprobe_append(buf, buflen, one);
    }
}

/* May e[i] be used now? It must have passed its probe and, when it is
 * hardware and there are breakers, its breaker must allow it (which hands
 * a half-open breaker's probe to this use). When not, why says so. */
static int
encprobe_usable(const struct encprobe_entry *e, size_t i, struct breaker *br,
                uint64_t now_ms, char *why, size_t whylen)
{
    if (!e[i].ok) {
        snprintf(why, whylen, "%s: %s", e[i].name, e[i].reason);
        return 0;
    }
    if (br != NULL && e[i].kind != ENCPROBE_CPU &&
        !breaker_allow(&br[i], now_ms)) {
        snprintf(why, whylen, "%s: held back after failing at run time (%s)",
                 e[i].name, br[i].reason);
        return 0;
    }
    return 1;
}

/* The first CPU entry for codec that passed its probe, or -1. */
static long
encprobe_cpu_for(const struct encprobe_entry *e, size_t n, const char *codec)
{
    for (size_t i = 0; i < n; i++)
        if (e[i].kind == ENCPROBE_CPU && e[i].ok &&
            strcmp(e[i].codec, codec) == 0)
            return (long)i;
    return -1;
}

/* auto: the first usable entry for codec, in table order; the entries
 * passed over for their breakers go to skipped. The index, or -1 with
 * err. */
static long
encprobe_choose_auto(const struct encprobe_entry *e, size_t n,
                     struct breaker *br, uint64_t now_ms, const char *codec,
                     char *skipped, size_t skippedlen, char *err, size_t errlen)
{
    char one[ERR_MAX], why[ERR_MAX];

    skipped[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (strcmp(e[i].codec, codec) != 0 || !e[i].ok)
            continue;
        if (encprobe_usable(e, i, br, now_ms, one, sizeof(one)))
            return (long)i;
        encprobe_append(skipped, skippedlen, one);
    }
    encprobe_reasons(e, n, codec, why, sizeof(why));
    if (skipped[0] != '\0')
        encprobe_append(why, sizeof(why), skipped);
    errf(err, errlen, "no %s encoder passed its probe%s%s", codec,
         why[0] != '\0' ? ": " : "", why);
    return -1;
}

/* A kind or a name: its usable entry, or -1 with why (and *kind set to
 * the kind wanted, for the fallback decision). -2 with err for a want
 * that can never work here (unknown, wrong codec). */
static long
encprobe_choose_want(const struct encprobe_entry *e, size_t n,
                     struct breaker *br, uint64_t now_ms, const char *codec,
                     const char *want, enum encprobe_kind *kind, char *why,
                     size_t whylen, char *err, size_t errlen)
{
    char one[ERR_MAX];
    int any = 0;

    why[0] = '\0';
    if (encprobe_kind_from_name(want, kind)) {
        for (size_t i = 0; i < n; i++) {
            if (e[i].kind != *kind || strcmp(e[i].codec, codec) != 0)
                continue;
            any = 1;
            if (encprobe_usable(e, i, br, now_ms, one, sizeof(one)))
                return (long)i;
            encprobe_append(why, whylen, one);
        }
        if (!any)
            snprintf(why, whylen, "there is no %s encoder for %s", want, codec);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (strcmp(e[i].name, want) != 0)
            continue;
        if (strcmp(e[i].codec, codec) != 0) {
            errf(err, errlen, "encoder %s makes %s, not %s", want, e[i].codec,
                 codec);
            return -2;
        }
        *kind = e[i].kind;
        if (encprobe_usable(e, i, br, now_ms, why, whylen))
            return (long)i;
        return -1;
    }
    errf(err, errlen,
         "encoder \"%s\" is not one of the back ends (auto, cpu, nvenc, "
         "vaapi or an encoder name from the probe)",
         want);
    return -2;
}

int
encprobe_choose(const struct encprobe_entry *e, size_t n, struct breaker *br,
                uint64_t now_ms, const char *codec, const char *want,
                int allow_fallback, struct encprobe_choice *out, char *err,
                size_t errlen)
{
    char why[ERR_MAX];
    enum encprobe_kind kind = ENCPROBE_CPU;
    int is_auto = want == NULL || strcmp(want, "auto") == 0;
    long idx, cpu = encprobe_cpu_for(e, n, codec);

    memset(out, 0, sizeof(*out));
    if (is_auto) {
        /* auto asks for nothing in particular: whatever passes is what it
         * means, so the fallback policy never refuses it; passing over a
         * held-back encoder is still reported. */
        idx = encprobe_choose_auto(e, n, br, now_ms, codec, why, sizeof(why),
                                   err, errlen);
        if (idx < 0)
            return -1;
        if (why[0] != '\0')
            snprintf(out->fallback, sizeof(out->fallback),
                     "encoder auto: %.400s", why);
    } else {
        idx = encprobe_choose_want(e, n, br, now_ms, codec, want, &kind, why,
                                   sizeof(why), err, errlen);
        if (idx == -2)
            return -1;
        if (idx == -1) {
            if (kind == ENCPROBE_CPU) {
                errf(err, errlen, "encoder %s unavailable (%s)", want, why);
                return -1;
            }
            if (!allow_fallback) {
                errf(err, errlen, "encoder %s unavailable (%s); %s", want, why,
                     ENCPROBE_NO_FALLBACK);
                return -1;
            }
            if (cpu < 0) {
                errf(err, errlen,
                     "encoder %s unavailable (%s) and no CPU encoder for %s "
                     "passed its probe",
                     want, why, codec);
                return -1;
            }
            idx = cpu;
            snprintf(out->fallback, sizeof(out->fallback),
                     "encoder %s unavailable (%.400s)", want, why);
        }
    }
    out->index = (size_t)idx;
    out->encoder = e[idx].name;
    if (e[idx].kind != ENCPROBE_CPU && (is_auto || allow_fallback) && cpu >= 0)
        out->retry = e[cpu].name;
    return 0;
}

const char *
encprobe_pick(const struct encprobe_entry *e, size_t n, const char *codec,
              const char *want, char *err, size_t errlen)
{
    struct encprobe_choice c;

    if (encprobe_choose(e, n, NULL, 0, codec, want, 0, &c, err, errlen) == -1)
        return NULL;
    return c.encoder;
}

int
encprobe_preset_known(const char *preset)
{
    return encoder_preset_known(preset);
}
