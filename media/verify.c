/*
 * verify.c - see verify.h.
 *
 * One pass over the video: packets are decoded (libavcodec, frame and
 * slice threads) and each frame, in presentation order, is compared with
 * the zip's frames in video order (zipframes). Only luma is compared. The
 * sources (media/srcluma.c) are decoded to grey with libjpeg-turbo, mapped
 * from JPEG's full range to the video's range (limited: 16 + y * 219 / 255)
 * and scaled to the video's size with libswscale when the sizes differ.
 * Frame i is checked against sources i-1, i and i+1, so only those three
 * source pictures are held (a ring indexed by frame mod 3): memory does
 * not grow with the length of the video. A frame must be at least min_psnr
 * from its own source (luma PSNR, media/quality.h) and no neighbour may be
 * strictly closer: a swapped, dropped or repeated frame shows up as an
 * order error at that frame. A framefarm sample (by its archive comment)
 * also carries each frame's index in a framemark, read back from the
 * decoded picture. Each frame's presentation time is checked against both
 * timings a job can have: its capture time from the names (relative to
 * the first frame's, as --timing timestamps renders it) and a constant
 * rate from frame 0 (the stream's real base rate, r_frame_rate); a frame is on
 * time when it is less than one tick of the video's time base off. Which
 * timings may pass is the caller's choice; by default either, and the report
 * says which held.
 *
 * Decoder trouble is counted, not fatal: AV_EF_EXPLODE turns concealed
 * bitstream errors into failed calls so that they can be counted, and
 * frames flagged corrupt count too. -1 is kept for "could not check":
 * unreadable video or zip, an undecodable source JPEG, no memory. Every
 * libav object belongs to the calling thread.
 */
#include "media/verify.h"

#include "media/frameluma.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <zip.h>

#include "common/encparams.h"
#include "common/err.h"
#include "common/frametime.h"
#include "media/framemark.h"
#include "media/quality.h"
#include "media/sample.h"
#include "media/srcluma.h"
#include "media/viddec.h"
#include "media/zipframes.h"

#define VERIFY_WINDOW 3 /* sources i-1, i, i+1 */
#define VERIFY_MARK_MOD (1u << FRAMEMARK_BITS)
#define VERIFY_TIME_PROBLEM 120

struct verify_slot {
    uint8_t *luma; /* w x h of the video, the video's range */
    int64_t frame; /* source frame held, or -1 */
};

struct verify {
    const struct zipf_listing *list; /* borrowed */
    struct srcluma *sl;              /* the sources, as the video's luma */
    /* the video's luma geometry, fixed by its first frame */
    int w, h, full_range;
    struct verify_slot win[VERIFY_WINDOW];
    struct frameluma luma; /* decoded frames -> 8-bit luma */
    struct verify_report *rep;
    double min_psnr;
    double psnr_sum;
    uint64_t psnr_n;
    /* Frame times: the stream's time base and average rate (num 0: none),
     * frame 0's pts, and the frames off each timing, the first described. */
    AVRational tb, rate;
    int64_t pts0;
    uint64_t ts_off, cfr_off;
    char ts_problem[VERIFY_TIME_PROBLEM], cfr_problem[VERIFY_TIME_PROBLEM];
    char *err;
    size_t errlen;
};

void
verify_opts_init(struct verify_opts *o)
{
    o->min_psnr = VERIFY_DEFAULT_MIN_PSNR;
    snprintf(o->camera, sizeof(o->camera), "%s", ZIPF_DEFAULT_CAMERA);
    o->timing = VERIFY_TIMING_AUTO;
}

static void verify_problem(struct verify *v, const char *fmt, ...)
    PRINTFLIKE(2, 3);

/* Remember the first problem seen; later ones are only counted. */
static void
verify_problem(struct verify *v, const char *fmt, ...)
{
    va_list ap;
    if (v->rep->first_problem[0] != '\0')
        return;
    va_start(ap, fmt);
    vsnprintf(v->rep->first_problem, sizeof(v->rep->first_problem), fmt, ap);
    va_end(ap);
}

