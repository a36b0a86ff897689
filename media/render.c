/*
 * render.c - see render.h.
 *
 * One render_set call runs three kinds of thread around a ring of slots;
 * frame i always uses slot i % nslots:
 *   - the reader owns the zip (zipf_reader) and reads frame i's JPEG into
 *     its slot once the encoder has released the frame before it there;
 *   - the decoders claim frames in order and decode each into its slot's
 *     AVFrame, already in the encoder's format and limited range;
 *   - the calling thread encodes and muxes the frames in order and frees
 *     their slots.
 * A slot's state says who owns it (FREE: reader, READ: any decoder,
 * DECODING: the decoder that claimed it, READY: the encoder); only the
 * owner touches its contents, and the mutex is held only to change a state
 * or read the shared error, never across zip, JPEG, av* or file calls. The
 * ring bounds memory to nslots JPEGs and pictures and lets the decoders
 * run up to nslots frames ahead of the encoder, so decoding overlaps
 * encoding. The first failure on any thread stops them all and is the one
 * reported.
 *
 * The MP4 goes to "<out>.part" (created O_EXCL through our own descriptor
 * and a custom AVIOContext, so the file is ours and its fsync is checked),
 * then is hashed, renamed and its directory fsynced. Every packet lasts one
 * frame (constant frame rate), so a set of N frames lasts exactly N / fps
 * and sets join end to end. With --timing timestamps each frame is at its
 * manifest pts (us from the job's first frame, so the set sits where it
 * belongs in the video) and lasts until the next; the MP4's movie time
 * scale is the track's, so that a set that does not start at 0 still
 * starts at its exact time.
 *
 * render_set runs in stages over one struct render_run: prepare (check the
 * request), start (the ring and its threads), open (encoder, muxer,
 * header), encode, publish (trailer, fsync, hash, rename); the teardown
 * then undoes what the run's flags say was done, on every path.
 *
 * A failure is the encoder's (res->encoder_failed) when encoder_open fails
 * or encoder_send fails anywhere but in our packet sink (the file): that is
 * how a GPU encoder that passed its probe but broke later shows, and the
 * node then renders the set again on the CPU.
 */
#include "media/render.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libavformat/avformat.h>

#include "common/err.h"
#include "common/fdio.h"
#include "common/frametime.h"
#include "common/fsutil.h"
#include "media/avlog.h"
#include "media/encoder.h"
#include "media/hwjpeg.h"
#include "media/jpegdec.h"
#include "media/vfr.h"
#include "media/zipframes.h"

#define RENDER_PART_SUFFIX ".part"
#define RENDER_MAX_THREADS 64
#define RENDER_SLOTS_PER_THREAD 2
#define RENDER_SLOTS_EXTRA 2
#define RENDER_RING_BYTES (512u << 20) /* pictures in flight, at most */
#define RENDER_MIN_SLOTS 2
#define RENDER_IO_BUFFER (1 << 20)
#define RENDER_FILE_MODE 0644

enum render_slot_state {
    RENDER_SLOT_FREE,
    RENDER_SLOT_READ,
    RENDER_SLOT_DECODING,
    RENDER_SLOT_READY,
};

struct render_slot {
    enum render_slot_state state; /* under mu */
    uint8_t *jpeg;                /* READ: the entry's bytes, owned */
    size_t jpeg_len;
    AVFrame *frame; /* READY: the picture; buffers made on first use */
};

struct render_pipe {
    /* Set before the threads start, read-only after. */
    const struct render_request *rq;
    const struct manifest *m;
    enum AVPixelFormat fmt; /* what the encoder takes */
    size_t nslots;
    struct render_slot *slots;

