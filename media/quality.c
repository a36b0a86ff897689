/*
 * quality.c - see quality.h.
 *
 * The metrics. quality_sse sums each row in 32 bits (QUALITY_SSE_CHUNK
 * pixels at most, so a chunk cannot overflow) and the rows in 64.
 * quality_ssim filters with the separable Gaussian: each input row is
 * filtered horizontally into a ring of QUALITY_SSIM_WINDOW rows of the
 * five moments (a, b, a^2, b^2, ab), and once the ring is full each new
 * row yields one row of window means by filtering the ring vertically.
 * Memory is a few rows, not planes; floats are exact for the inputs and
 * their products (< 2^24), and each row's map is summed in double.
 *
 * quality_video keeps one source picture at a time (the video's frames
 * come in presentation order, frame i against source i). Decoder trouble
 * is counted in the report; -1 means the scoring itself could not go on.
 */
#include "media/quality.h"

#include "media/frameluma.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <libavutil/frame.h>

#include "common/err.h"
#include "media/srcluma.h"
#include "media/viddec.h"

#define QUALITY_PEAK 255.0
#define QUALITY_SSE_CHUNK 65536 /* 65536 * 255^2 < 2^32 */
#define QUALITY_SSIM_SIGMA 1.5
#define QUALITY_SSIM_K1 0.01
#define QUALITY_SSIM_K2 0.03
#define QUALITY_LANES 8 /* floats per block: whole SIMD vectors at -O2 */
#define QUALITY_MAX_DIM 16384

/* The five moments the SSIM windows average, one float row each. */
enum quality_moment { QM_A, QM_B, QM_AA, QM_BB, QM_AB, QM_COUNT };

uint64_t
quality_sse(const uint8_t *a, ptrdiff_t astride, const uint8_t *b,
            ptrdiff_t bstride, int w, int h)
{
    uint64_t sse = 0;

    for (int y = 0; y < h; y++) {
        const uint8_t *ra = a + y * astride, *rb = b + y * bstride;
        for (int x0 = 0; x0 < w; x0 += QUALITY_SSE_CHUNK) {
            int x1 = w - x0 < QUALITY_SSE_CHUNK ? w : x0 + QUALITY_SSE_CHUNK;
            uint32_t s = 0;
            for (int x = x0; x < x1; x++) {
                int d = ra[x] - rb[x];
                s += (uint32_t)(d * d);
            }
            sse += s;
        }
    }
    return sse;
}

double
quality_psnr_sse(uint64_t sse, uint64_t pixels)
{
    double mse = (double)sse / (double)pixels;
    if (sse == 0 || pixels == 0)
        return QUALITY_PSNR_CAP;
    return fmin(QUALITY_PSNR_CAP,
                10.0 * log10(QUALITY_PEAK * QUALITY_PEAK / mse));
}

double
quality_psnr(const uint8_t *a, ptrdiff_t astride, const uint8_t *b,
             ptrdiff_t bstride, int w, int h)
{
    return quality_psnr_sse(quality_sse(a, astride, b, bstride, w, h),
                            (uint64_t)w * (uint64_t)h);
}

/* The normalised Gaussian window. */
static void
quality_gauss(float g[QUALITY_SSIM_WINDOW])
{
    const int half = QUALITY_SSIM_WINDOW / 2;
    double sum = 0.0, v[QUALITY_SSIM_WINDOW];

    for (int k = 0; k < QUALITY_SSIM_WINDOW; k++) {
        double d = (double)(k - half);
        v[k] = exp(-d * d / (2.0 * QUALITY_SSIM_SIGMA * QUALITY_SSIM_SIGMA));
        sum += v[k];
    }
    for (int k = 0; k < QUALITY_SSIM_WINDOW; k++)
        g[k] = (float)(v[k] / sum);
}

/* out[x] = sum_k g[k] in[x + k] for x < n (a multiple of QUALITY_LANES),
 * folding the symmetric taps. */
static void
quality_hfilter(const float *restrict in, float *restrict out, int n,
                const float g[QUALITY_SSIM_WINDOW])
{
    const int half = QUALITY_SSIM_WINDOW / 2;

    for (int x = 0; x < n; x += QUALITY_LANES) {
        float acc[QUALITY_LANES];
        for (int l = 0; l < QUALITY_LANES; l++)
            acc[l] = g[half] * in[x + half + l];
        for (int k = 0; k < half; k++) {
            const float *lo = in + x + k;
            const float *hi = in + x + QUALITY_SSIM_WINDOW - 1 - k;
            for (int l = 0; l < QUALITY_LANES; l++)
                acc[l] += g[k] * (lo[l] + hi[l]);
        }
        for (int l = 0; l < QUALITY_LANES; l++)
            out[x + l] = acc[l];
    }
}