/* Fix the luma geometry and range from the first frame (or a change). */
static int
verify_set_geometry(struct verify *v, int w, int h, int full)
{
    if (w == v->w && h == v->h && full == v->full_range)
        return 0;
    if (srcluma_target(v->sl, w, h, full, v->err, v->errlen) == -1)
        return -1;
    v->w = w;
    v->h = h;
    v->full_range = full;
    for (int k = 0; k < VERIFY_WINDOW; k++) {
        free(v->win[k].luma);
        v->win[k].frame = -1;
        v->win[k].luma = malloc((size_t)w * (size_t)h);
        if (v->win[k].luma == NULL) {
            errf(v->err, v->errlen, "out of memory for %dx%d frames", w, h);
            return -1;
        }
    }
    return 0;
}

/* Source frame i into its window slot. -1 with err. */
static int
verify_load_source(struct verify *v, size_t i)
{
    struct verify_slot *slot = &v->win[i % VERIFY_WINDOW];
    int sw, sh;

    if (slot->frame == (int64_t)i)
        return 0;
    slot->frame = -1;
    if (srcluma_load(v->sl, i, slot->luma, &sw, &sh, v->err, v->errlen) == -1)
        return -1;
    if (i == 0 && v->rep->src_width == 0) {
        v->rep->src_width = sw;
        v->rep->src_height = sh;
    }
    slot->frame = (int64_t)i;
    return 0;
}

/* Frame i's presentation time against its capture time (when the names
 * carry them) and against a constant rate from frame 0. */
static void
verify_times(struct verify *v, const AVFrame *fr, size_t i)
{
    int64_t pts = fr->best_effort_timestamp;
    double at, want;

    if (pts == AV_NOPTS_VALUE) {
        if (v->ts_off++ == 0)
            snprintf(v->ts_problem, sizeof(v->ts_problem),
                     "frame %zu has no time", i);
        if (v->cfr_off++ == 0)
            snprintf(v->cfr_problem, sizeof(v->cfr_problem),
                     "frame %zu has no time", i);
        return;
    }
    if (i == 0)
        v->pts0 = pts;
    at = (double)pts * v->tb.num / v->tb.den;
    if (v->list->by_timestamp) {
        want = (double)(zipf_frame_ts(v->list, i) - zipf_frame_ts(v->list, 0)) /
               ENC_TIMESTAMP_HZ;
        if (frametime_ticks_off(pts, v->tb.num, v->tb.den, want) >= 1.0 &&
            v->ts_off++ == 0)
            snprintf(v->ts_problem, sizeof(v->ts_problem),
                     "frame %zu at %.6f s, its capture time %.6f s", i, at,
                     want);
    }
    if (v->rate.num <= 0) {
        if (v->cfr_off++ == 0)
            snprintf(v->cfr_problem, sizeof(v->cfr_problem),
                     "the video has no frame rate");
        return;
    }
    want = (double)v->pts0 * v->tb.num / v->tb.den +
           (double)i * v->rate.den / v->rate.num;
    if (frametime_ticks_off(pts, v->tb.num, v->tb.den, want) >= 1.0 &&
        v->cfr_off++ == 0)
        snprintf(v->cfr_problem, sizeof(v->cfr_problem),
                 "frame %zu at %.6f s, a constant %.6g fps %.6f s", i, at,
                 av_q2d(v->rate), want);
}

/* Which timing held, of those allowed (want: VERIFY_TIMING_AUTO for
 * either); when none did, the problem. */
static void
verify_timing(struct verify *v, int want)
{
    struct verify_report *rep = v->rep;

    if (want != ENC_TIMING_FPS && v->list->by_timestamp && v->ts_off == 0) {
        rep->timing = ENC_TIMING_TIMESTAMPS;
        return;
    }
    if (want != ENC_TIMING_TIMESTAMPS && v->cfr_off == 0) {
        rep->timing = ENC_TIMING_FPS;
        return;
    }
    rep->timing = VERIFY_TIMING_AUTO;
    if (want == ENC_TIMING_FPS || !v->list->by_timestamp) {
        rep->timing_errors = v->cfr_off;
        verify_problem(v, "frame times: %s", v->cfr_problem);
    } else if (want == ENC_TIMING_TIMESTAMPS) {
        rep->timing_errors = v->ts_off;
        verify_problem(v, "frame times: %s", v->ts_problem);
    } else {
        rep->timing_errors = v->ts_off < v->cfr_off ? v->ts_off : v->cfr_off;
        verify_problem(v,
                       "frame times are neither the capture times (%s) nor "
                       "a constant rate (%s)",
                       v->ts_problem, v->cfr_problem);
    }
}