    pthread_mutex_t mu;
    pthread_cond_t freed; /* a slot became FREE: the reader waits */
    pthread_cond_t read;  /* a slot became READ: decoders wait */
    pthread_cond_t ready; /* a slot became READY: the encoder waits */
    const struct hwjpeg_backend *hwdec; /* NULL: CPU decoding only */
    atomic_uint decoders_started;       /* hands out GPU streams */
    /* Under mu. */
    uint64_t hw_decoded;          /* pictures the GPU decoded */
    atomic_uint_fast64_t damaged; /* decoded with a corruption warning */
    char hw_err[ERR_MAX];         /* the first GPU decode failure */
    size_t next_decode;           /* the next frame a decoder claims */
    int stop;                     /* set on the first failure or cancel */
    int errnum;                   /* first failure: errno and message */
    char err[ERR_MAX];
};

/* The muxer and the file under it, for the packet sink. */
struct render_mux {
    AVFormatContext *fmt;
    AVStream *st;
    AVRational enc_tb;
    /* --timing timestamps: the frames' pts, in order, and the last one's
     * span (the nominal frame period); NULL: one tick a frame. */
    const int64_t *pts;
    size_t npts;
    int64_t last_span;
    const char *part;
    int fd;
    int sink_failed; /* writing a packet failed: the file's fault */
};

static void render_pipe_fail(struct render_pipe *p, int errnum, const char *fmt,
                             ...) PRINTFLIKE(3, 4);

/* Record the first failure and wake every thread. Any thread, mu not held. */
static void
render_pipe_fail(struct render_pipe *p, int errnum, const char *fmt, ...)
{
    va_list ap;

    pthread_mutex_lock(&p->mu);
    if (p->errnum == 0) {
        va_start(ap, fmt);
        vsnprintf(p->err, sizeof(p->err), fmt, ap);
        va_end(ap);
        p->errnum = errnum != 0 ? errnum : EIO;
    }
    p->stop = 1;
    pthread_cond_broadcast(&p->freed);
    pthread_cond_broadcast(&p->read);
    pthread_cond_broadcast(&p->ready);
    pthread_mutex_unlock(&p->mu);
}

static void
render_pipe_set_state(struct render_pipe *p, struct render_slot *s,
                      enum render_slot_state state, pthread_cond_t *wake)
{
    pthread_mutex_lock(&p->mu);
    s->state = state;
    pthread_cond_broadcast(wake);
    pthread_mutex_unlock(&p->mu);
}

static struct render_slot *
render_pipe_slot(const struct render_pipe *p, size_t frame)
{
    return &p->slots[frame % p->nslots];
}

static void *
render_reader(void *arg)
{
    struct render_pipe *p = arg;
    struct zipf_reader *zr;
    char err[ERR_MAX];

    zr = zipf_reader_open(p->rq->zip_path, err, sizeof(err));
    if (zr == NULL) {
        render_pipe_fail(p, zipf_io_error() ? zipf_io_error() : EBADMSG, "%s",
                         err);
        return NULL;
    }
    for (size_t i = 0; i < p->m->count; i++) {
        const struct manifest_frame *f = &p->m->frames[i];
        struct render_slot *s = render_pipe_slot(p, i);
        uint8_t *buf = NULL;
        size_t len = 0;
        int stop;

        pthread_mutex_lock(&p->mu);
        while (!p->stop && s->state != RENDER_SLOT_FREE)
            pthread_cond_wait(&p->freed, &p->mu);
        stop = p->stop;
        pthread_mutex_unlock(&p->mu);
        if (stop)
            break;
        if (zipf_reader_read(zr, f->name, f->size, f->crc, &buf, &len, err,
                             sizeof(err)) == -1) {
            render_pipe_fail(p, zipf_io_error() ? zipf_io_error() : EBADMSG,
                             "%s", err);
            break;
        }
        s->jpeg = buf;
        s->jpeg_len = len;
        render_pipe_set_state(p, s, RENDER_SLOT_READ, &p->read);
    }
    zipf_reader_close(zr);
    return NULL;
}

/* A GPU decode failed: keep the first reason for the result. */
static void
render_pipe_hw_failed(struct render_pipe *p, const char *why)
{
    pthread_mutex_lock(&p->mu);
    if (p->hw_err[0] == '\0')
        snprintf(p->hw_err, sizeof(p->hw_err), "%s", why);
    pthread_mutex_unlock(&p->mu);
}

