/*
 * decprobe.c - see decprobe.h. Unless asked to, the CPU side is timed only
 * when some hardware decoder opened: on a node without one the probe
 * costs a device lookup per row and nothing more.
 */
#include "media/decprobe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libavutil/frame.h>

#include "common/clock.h"
#include "common/err.h"
#include "media/encprobe.h"
#include "media/hwjpeg.h"
#include "media/jpegdec.h"
#include "media/quality.h"
#include "media/sample.h"
#include "media/watchdog.h"

#define DECPROBE_WARMUP 2 /* first decodes set up surfaces and tables */
#define DECPROBE_RUNS 16
#define DECPROBE_US_PER_MS 1000.0
#define DECPROBE_TIMEOUT_S 30 /* the whole probe; a GPU driver may hang */

/* One JPEG decoded by either path, timed; the last picture stays in out. */
struct decprobe_bench {
    const uint8_t *jpeg;
    size_t len;
    AVFrame *out;
};

static int
decprobe_frame(AVFrame *f, int w, int h)
{
    f->format = AV_PIX_FMT_YUV420P;
    f->width = w;
    f->height = h;
    return av_frame_get_buffer(f, 0) < 0 ? -1 : 0;
}

/* Milliseconds per picture for DECPROBE_RUNS decodes, or -1 with err. */
static double
decprobe_time_cpu(const struct decprobe_bench *b, char *err, size_t errlen)
{
    struct jpegdec *d = jpegdec_new();
    uint64_t t0 = 0;
    double ms = -1;

    if (d == NULL) {
        errf(err, errlen, "out of memory");
        return -1;
    }
    for (int i = 0; i < DECPROBE_WARMUP + DECPROBE_RUNS; i++) {
        if (i == DECPROBE_WARMUP)
            t0 = clock_now_us();
        if (jpegdec_decode(d, b->jpeg, b->len, b->out, err, errlen) == -1)
            goto out;
    }
    ms = (double)(clock_now_us() - t0) / DECPROBE_US_PER_MS / DECPROBE_RUNS;
out:
    jpegdec_free(d);
    return ms;
}

static double
decprobe_time_hw(struct hwjpeg *d, const struct decprobe_bench *b, char *err,
                 size_t errlen)
{
    uint64_t t0 = 0;
    for (int i = 0; i < DECPROBE_WARMUP + DECPROBE_RUNS; i++) {
        if (i == DECPROBE_WARMUP)
            t0 = clock_now_us();
        if (hwjpeg_decode(d, b->jpeg, b->len, b->out, err, errlen) == -1)
            return -1;
    }
    return (double)(clock_now_us() - t0) / DECPROBE_US_PER_MS / DECPROBE_RUNS;
}

static void
decprobe_device(const struct hwjpeg_backend *be, struct decprobe_entry *e)
{
    if (be->device == AV_HWDEVICE_TYPE_CUDA)
        encprobe_gpu_model(e->device, sizeof(e->device));
    else if (be->device_path != NULL)
        snprintf(e->device, sizeof(e->device), "%s", be->device_path);
}

/* Time hardware decoder d on b's picture and compare its picture with
 * the CPU's (cpu_pic); fills e. */
static void
decprobe_one(const struct decprobe *p, struct decprobe_entry *e,
             struct hwjpeg *d, const struct decprobe_bench *b,
             const AVFrame *cpu_pic)
{
    struct decprobe_bench hb = *b;
    char err[ERR_MAX];
    double ms;

    hb.out = av_frame_alloc();
    if (p->cpu_ms < 0 || hb.out == NULL ||
        decprobe_frame(hb.out, p->width, p->height) == -1) {
        snprintf(e->reason, sizeof(e->reason),
                 "cannot compare with the CPU decode");
        goto out;
    }
    ms = decprobe_time_hw(d, &hb, err, sizeof(err));
    if (ms < 0) {
        encprobe_reason(e->reason, sizeof(e->reason), "test decode failed",
                        err);
        goto out;
    }
    e->psnr =
        quality_psnr(hb.out->data[0], hb.out->linesize[0], cpu_pic->data[0],
                     cpu_pic->linesize[0], p->width, p->height);
    if (e->psnr < DECPROBE_MIN_PSNR) {
        snprintf(e->reason, sizeof(e->reason),
                 "decodes a different picture from the CPU's (luma PSNR %.1f "
                 "dB, under %.0f)",
                 e->psnr, DECPROBE_MIN_PSNR);
        goto out;
    }
    e->ok = 1;
    e->ms = ms;
out:
    av_frame_free(&hb.out);
}