/* viddec's sink: check decoded frame number rep->video_frames. -1 only
 * when the check itself cannot go on. */
static int
verify_frame(void *arg, const AVFrame *fr)
{
    struct verify *v = arg;
    struct verify_report *rep = v->rep;
    size_t i = (size_t)rep->video_frames++;
    size_t count = v->list->count;
    const uint8_t *luma;
    int stride;
    const uint8_t *pics[VERIFY_WINDOW];
    double own, prev = -1.0, next = -1.0;
    uint32_t mark;

    if (fr->decode_error_flags != 0 || (fr->flags & AV_FRAME_FLAG_CORRUPT)) {
        rep->decode_errors++;
        verify_problem(v, "frame %zu: decoded with errors", i);
    }
    if (i == 0) {
        rep->width = fr->width;
        rep->height = fr->height;
    }
    if (i >= count)
        return 0; /* more frames than sources: reported by the caller */
    verify_times(v, fr, i);
    if (verify_set_geometry(v, fr->width, fr->height,
                            frameluma_full_range(fr)) == -1 ||
        frameluma_get(&v->luma, fr, &luma, &stride, v->err, v->errlen) == -1)
        return -1;
    if ((i > 0 && verify_load_source(v, i - 1) == -1) ||
        verify_load_source(v, i) == -1 ||
        (i + 1 < count && verify_load_source(v, i + 1) == -1))
        return -1;

    /* previous, own, next; a missing neighbour stands in as the own */
    pics[0] = v->win[(i > 0 ? i - 1 : i) % VERIFY_WINDOW].luma;
    pics[1] = v->win[i % VERIFY_WINDOW].luma;
    pics[2] = v->win[(i + 1 < count ? i + 1 : i) % VERIFY_WINDOW].luma;
    own = quality_psnr(luma, stride, pics[1], v->w, v->w, v->h);
    if (i > 0)
        prev = quality_psnr(luma, stride, pics[0], v->w, v->w, v->h);
    if (i + 1 < count)
        next = quality_psnr(luma, stride, pics[2], v->w, v->w, v->h);
    /* the mark, when there is one, is the plainest evidence: first */
    if (rep->marked) {
        if (!framemark_read(luma, stride, fr->width, fr->height, &mark)) {
            rep->mark_errors++;
            verify_problem(v, "frame %zu: no frame mark found", i);
        } else if (mark != (uint32_t)(i % VERIFY_MARK_MOD)) {
            rep->mark_errors++;
            verify_problem(v, "frame %zu: mark reads %" PRIu32, i, mark);
        }
    }
    if (v->psnr_n == 0 || own < rep->psnr_min)
        rep->psnr_min = own;
    v->psnr_sum += own;
    v->psnr_n++;
    if (prev > own || next > own) {
        rep->order_errors++;
        verify_problem(v,
                       "frame %zu: closer to source frame %zu (%.1f dB) "
                       "than to its own (%.1f dB)",
                       i, prev > next ? i - 1 : i + 1, fmax(prev, next), own);
    }
    if (own < v->min_psnr) {
        rep->psnr_errors++;
        verify_problem(v, "frame %zu: %.1f dB against its source, under %.1f",
                       i, own, v->min_psnr);
    }
    return 0;
}

/* viddec's sink: a packet or frame the decoder rejected. */
static void
verify_rejected(void *arg, int averr)
{
    struct verify *v = arg;
    v->rep->decode_errors++;
    verify_problem(v, "after frame %" PRIu64 ": decoder: %s",
                   v->rep->video_frames, av_err2str(averr));
}