/* Frame i's JPEG into its slot's picture, on the GPU (hd) when this thread
 * has one and it takes the picture, else on the CPU; the slot is ours
 * (DECODING). */
static int
render_decode_one(struct render_pipe *p, struct jpegdec *d, struct hwjpeg *hd,
                  struct render_slot *s, size_t i, char *err, size_t errlen)
{
    AVFrame *f = s->frame;
    int ret, rc = -1;

    /* The encoder may still hold the last picture's buffers. */
    if (f->buf[0] == NULL || !av_frame_is_writable(f)) {
        av_frame_unref(f);
        f->format = p->fmt;
        f->width = p->m->enc.width;
        f->height = p->m->enc.height;
        ret = av_frame_get_buffer(f, 0);
        if (ret < 0)
            return avlog_fail(err, errlen, NULL, ret,
                              "frame %s: av_frame_get_buffer",
                              p->m->frames[i].name);
    }
    encoder_tag_frame(f);
    f->pict_type = AV_PICTURE_TYPE_NONE;
    if (hd != NULL) {
        char why[ERR_MAX];
        if (hwjpeg_decode(hd, s->jpeg, s->jpeg_len, f, why, sizeof(why)) == 0) {
            pthread_mutex_lock(&p->mu);
            p->hw_decoded++;
            pthread_mutex_unlock(&p->mu);
            rc = 0;
        } else {
            char msg[ERR_MAX];
            errf(msg, sizeof(msg), "frame %s: %s", p->m->frames[i].name, why);
            render_pipe_hw_failed(p, msg);
        }
    }
    if (rc == -1)
        rc = jpegdec_decode(d, s->jpeg, s->jpeg_len, f, err, errlen);
    if (rc == -1) {
        char why[ERR_MAX];
        int saved = errno;
        snprintf(why, sizeof(why), "%s", err);
        errf(err, errlen, "frame %s: %s", p->m->frames[i].name, why);
        errno = saved;
    }
    free(s->jpeg);
    s->jpeg = NULL;
    s->jpeg_len = 0;
    return rc;
}

static void *
render_decoder(void *arg)
{
    struct render_pipe *p = arg;
    struct jpegdec *d = jpegdec_new();
    struct hwjpeg *hd = NULL;
    char err[ERR_MAX];

    if (d == NULL) {
        render_pipe_fail(p, ENOMEM, "out of memory (JPEG decoder)");
        return NULL;
    }
    if (p->hwdec != NULL &&
        atomic_fetch_add(&p->decoders_started, 1) < RENDER_HW_STREAMS) {
        if (p->rq->fault_decoder != NULL &&
            strcmp(p->rq->fault_decoder, p->hwdec->name) == 0)
            errf(err, sizeof(err),
                 "cannot open %s: injected fault (test "
                 "hook)",
                 p->hwdec->name);
        else
            hd = hwjpeg_open(p->hwdec, err, sizeof(err));
        if (hd == NULL)
            render_pipe_hw_failed(p, err); /* this thread uses the CPU */
    }
    for (;;) {
        struct render_slot *s;
        size_t i;

        pthread_mutex_lock(&p->mu);
        while (!p->stop && p->next_decode < p->m->count &&
               render_pipe_slot(p, p->next_decode)->state != RENDER_SLOT_READ)
            pthread_cond_wait(&p->read, &p->mu);
        if (p->stop || p->next_decode >= p->m->count) {
            pthread_mutex_unlock(&p->mu);
            break;
        }
        i = p->next_decode++;
        s = render_pipe_slot(p, i);
        s->state = RENDER_SLOT_DECODING;
        pthread_mutex_unlock(&p->mu);

        if (render_decode_one(p, d, hd, s, i, err, sizeof(err)) == -1) {
            render_pipe_fail(p, errno, "%s", err);
            break;
        }
        render_pipe_set_state(p, s, RENDER_SLOT_READY, &p->ready);
    }
    atomic_fetch_add(&p->damaged, jpegdec_warnings(d));
    hwjpeg_free(hd);
    jpegdec_free(d);
    return NULL;
}