/* The probe itself, on the watchdog's thread. */
static void
decprobe_measure(struct decprobe *p, int cpu_threads, int time_cpu)
{
    struct hwjpeg *dec[DECPROBE_MAX] = {NULL};
    const struct hwjpeg_backend *be;
    struct sample_opts so;
    struct decprobe_bench b = {NULL, 0, NULL};
    AVFrame *cpu_pic = NULL;
    uint8_t *jpeg = NULL;
    char err[ERR_MAX] = "";
    size_t nbe, opened = 0;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

    memset(p, 0, sizeof(*p));
    p->cpu_threads = cpu_threads > 0 ? cpu_threads : ncpu > 0 ? (int)ncpu : 1;
    be = hwjpeg_backends(&nbe);
    for (size_t i = 0; i < nbe && p->n < DECPROBE_MAX; i++) {
        struct decprobe_entry *e = &p->hw[p->n++];
        snprintf(e->name, sizeof(e->name), "%s", be[i].name);
        if (be[i].device_path != NULL &&
            access(be[i].device_path, F_OK) == -1) {
            snprintf(e->reason, sizeof(e->reason), "no %s device (%s missing)",
                     be[i].device == AV_HWDEVICE_TYPE_VAAPI ? "VAAPI"
                                                            : be[i].name,
                     be[i].device_path);
            continue;
        }
        dec[i] = hwjpeg_open(&be[i], err, sizeof(err));
        if (dec[i] == NULL) {
            encprobe_reason(e->reason, sizeof(e->reason), NULL, err);
            continue;
        }
        decprobe_device(&be[i], e);
        opened++;
    }
    if (opened == 0 && !time_cpu)
        goto out;

    /* A camera-sized picture with real detail and noise, 4:2:0. */
    sample_opts_init(&so);
    err[0] = '\0';
    p->width = so.width;
    p->height = so.height;
    cpu_pic = av_frame_alloc();
    if (cpu_pic == NULL || decprobe_frame(cpu_pic, so.width, so.height) == -1)
        errf(err, sizeof(err), "out of memory");
    if (err[0] != '\0' ||
        sample_jpeg(&so, 0, &jpeg, &b.len, err, sizeof(err)) == -1) {
        for (size_t i = 0; i < p->n; i++)
            if (dec[i] != NULL)
                snprintf(p->hw[i].reason, sizeof(p->hw[i].reason),
                         "no test picture: %s", err);
        goto out;
    }
    b.jpeg = jpeg;
    b.out = cpu_pic;
    p->cpu_ms = decprobe_time_cpu(&b, err, sizeof(err));
    for (size_t i = 0; i < p->n; i++) {
        if (dec[i] != NULL)
            decprobe_one(p, &p->hw[i], dec[i], &b, cpu_pic);
    }
    if (p->cpu_ms < 0)
        p->cpu_ms = 0;
out:
    for (size_t i = 0; i < DECPROBE_MAX; i++)
        hwjpeg_free(dec[i]);
    av_frame_free(&cpu_pic);
    sample_jpeg_free(jpeg);
}

struct decprobe_job {
    struct decprobe p;
    int cpu_threads, time_cpu;
};

static void
decprobe_job_run(void *arg)
{
    struct decprobe_job *j = arg;
    decprobe_measure(&j->p, j->cpu_threads, j->time_cpu);
}

void
decprobe_run(struct decprobe *p, int cpu_threads, int time_cpu)
{
    struct decprobe_job *j = calloc(1, sizeof(*j));
    size_t nbe;
    const struct hwjpeg_backend *be = hwjpeg_backends(&nbe);
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    int r = -1;

    if (j != NULL) {
        j->cpu_threads = cpu_threads;
        j->time_cpu = time_cpu;
        r = watchdog_run(decprobe_job_run, j, free,
                         (uint64_t)DECPROBE_TIMEOUT_S * 1000);
    }
    if (r == 1) {
        *p = j->p;
        free(j);
        return;
    }
    /* A GPU that hangs in its driver (or no thread to probe on): no GPU
     * decoding; the CPU decodes, untimed. */
    memset(p, 0, sizeof(*p));
    p->cpu_threads = cpu_threads > 0 ? cpu_threads : ncpu > 0 ? (int)ncpu : 1;
    for (size_t i = 0; i < nbe && p->n < DECPROBE_MAX; i++) {
        struct decprobe_entry *e = &p->hw[p->n++];
        snprintf(e->name, sizeof(e->name), "%s", be[i].name);
        if (r == 0)
            snprintf(e->reason, sizeof(e->reason),
                     "the decoder probe did not finish within %d s (a GPU "
                     "driver hangs)",
                     DECPROBE_TIMEOUT_S);
        else
            snprintf(e->reason, sizeof(e->reason),
                     "cannot start the decoder probe");
    }
    if (r != 0)
        free(j); /* r == 0: the stuck thread owns it */
}