/* 1 when the zip's archive comment marks it as a framefarm sample. */
static int
verify_zip_is_sample(const char *zip)
{
    int zerr = 0, marked = 0, len = 0;
    zip_t *za = zip_open(zip, ZIP_RDONLY, &zerr);
    const char *c;

    if (za == NULL)
        return 0;
    c = zip_get_archive_comment(za, &len, ZIP_FL_ENC_RAW);
    marked = c != NULL && (size_t)len == strlen(SAMPLE_COMMENT) &&
             memcmp(c, SAMPLE_COMMENT, (size_t)len) == 0;
    zip_discard(za);
    return marked;
}

int
verify_video(const char *video, const char *zip, const struct verify_opts *o,
             struct verify_report *rep, char *err, size_t errlen)
{
    struct zipf_limits lim;
    struct zipf_listing *list = NULL;
    struct verify v;
    struct viddec vd;
    struct viddec_sink sink = {verify_frame, verify_rejected, &v};
    char why[ERR_MAX];
    int rc = -1;

    memset(rep, 0, sizeof(*rep));
    memset(&v, 0, sizeof(v));
    memset(&vd, 0, sizeof(vd));
    for (int k = 0; k < VERIFY_WINDOW; k++)
        v.win[k].frame = -1;
    v.rep = rep;
    v.min_psnr = o->min_psnr;
    v.err = err;
    v.errlen = errlen;

    zipf_limits_init(&lim);
    snprintf(lim.camera, sizeof(lim.camera), "%s", o->camera);
    if (zipf_list(zip, &lim, &list, why, sizeof(why)) == -1) {
        errf(err, errlen, "%s: %s", zip, why);
        goto out;
    }
    snprintf(rep->camera, sizeof(rep->camera), "%s", list->camera);
    if (o->timing == ENC_TIMING_TIMESTAMPS && !list->by_timestamp) {
        errf(err, errlen,
             "--timing timestamps: the frame names in %s carry no capture "
             "times",
             zip);
        goto out;
    }
    v.list = list;
    rep->zip_frames = list->count;
    if (list->count > 0) {
        rep->src_width = list->frames[0].width;
        rep->src_height = list->frames[0].height;
    }
    rep->marked = verify_zip_is_sample(zip);
    if ((v.sl = srcluma_open(zip, list, err, errlen)) == NULL)
        goto out;

    if (viddec_open(&vd, video, VIDDEC_EXPLODE, err, errlen) == -1)
        goto out;
    snprintf(rep->codec, sizeof(rep->codec), "%s",
             avcodec_get_name(vd.st->codecpar->codec_id));
    rep->fps_num = vd.st->avg_frame_rate.num;
    rep->fps_den = vd.st->avg_frame_rate.den;
    v.tb = vd.st->time_base;
    /* the rate the timestamps are on (a short last set bends the average) */
    v.rate = vd.st->r_frame_rate.num > 0 ? vd.st->r_frame_rate
                                         : vd.st->avg_frame_rate;
    if (viddec_decode(&vd, &sink, err, errlen) == -1)
        goto out;

    if (v.psnr_n > 0)
        rep->psnr_avg = v.psnr_sum / (double)v.psnr_n;
    verify_timing(&v, o->timing);
    if (rep->video_frames != rep->zip_frames)
        verify_problem(&v, "the video has %" PRIu64 " frames, the zip %" PRIu64,
                       rep->video_frames, rep->zip_frames);
    rc = rep->video_frames != rep->zip_frames || rep->mark_errors > 0 ||
                 rep->order_errors > 0 || rep->psnr_errors > 0 ||
                 rep->decode_errors > 0 || rep->timing == VERIFY_TIMING_AUTO
             ? 1
             : 0;
out:
    viddec_close(&vd);
    frameluma_fini(&v.luma);
    for (int k = 0; k < VERIFY_WINDOW; k++)
        free(v.win[k].luma);
    srcluma_close(v.sl);
    zipf_listing_free(list);
    return rc;
}