static void render_pipe_fini(struct render_pipe *p);

static int
render_pipe_init(struct render_pipe *p, const struct render_request *rq,
                 enum AVPixelFormat fmt, size_t nslots)
{
    memset(p, 0, sizeof(*p));
    p->rq = rq;
    p->m = rq->m;
    p->fmt = fmt;
    p->nslots = nslots;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->freed, NULL);
    pthread_cond_init(&p->read, NULL);
    pthread_cond_init(&p->ready, NULL);
    p->slots = calloc(p->nslots, sizeof(*p->slots));
    if (p->slots == NULL)
        goto fail;
    for (size_t i = 0; i < p->nslots; i++) {
        p->slots[i].frame = av_frame_alloc();
        if (p->slots[i].frame == NULL)
            goto fail;
    }
    return 0;
fail:
    render_pipe_fini(p);
    errno = ENOMEM;
    return -1;
}

/* After every thread has been joined. */
static void
render_pipe_fini(struct render_pipe *p)
{
    for (size_t i = 0; p->slots != NULL && i < p->nslots; i++) {
        av_frame_free(&p->slots[i].frame);
        free(p->slots[i].jpeg);
    }
    free(p->slots);
    p->slots = NULL;
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->freed);
    pthread_cond_destroy(&p->read);
    pthread_cond_destroy(&p->ready);
}

static int
render_file_write(void *opaque, uint8_t *buf, int size)
{
    struct render_mux *mx = opaque;
    if (fdio_write_full(mx->fd, buf, (size_t)size) == -1)
        return AVERROR(errno);
    return size;
}

static int64_t
render_file_seek(void *opaque, int64_t offset, int whence)
{
    struct render_mux *mx = opaque;
    struct stat st;
    off_t r;

    if (whence == AVSEEK_SIZE) {
        if (fstat(mx->fd, &st) == -1)
            return AVERROR(errno);
        return (int64_t)st.st_size;
    }
    r = lseek(mx->fd, (off_t)offset, whence & ~AVSEEK_FORCE);
    return r == (off_t)-1 ? AVERROR(errno) : (int64_t)r;
}

/* encoder_send's sink: one packet into the MP4. */
static int
render_mux_packet(void *arg, AVPacket *pkt, char *err, size_t errlen)
{
    struct render_mux *mx = arg;
    int ret;

    /* one frame: one tick of 1/fps, or up to the next frame's time */
    pkt->duration = mx->pts != NULL ? frametime_span(mx->pts, mx->npts,
                                                     pkt->pts, mx->last_span)
                                    : 1;
    av_packet_rescale_ts(pkt, mx->enc_tb, mx->st->time_base);
    pkt->stream_index = mx->st->index;
    /* Takes the packet's contents and leaves pkt blank. */
    ret = av_interleaved_write_frame(mx->fmt, pkt);
    if (ret < 0) {
        mx->sink_failed = 1;
        return avlog_fail(err, errlen, NULL, ret, "writing %s", mx->part);
    }
    return 0;
}

/* Decoder threads and ring slots: two slots per decoder, unless the
 * pictures are so large that RENDER_RING_BYTES holds fewer; then fewer
 * slots, and no more decoders than slots. */
static void
render_sizes(const struct render_request *rq, size_t *threads, size_t *slots)
{
    long n = rq->threads > 0 ? rq->threads : sysconf(_SC_NPROCESSORS_ONLN);
    size_t picture = (size_t)rq->m->enc.width * (size_t)rq->m->enc.height * 3 /
                     2; /* 4:2:0, sizes checked by encparams_check */
    size_t cap = RENDER_RING_BYTES / picture;

    if (n < 1)
        n = 1;
    if (n > RENDER_MAX_THREADS)
        n = RENDER_MAX_THREADS;
    if ((size_t)n > rq->m->count)
        n = (long)rq->m->count;
    *threads = (size_t)n;
    *slots = *threads * RENDER_SLOTS_PER_THREAD + RENDER_SLOTS_EXTRA;
    if (cap < RENDER_MIN_SLOTS)
        cap = RENDER_MIN_SLOTS;
    if (*slots > cap)
        *slots = cap;
    if (*threads > *slots)
        *threads = *slots;
}