/* out[x] = sum_k g[k] rows[k][x] for x < n (a multiple of QUALITY_LANES). */
static void
quality_vfilter(const float *const rows[QUALITY_SSIM_WINDOW],
                float *restrict out, int n, const float g[QUALITY_SSIM_WINDOW])
{
    const int half = QUALITY_SSIM_WINDOW / 2;

    for (int x = 0; x < n; x += QUALITY_LANES) {
        float acc[QUALITY_LANES];
        for (int l = 0; l < QUALITY_LANES; l++)
            acc[l] = g[half] * rows[half][x + l];
        for (int k = 0; k < half; k++) {
            const float *lo = rows[k] + x;
            const float *hi = rows[QUALITY_SSIM_WINDOW - 1 - k] + x;
            for (int l = 0; l < QUALITY_LANES; l++)
                acc[l] += g[k] * (lo[l] + hi[l]);
        }
        for (int l = 0; l < QUALITY_LANES; l++)
            out[x + l] = acc[l];
    }
}

/* SSIM of the window whose means are ma, mb, maa, mbb, mab. */
static inline float
quality_ssim_at(float ma, float mb, float maa, float mbb, float mab)
{
    const float c1 = (float)((QUALITY_SSIM_K1 * QUALITY_PEAK) *
                             (QUALITY_SSIM_K1 * QUALITY_PEAK));
    const float c2 = (float)((QUALITY_SSIM_K2 * QUALITY_PEAK) *
                             (QUALITY_SSIM_K2 * QUALITY_PEAK));
    float a2 = ma * ma, b2 = mb * mb, ab = ma * mb;

    return ((2.0f * ab + c1) * (2.0f * (mab - ab) + c2)) /
           ((a2 + b2 + c1) * ((maa - a2) + (mbb - b2) + c2));
}

/* The SSIM map's sum over one row of n window means. */
static double
quality_ssim_row(const float *const mu[QM_COUNT], int n)
{
    const float *ma = mu[QM_A], *mb = mu[QM_B], *maa = mu[QM_AA];
    const float *mbb = mu[QM_BB], *mab = mu[QM_AB];
    float acc[QUALITY_LANES] = {0};
    double sum = 0.0;
    int x = 0;

    for (; x + QUALITY_LANES <= n; x += QUALITY_LANES)
        for (int l = 0; l < QUALITY_LANES; l++)
            acc[l] += quality_ssim_at(ma[x + l], mb[x + l], maa[x + l],
                                      mbb[x + l], mab[x + l]);
    for (; x < n; x++)
        sum += quality_ssim_at(ma[x], mb[x], maa[x], mbb[x], mab[x]);
    for (int l = 0; l < QUALITY_LANES; l++)
        sum += acc[l];
    return sum;
}

int
quality_ssim(const uint8_t *a, ptrdiff_t astride, const uint8_t *b,
             ptrdiff_t bstride, int w, int h, double *ssim)
{
    const int win = QUALITY_SSIM_WINDOW;
    float g[QUALITY_SSIM_WINDOW];
    float *mem = NULL, *in, *ring, *mu[QM_COUNT];
    const float *rows[QUALITY_SSIM_WINDOW];
    int ow = w - win + 1, oh = h - win + 1, rc = -1;
    int opad, ipad; /* ow and w rounded up for whole lane blocks */
    size_t floats;
    double total = 0.0;

    if (w < win || h < win) {
        errno = EINVAL;
        goto out;
    }
    opad = (ow + QUALITY_LANES - 1) / QUALITY_LANES * QUALITY_LANES;
    ipad = opad + win - 1;
    /* in: one input row of each moment (zero past w); ring: win filtered
     * rows of each; mu: one row of window means of each */
    floats = (size_t)QM_COUNT *
             ((size_t)ipad + (size_t)opad * (size_t)win + (size_t)opad);
    mem = calloc(floats, sizeof(*mem));
    if (mem == NULL)
        goto out;
    in = mem;
    ring = in + (size_t)QM_COUNT * ipad;
    for (int q = 0; q < QM_COUNT; q++)
        mu[q] = ring + (size_t)QM_COUNT * opad * win + (size_t)opad * q;
    quality_gauss(g);

    for (int y = 0; y < h; y++) {
        const uint8_t *ra = a + y * astride, *rb = b + y * bstride;
        float *slot = ring + (size_t)(y % win) * QM_COUNT * opad;

        for (int x = 0; x < w; x++) {
            float fa = ra[x], fb = rb[x];
            in[QM_A * ipad + x] = fa;
            in[QM_B * ipad + x] = fb;
            in[QM_AA * ipad + x] = fa * fa;
            in[QM_BB * ipad + x] = fb * fb;
            in[QM_AB * ipad + x] = fa * fb;
        }
        for (int q = 0; q < QM_COUNT; q++)
            quality_hfilter(in + (size_t)q * ipad, slot + (size_t)q * opad,
                            opad, g);
        if (y < win - 1)
            continue;
        for (int q = 0; q < QM_COUNT; q++) {
            /* rows y-win+1 .. y of the ring, oldest first */
            for (int k = 0; k < win; k++)
                rows[k] = ring +
                          (size_t)((y - win + 1 + k) % win) * QM_COUNT * opad +
                          (size_t)q * opad;
            quality_vfilter(rows, mu[q], opad, g);
        }
        total += quality_ssim_row((const float *const *)mu, ow);
    }
    *ssim = total / ((double)ow * (double)oh);
    rc = 0;
out:
    free(mem);
    return rc;
}