static int
render_check(const struct render_request *rq, char *err, size_t errlen)
{
    char why[ERR_MAX];

    if (rq == NULL || rq->m == NULL || rq->zip_path == NULL ||
        rq->out_path == NULL || rq->encoder == NULL) {
        errf(err, errlen,
             "render request without manifest, zip, output "
             "or encoder");
        return -1;
    }
    if (rq->m->count == 0 || rq->m->count > MANIFEST_MAX_FRAMES ||
        rq->m->frames == NULL) {
        errf(err, errlen, "set of %zu frames (1..%d allowed)", rq->m->count,
             MANIFEST_MAX_FRAMES);
        return -1;
    }
    if (encparams_check(&rq->m->enc, why, sizeof(why)) == -1) {
        errf(err, errlen, "encode parameters: %s", why);
        return -1;
    }
    return 0;
}

/* Open the MP4 muxer on a new "<out>.part" (which must not exist). */
static int
render_mux_open(struct render_mux *mx, const AVCodecContext *ec,
                const struct avlog_capture *cap, char *err, size_t errlen)
{
    uint8_t *iobuf = NULL;
    int ret;

    ret = avformat_alloc_output_context2(&mx->fmt, NULL, "mp4", NULL);
    if (ret < 0)
        return avlog_fail(err, errlen, cap, ret,
                          "avformat_alloc_output_context2(mp4)");
    mx->st = avformat_new_stream(mx->fmt, NULL);
    if (mx->st == NULL)
        return avlog_fail(err, errlen, cap, AVERROR(ENOMEM),
                          "avformat_new_stream");
    ret = avcodec_parameters_from_context(mx->st->codecpar, ec);
    if (ret < 0)
        return avlog_fail(err, errlen, cap, ret,
                          "avcodec_parameters_from_context");
    /* hvc1: parameter sets only in the sample entry, as players expect. */
    if (ec->codec_id == AV_CODEC_ID_HEVC)
        mx->st->codecpar->codec_tag = MKTAG('h', 'v', 'c', '1');
    mx->st->time_base = ec->time_base;
    mx->st->avg_frame_rate = ec->framerate;
    mx->enc_tb = ec->time_base;

    mx->fd = open(mx->part, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
                  RENDER_FILE_MODE);
    if (mx->fd == -1) {
        int saved = errno;
        errf(err, errlen, "cannot create %s: %s", mx->part, strerror(saved));
        errno = saved;
        return -1;
    }
    iobuf = av_malloc(RENDER_IO_BUFFER);
    if (iobuf != NULL)
        mx->fmt->pb = avio_alloc_context(iobuf, RENDER_IO_BUFFER, 1, mx, NULL,
                                         render_file_write, render_file_seek);
    if (mx->fmt->pb == NULL) {
        av_free(iobuf);
        return avlog_fail(err, errlen, cap, AVERROR(ENOMEM),
                          "avio_alloc_context");
    }
    mx->fmt->flags |= AVFMT_FLAG_CUSTOM_IO;
    return 0;
}

static void
render_mux_free(struct render_mux *mx)
{
    if (mx->fmt != NULL && mx->fmt->pb != NULL) {
        av_freep(&mx->fmt->pb->buffer);
        avio_context_free(&mx->fmt->pb);
    }
    avformat_free_context(mx->fmt);
    mx->fmt = NULL;
    if (mx->fd != -1)
        close(mx->fd);
    mx->fd = -1;
}

/* Write out what the muxer still buffers, then fsync and close the file. */
static int
render_mux_commit(struct render_mux *mx, char *err, size_t errlen)
{
    int fd = mx->fd;

    avio_flush(mx->fmt->pb);
    if (mx->fmt->pb->error < 0)
        return avlog_fail(err, errlen, NULL, mx->fmt->pb->error, "writing %s",
                          mx->part);
    mx->fd = -1;
    if (fsync(fd) == -1) {
        int saved = errno;
        close(fd);
        errf(err, errlen, "fsync of %s: %s", mx->part, strerror(saved));
        errno = saved;
        return -1;
    }
    if (close(fd) == -1) {
        int saved = errno;
        errf(err, errlen, "closing %s: %s", mx->part, strerror(saved));
        errno = saved;
        return -1;
    }
    return 0;
}

/* Everything one render_set call owns, for its stages and its teardown.
 * The flags say what the teardown must undo. */
struct render_run {
    const struct render_request *rq;
    struct render_result *res;
    struct avlog_capture cap;
    struct render_pipe pipe;
    struct render_mux mx;
    const struct encoder_backend *be;
    struct encoder *enc;
    pthread_t reader, *decoders;
    int64_t *pts; /* --timing timestamps: frame i's pts, in us */
    size_t threads, started;
    int reader_started, pipe_made, header, part_made;
    char part[FS_PATH_MAX];
};

/* Check the request, name the .part file and find the encoder's back end.
 * -1 with err and errno. */
static int
render_run_prepare(struct render_run *r, char *err, size_t errlen)
{
    const struct render_request *rq = r->rq;
    int ret;

    if (render_check(rq, err, errlen) == -1) {
        errno = EINVAL;
        return -1;
    }
    ret = snprintf(r->part, sizeof(r->part), "%s%s", rq->out_path,
                   RENDER_PART_SUFFIX);
    if (ret < 0 || (size_t)ret >= sizeof(r->part)) {
        errf(err, errlen, "output path too long");
        errno = ENAMETOOLONG;
        return -1;
    }
    r->mx.part = r->part;

    r->be = encoder_backend_find(rq->encoder);
    if (r->be == NULL) {
        errf(err, errlen, "encoder \"%s\" is not one of the back ends",
             rq->encoder);
        errno = ENOENT;
        return -1;
    }
    if (rq->m->enc.timing == ENC_TIMING_TIMESTAMPS) {
        r->pts = calloc(rq->m->count, sizeof(*r->pts));
        if (r->pts == NULL) {
            errf(err, errlen, "out of memory");
            errno = ENOMEM;
            return -1;
        }
        for (size_t i = 0; i < rq->m->count; i++)
            r->pts[i] = (int64_t)rq->m->frames[i].pts;
        r->mx.pts = r->pts;
        r->mx.npts = rq->m->count;
        r->mx.last_span = vfr_frame_period(&rq->m->enc);
    }
    return 0;
}

/* Make the ring and start the reader and the decoders, so that reading and
 * decoding run while the encoder and the file are set up. -1 with err and
 * errno. */
static int
render_run_start(struct render_run *r, char *err, size_t errlen)
{
    const struct render_request *rq = r->rq;
    size_t slots = 0;
    int ret;

    render_sizes(rq, &r->threads, &slots);
    r->decoders = calloc(r->threads, sizeof(*r->decoders));
    if (r->decoders == NULL ||
        render_pipe_init(&r->pipe, rq, r->be->sw_format, slots) == -1) {
        errf(err, errlen, "out of memory");
        errno = ENOMEM;
        return -1;
    }
    r->pipe_made = 1;
    if (rq->decoder != NULL && strcmp(rq->decoder, "cpu") != 0) {
        r->pipe.hwdec = hwjpeg_backend_find(rq->decoder);
        if (r->pipe.hwdec == NULL) {
            errf(err, errlen,
                 "JPEG decoder \"%s\" is none of cpu, nvdec, "
                 "vaapi",
                 rq->decoder);
            errno = EINVAL;
            return -1;
        }
    }
    ret = pthread_create(&r->reader, NULL, render_reader, &r->pipe);
    if (ret != 0) {
        errf(err, errlen, "cannot start the zip reader: %s", strerror(ret));
        errno = ret;
        return -1;
    }
    r->reader_started = 1;
    for (; r->started < r->threads; r->started++) {
        ret = pthread_create(&r->decoders[r->started], NULL, render_decoder,
                             &r->pipe);
        if (ret != 0) {
            errf(err, errlen, "cannot start a decoder: %s", strerror(ret));
            errno = ret;
            return -1;
        }
    }
    return 0;
}