/* The scoring of one video: the source in hand and the running sums. */
struct quality_state {
    const struct zipf_listing *list; /* borrowed */
    size_t count;                    /* frames to score */
    struct srcluma *sl;              /* the sources, as the video's luma */
    int w, h, full_range;            /* the video's, from its first frame */
    uint8_t *src;                    /* w x h, the video's range */
    struct frameluma luma;           /* decoded frames -> 8-bit luma */
    struct quality_report *rep;
    double psnr_sum, ssim_sum;
    char *err;
    size_t errlen;
};

/* Fix the geometry and range from the first frame (or a change). */
static int
quality_set_geometry(struct quality_state *s, int w, int h, int full)
{
    if (s->src != NULL && w == s->w && h == s->h && full == s->full_range)
        return 0;
    if (w < QUALITY_SSIM_WINDOW || h < QUALITY_SSIM_WINDOW ||
        w > QUALITY_MAX_DIM || h > QUALITY_MAX_DIM) {
        errf(s->err, s->errlen, "video frame size %dx%d out of range", w, h);
        return -1;
    }
    if (srcluma_target(s->sl, w, h, full, s->err, s->errlen) == -1)
        return -1;
    s->w = w;
    s->h = h;
    s->full_range = full;
    free(s->src);
    s->src = malloc((size_t)w * (size_t)h);
    if (s->src == NULL) {
        errf(s->err, s->errlen, "out of memory for %dx%d frames", w, h);
        return -1;
    }
    return 0;
}

/* viddec's sink: score decoded frame number rep->frames. -1 when scoring
 * cannot go on. */
static int
quality_frame(void *arg, const AVFrame *fr)
{
    struct quality_state *s = arg;
    struct quality_report *rep = s->rep;
    size_t i = (size_t)rep->frames++;
    const uint8_t *luma;
    int stride;
    double psnr, ssim;

    if (fr->decode_error_flags != 0 || (fr->flags & AV_FRAME_FLAG_CORRUPT))
        rep->decode_errors++;
    if (i == 0) {
        rep->width = fr->width;
        rep->height = fr->height;
    }
    if (i >= s->count)
        return 0;
    if (quality_set_geometry(s, fr->width, fr->height,
                             frameluma_full_range(fr)) == -1 ||
        frameluma_get(&s->luma, fr, &luma, &stride, s->err, s->errlen) == -1 ||
        srcluma_load(s->sl, i, s->src, NULL, NULL, s->err, s->errlen) == -1)
        return -1;
    psnr = quality_psnr(luma, stride, s->src, s->w, s->w, s->h);
    if (quality_ssim(luma, stride, s->src, s->w, s->w, s->h, &ssim) == -1) {
        errf(s->err, s->errlen, "frame %zu: SSIM: %s", i, strerror(errno));
        return -1;
    }
    if (rep->scored == 0 || psnr < rep->psnr_min_db)
        rep->psnr_min_db = psnr;
    s->psnr_sum += psnr;
    s->ssim_sum += ssim;
    rep->scored++;
    return 0;
}

/* viddec's sink: a packet or frame the decoder rejected. */
static void
quality_rejected(void *arg, int averr)
{
    struct quality_state *s = arg;
    (void)averr;
    s->rep->decode_errors++;
}

int
quality_video(const char *video, const char *zip,
              const struct zipf_listing *list, size_t count,
              struct quality_report *rep, char *err, size_t errlen)
{
    struct quality_state s;
    struct viddec vd;
    struct viddec_sink sink = {quality_frame, quality_rejected, &s};
    int rc = -1;

    memset(rep, 0, sizeof(*rep));
    memset(&s, 0, sizeof(s));
    memset(&vd, 0, sizeof(vd));
    s.list = list;
    s.count = count < list->count ? count : list->count;
    s.rep = rep;
    s.err = err;
    s.errlen = errlen;

    if ((s.sl = srcluma_open(zip, list, err, errlen)) == NULL)
        goto out;
    if (viddec_open(&vd, video, 0, err, errlen) == -1 ||
        viddec_decode(&vd, &sink, err, errlen) == -1)
        goto out;
    if (rep->scored > 0) {
        rep->psnr_db = s.psnr_sum / (double)rep->scored;
        rep->ssim = s.ssim_sum / (double)rep->scored;
    }
    rc = 0;
out:
    viddec_close(&vd);
    frameluma_fini(&s.luma);
    free(s.src);
    srcluma_close(s.sl);
    return rc;
}