/* Open the encoder, then the MP4 on a new .part file, and write its
 * header. -1 with err and errno; res->encoder_failed when the encoder
 * would not open. */
static int
render_run_open(struct render_run *r, char *err, size_t errlen)
{
    const struct render_request *rq = r->rq;
    int ret, saved;

    if (rq->fault_encoder != NULL &&
        strcmp(rq->fault_encoder, rq->encoder) == 0) {
        errf(err, errlen, "cannot open %s: injected fault (test hook)",
             rq->encoder);
        r->res->encoder_failed = 1;
        errno = ENODEV;
        return -1;
    }
    /* MP4 carries the parameter sets out of band, in the sample entry. */
    r->enc = encoder_open_threads(rq->encoder, &rq->m->enc, 1, rq->enc_threads,
                                  err, errlen);
    if (r->enc == NULL) {
        r->res->encoder_failed = 1;
        return -1;
    }
    ret =
        render_mux_open(&r->mx, encoder_context(r->enc), &r->cap, err, errlen);
    saved = errno;
    r->part_made = r->mx.fd != -1; /* ours: created with O_EXCL */
    if (ret == -1) {
        errno = saved;
        return -1;
    }
    ret = vfr_write_header(r->mx.fmt, &rq->m->enc);
    if (ret < 0)
        return avlog_fail(err, errlen, &r->cap, ret, "writing the header of %s",
                          r->part);
    r->header = 1;
    return 0;
}

/* Encode and mux every frame in order as the decoders make it ready, then
 * flush the encoder. -1 with err and errno: cancelled, the pipeline's
 * first failure, or the encoder's (res->encoder_failed) or the file's. */
static int
render_run_encode(struct render_run *r, atomic_uint_fast64_t *progress,
                  const atomic_int *cancel, char *err, size_t errlen)
{
    struct render_pipe *pipe = &r->pipe;

    for (size_t i = 0; i < r->rq->m->count; i++) {
        struct render_slot *s = render_pipe_slot(pipe, i);
        int stop, errnum = 0;

        if (cancel != NULL && atomic_load(cancel) != 0) {
            errf(err, errlen, "cancelled");
            errno = ECANCELED;
            return -1;
        }
        pthread_mutex_lock(&pipe->mu);
        while (!pipe->stop && s->state != RENDER_SLOT_READY)
            pthread_cond_wait(&pipe->ready, &pipe->mu);
        stop = pipe->stop;
        if (stop) {
            errf(err, errlen, "%s", pipe->err);
            errnum = pipe->errnum;
        }
        pthread_mutex_unlock(&pipe->mu);
        if (stop) {
            errno = errnum;
            return -1;
        }

        s->frame->pts = r->pts != NULL ? r->pts[i] : (int64_t)i;
        if (encoder_send(r->enc, s->frame, render_mux_packet, &r->mx, err,
                         errlen) == -1) {
            r->res->encoder_failed = !r->mx.sink_failed;
            return -1;
        }
        render_pipe_set_state(pipe, s, RENDER_SLOT_FREE, &pipe->freed);
        if (progress != NULL)
            atomic_store(progress, (uint_fast64_t)i + 1);
    }
    if (encoder_send(r->enc, NULL, render_mux_packet, &r->mx, err, errlen) ==
        -1) {
        r->res->encoder_failed = !r->mx.sink_failed;
        return -1;
    }
    return 0;
}

/* Write the trailer, fsync and close the .part file, hash it, rename it to
 * out_path, fsync the directory and fill res. -1 with err and errno, and
 * nothing left under out_path. */
static int
render_run_publish(struct render_run *r, char *err, size_t errlen)
{
    const struct render_request *rq = r->rq;
    char hex[HASH_HEX_LEN + 1];
    uint64_t bytes = 0;
    int ret, saved;

    r->header = 0;
    ret = av_write_trailer(r->mx.fmt);
    if (ret < 0)
        return avlog_fail(err, errlen, &r->cap, ret,
                          "writing the trailer of %s", r->part);
    if (render_mux_commit(&r->mx, err, errlen) == -1)
        return -1;
    if (hash_sha256_file(r->part, hex, &bytes) == -1) {
        saved = errno;
        errf(err, errlen, "hashing %s: %s", r->part, strerror(saved));
        errno = saved;
        return -1;
    }
    if (rq->may_publish != NULL) {
        char why[ERR_MAX] = "";
        if (rq->may_publish(rq->publish_arg, why, sizeof(why)) == -1) {
            errf(err, errlen, "not published: %s", why);
            errno = ECANCELED;
            return -1; /* the teardown removes the .part */
        }
    }
    if (rename(r->part, rq->out_path) == -1) {
        saved = errno;
        errf(err, errlen, "renaming %s: %s", r->part, strerror(saved));
        errno = saved;
        return -1;
    }
    r->part_made = 0;
    if (fs_fsync_parent(rq->out_path) == -1) {
        saved = errno;
        errf(err, errlen, "fsync of the directory of %s: %s", rq->out_path,
             strerror(saved));
        unlink(rq->out_path);
        errno = saved;
        return -1;
    }
    r->res->frames = rq->m->count;
    r->res->bytes = bytes;
    memcpy(r->res->sha256, hex, sizeof(r->res->sha256));
    snprintf(r->res->encoder, sizeof(r->res->encoder), "%s", rq->encoder);
    return 0;
}

/* Stop and join every thread, then undo what the flags say was done: the
 * muxer (its trailer owed), the encoder, the .part file, the ring. On
 * every path, success included. */
static void
render_run_teardown(struct render_run *r)
{
    if (r->reader_started || r->started > 0) {
        pthread_mutex_lock(&r->pipe.mu);
        r->pipe.stop = 1;
        pthread_cond_broadcast(&r->pipe.freed);
        pthread_cond_broadcast(&r->pipe.read);
        pthread_mutex_unlock(&r->pipe.mu);
    }
    if (r->reader_started)
        pthread_join(r->reader, NULL);
    for (size_t i = 0; i < r->started; i++)
        pthread_join(r->decoders[i], NULL);
    if (r->header)
        av_write_trailer(r->mx.fmt); /* frees the muxer's state; file dropped */
    render_mux_free(&r->mx);
    encoder_close(r->enc);
    if (r->part_made)
        unlink(r->part);
    if (r->pipe_made) {
        r->res->hw_decoded = r->pipe.hw_decoded; /* every thread is joined */
        r->res->damaged = atomic_load(&r->pipe.damaged);
        snprintf(r->res->hw_error, sizeof(r->res->hw_error), "%s",
                 r->pipe.hw_err);
        render_pipe_fini(&r->pipe);
    }
    free(r->decoders);
    free(r->pts);
    avlog_capture_end(&r->cap);
}

int
render_set(const struct render_request *rq, atomic_uint_fast64_t *progress,
           const atomic_int *cancel, struct render_result *res, char *err,
           size_t errlen)
{
    struct render_run run;
    int rc = -1, saved = 0;

    memset(&run, 0, sizeof(run));
    run.rq = rq;
    run.res = res;
    run.mx.fd = -1;
    avlog_capture_begin(&run.cap);
    res->encoder_failed = 0;
    res->hw_decoded = 0;
    res->damaged = 0;
    res->hw_error[0] = '\0';
    if (progress != NULL)
        atomic_store(progress, 0);
    if (render_run_prepare(&run, err, errlen) == -1 ||
        render_run_start(&run, err, errlen) == -1 ||
        render_run_open(&run, err, errlen) == -1 ||
        render_run_encode(&run, progress, cancel, err, errlen) == -1 ||
        render_run_publish(&run, err, errlen) == -1)
        saved = errno;
    else
        rc = 0;
    render_run_teardown(&run);
    if (rc == -1)
        errno = saved != 0 ? saved : EIO;
    return rc;
}
