/*
 * sample.c - see sample.h.
 *
 * The scene is a road seen from a car's front camera: a sky with drifting
 * clouds over a tree line, a two-lane road in perspective whose asphalt
 * texture and dashed centre line stream toward the viewer, grass and
 * gravel beside it, and cars (soft-edged, shaded, with windows and lights)
 * that overtake, follow or come the other way. Distance haze softens far
 * things, and every pixel gets a deterministic hash noise that changes
 * each frame, as a sensor's does; that noise is what gives the JPEGs their
 * real-camera size (~150-200 KB at 1600x900) and the encoders real work.
 * The picture is drawn straight into full-range 4:2:0 planes and compressed
 * with libjpeg-turbo (tjCompressFromYUVPlanes), so there is no colour
 * conversion pass. The frame mark goes on last, over the noise, with
 * neutral chroma under it. Everything is a pure function of (seed, frame
 * index): the same options always give the same bytes.
 *
 * The zip is written by libzip from callback sources: at zip_close libzip
 * asks for the entries one by one in the order they were added (scrambled),
 * and the generator renders them ahead in batches of a few frames per CPU
 * on short-lived worker threads. Memory is one batch (plus a few words
 * per frame) however many frames are asked for. Workers share only the
 * read-only scene; each owns its planes, its compressor and its slots of the
 * batch.
 */
#include "media/sample.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <turbojpeg.h>
#include <zip.h>

#include "common/err.h"
#include "common/fsutil.h"
#include "media/framemark.h"
#include "media/zipframes.h"

#define SAMPLE_DEFAULT_SEED 1
#define SAMPLE_MAX_FRAMES                                                      \
    ((int)ZIPF_DEFAULT_MAX_ENTRIES) /* zipf_list's cap                         \
                                     */
#define SAMPLE_MAX_DIM 8192
#define SAMPLE_JPEG_QUALITY 90
#define SAMPLE_MAX_THREADS 8
#define SAMPLE_BATCH_PER_THREAD 4
#define SAMPLE_NAME_MAX 128
/* Unix mode in the high half of the external attributes, as zip -r
 * writes it for a regular 0644 file. */
#define SAMPLE_ENTRY_MODE ((zip_uint32_t)(S_IFREG | 0644) << 16)

/* nuScenes naming: one log, microsecond timestamps at ~12 Hz. */
#define SAMPLE_LOG "n008-2018-08-01-15-16-36-0400"
#define SAMPLE_NAME_SUFFIX ".jpg"
#define SAMPLE_TS_BASE 1533151603512404ull
#define SAMPLE_TS_STEP 83333ull
#define SAMPLE_TS_JITTER 2999 /* |jitter| in us; far below a step */
#define SAMPLE_US_PER_S 1000000ull

/* Several cameras (--cameras): each fires at its own offset in the 12 Hz
 * cycle, now and then misses a capture (a gap of two steps), sees its own
 * scene (seed, horizon), and has one frame fewer than the camera before,
 * so that counts tell them apart. A few lidar and radar files come too. */
#define SAMPLE_CAM_TS_OFFSET 13889ull /* us between two cameras' captures */
#define SAMPLE_CAM_DROP_ONE_IN 16
#define SAMPLE_CAM_SEED_STEP 7919u
#define SAMPLE_CAM_HORIZON_STEP 0.05f /* fraction of the height */
#define SAMPLE_SENSOR_FILES 4         /* of each sensor */
#define SAMPLE_SENSOR_BYTES 256
#define SAMPLE_SENSOR_STEP 50000ull /* us: lidar and radar at 20 Hz */

/* splitmix64's mixing constants. */
#define SAMPLE_MIX64_GAMMA 0x9e3779b97f4a7c15ull
#define SAMPLE_MIX64_A 0xbf58476d1ce4e5b9ull
#define SAMPLE_MIX64_B 0x94d049bb133111ebull
#define SAMPLE_SALT_TEX 1u
#define SAMPLE_SALT_NOISE_Y 2u
#define SAMPLE_SALT_NOISE_C 3u
#define SAMPLE_SALT_TS 4u
#define SAMPLE_SALT_CARS 5u
#define SAMPLE_SALT_ORDER 6u
#define SAMPLE_SALT_TREES 7u
#define SAMPLE_SALT_DROP 8u
#define SAMPLE_SALT_SENSOR 9u
#define SAMPLE_BYTE 0xffu
#define SAMPLE_BYTE_BITS 8
#define SAMPLE_GREY 128 /* neutral chroma */

/* Sensor noise: triangular, in luma levels (chroma gets half). */
#define SAMPLE_NOISE_AMP 5
#define SAMPLE_NOISE_CHROMA_DIV 2
#define SAMPLE_NOISE_LEVELS 256 /* one hash byte per sample */
#define SAMPLE_NOISE_PER_HASH 8 /* bytes in a 64-bit hash */

/* Tileable value-noise texture. */
#define SCENE_TEX_BITS 8
#define SCENE_TEX (1 << SCENE_TEX_BITS)
#define SCENE_TEX_MASK (SCENE_TEX - 1)
#define SCENE_TEX_OCTAVES 5
#define SCENE_TEX_FIRST_PERIOD 32 /* lattice period of the coarsest octave */
#define SCENE_TEX_GAIN 0.6f       /* amplitude ratio between octaves */

/* Camera and road, in metres unless said otherwise. */
#define SCENE_HORIZON 0.42f /* horizon row, fraction of the height */
#define SCENE_FOCAL 0.8f    /* focal length, fraction of the width */
#define SCENE_CAM_H 1.5f
#define SCENE_SPEED 1.0f /* per frame: 12 m/s at 12 Hz */
#define SCENE_ROAD_L (-5.25f)
#define SCENE_ROAD_R 1.75f
#define SCENE_CENTRE_LINE (-1.75f)
#define SCENE_EDGE_INSET 0.2f
#define SCENE_SHOULDER 1.6f
#define SCENE_LINE_HALF 0.075f
#define SCENE_DASH_PERIOD 12.0f
#define SCENE_DASH_LEN 4.0f
#define SCENE_FOG_M 110.0f
#define SCENE_MIN_DY 0.5f       /* rows closer to the horizon are sky */
#define SCENE_ASPHALT_TEX 10.0f /* texels per metre */
#define SCENE_GRASS_TEX 3.0f
#define SCENE_ASPHALT_AMP 22.0f
#define SCENE_GRAVEL_AMP 30.0f
#define SCENE_GRASS_AMP 34.0f
#define SCENE_GRASS_TINT 8.5f /* Cb swing with the grass texture */

/* Sky and tree line. */
#define SCENE_CLOUD_SCALE_X 0.12f /* texels per pixel */
#define SCENE_CLOUD_SCALE_Y 0.3f
#define SCENE_CLOUD_DRIFT 0.35f /* texels per frame */
#define SCENE_CLOUD_AMP 20.0f
#define SCENE_TREE_SCALE 0.7f
#define SCENE_TREE_AMP 26.0f
#define SCENE_TREE_MIN 0.02f /* tree line height, fraction of the height */
#define SCENE_TREE_VAR 0.07f
#define SCENE_TREE_WAVES 4
#define SCENE_TREE_NORM 0.25f  /* the waves' sum (amplitudes 1/k) to ~+-0.5 */
#define SCENE_TREE_HAZE 0.5f   /* haze at the tree line's foot */
#define SCENE_TREE_PAN 0.0008f /* fraction of the width per frame */
#define SCENE_TWO_PI 6.2831853f

/* Cars. */
#define SCENE_CARS 5
#define SCENE_CAR_W 1.8f
#define SCENE_CAR_H 1.45f
#define SCENE_CAR_ZMIN 6.0f
#define SCENE_CAR_ZMAX 150.0f
#define SCENE_CAR_SOFT_PX 1.5f /* width of the soft edge */
#define SCENE_CAR_SHADE 0.25f  /* body darkening from top to bottom */
#define SCENE_SHADOW 0.55f
#define SCENE_SHADOW_SOFT 4.0f  /* the shadow's edge, in car edges */
#define SCENE_WINDOW_GLARE 0.3f /* sky reflected in the rear window */

struct sample_ycc {
    float y, cb, cr;
};

static const struct sample_ycc scene_sky_top = {150, 152, 114};
static const struct sample_ycc scene_sky_low = {222, 134, 124};
static const struct sample_ycc scene_haze = {196, 130, 126};
static const struct sample_ycc scene_trees = {62, 114, 120};
static const struct sample_ycc scene_asphalt = {88, 128, 128};
static const struct sample_ycc scene_gravel = {128, 122, 132};
static const struct sample_ycc scene_grass = {98, 104, 116};
static const struct sample_ycc scene_paint = {218, 127, 129};
static const struct sample_ycc scene_window = {42, 131, 125};
static const struct sample_ycc scene_tail = {84, 104, 206};
static const struct sample_ycc scene_head = {236, 124, 131};
static const struct sample_ycc scene_plate = {205, 128, 128};
static const struct sample_ycc scene_bumper = {34, 128, 128};
static const struct sample_ycc scene_bodies[] = {
    {200, 127, 129}, {60, 130, 126},  {82, 112, 186},
    {110, 170, 112}, {150, 126, 130}, {170, 98, 150},
};
#define SCENE_NBODIES (sizeof(scene_bodies) / sizeof(scene_bodies[0]))

/* Car layout in the unit square of its rear view (u across, v down). */
struct scene_rect {
    float u0, u1, v0, v1;
};
static const struct scene_rect car_body = {0.0f, 1.0f, 0.38f, 1.0f};
static const struct scene_rect car_cabin = {0.1f, 0.9f, 0.0f, 0.45f};
static const struct scene_rect car_window = {0.16f, 0.84f, 0.07f, 0.38f};
static const struct scene_rect car_light_l = {0.05f, 0.2f, 0.48f, 0.6f};
static const struct scene_rect car_light_r = {0.8f, 0.95f, 0.48f, 0.6f};
static const struct scene_rect car_plate = {0.4f, 0.6f, 0.62f, 0.74f};
static const struct scene_rect car_bumper = {0.0f, 1.0f, 0.86f, 1.0f};
/* The shadow on the road, relative to the car's box. */
static const struct scene_rect car_shadow = {-0.06f, 1.06f, 0.9f, 1.07f};

struct sample_car {
    float x;      /* lane centre */
    float z0, dz; /* distance at frame 0, change per frame */
    int body;     /* index into scene_bodies */
    int oncoming; /* shows headlights */
};

/* Lanes and speeds relative to the camera car: ahead in our lane,
 * overtaking on the left, oncoming on the left. */
static const struct {
    float x, dz_min, dz_max;
    int oncoming;
} scene_car_kinds[SCENE_CARS] = {
    {0.0f, -0.05f, 0.05f, 0}, {-3.5f, 0.3f, 0.6f, 0}, {-3.5f, -3.2f, -2.2f, 1},
    {-3.5f, -2.8f, -1.8f, 1}, {0.0f, 0.1f, 0.25f, 0},
};

struct sample_scene { /* read-only once built; shared by the workers */
    int width, height;
    uint64_t seed;
    float horizon, focal, cx;
    float tree_freq[SCENE_TREE_WAVES], tree_phase[SCENE_TREE_WAVES];
    struct sample_car cars[SCENE_CARS];
    int8_t noise_y[SAMPLE_NOISE_LEVELS], noise_c[SAMPLE_NOISE_LEVELS];
    uint8_t tex[SCENE_TEX * SCENE_TEX];
};

struct sample_canvas { /* one worker's picture */
    uint8_t *y, *cb, *cr;
    int ystride, cstride;
    float *tree_top; /* per column, the first row of the tree line */
};

/* One JPEG entry: which camera, its index among that camera's frames (what
 * its mark says), its capture time. */
struct sample_shot {
    int cam;
    size_t frame;
    uint64_t ts;
};

struct sample_job { /* one frame of a batch */
    int cam;
    size_t frame;
    unsigned char *jpeg; /* tjAlloc'd */
    unsigned long size;
};

struct sample_worker {
    const struct sample_scene *sc; /* one a camera */
    struct sample_job *jobs;       /* borrowed; this worker's are first, step */
    size_t njobs, first, step;
    pthread_t thread;
    int started;
    int rc;
    char err[ERR_MAX];
};

struct sample_gen {
    const struct sample_scene *sc;   /* one a camera */
    size_t frames;                   /* JPEG entries, every camera's */
    const struct sample_shot *shots; /* entry index -> camera, frame, time */
    size_t *order;                   /* add position -> entry index */
    struct sample_job *batch;
    size_t batch_cap, batch_first, batch_len; /* positions held */
    int nthreads;
    zip_error_t zerr;
    char err[ERR_MAX];
};

struct sample_entry { /* the state of one callback source */
    struct sample_gen *g;
    size_t pos;
    size_t off;
};

static uint64_t
sample_mix64(uint64_t x)
{
    x += SAMPLE_MIX64_GAMMA;
    x = (x ^ (x >> 30)) * SAMPLE_MIX64_A;
    x = (x ^ (x >> 27)) * SAMPLE_MIX64_B;
    return x ^ (x >> 31);
}

static uint64_t
sample_hash(uint64_t seed, uint32_t salt, uint64_t a, uint64_t b)
{
    return sample_mix64(sample_mix64(sample_mix64(seed ^ salt) ^ a) ^ b);
}

/* Uniform in [0, 1). */
static float
sample_unit(uint64_t h)
{
    return (float)(h >> 40) / (float)(1ull << 24);
}

static float
sample_clampf(float v, float lo, float hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

static float
sample_minf(float a, float b)
{
    return a < b ? a : b;
}

static float
sample_maxf(float a, float b)
{
    return a > b ? a : b;
}

static uint8_t
sample_px(float v)
{
    return (uint8_t)(sample_clampf(v, 0.0f, (float)SAMPLE_BYTE) + 0.5f);
}

static float
sample_lerp(float a, float b, float t)
{
    return a + (b - a) * t;
}

static struct sample_ycc
sample_mix(struct sample_ycc a, struct sample_ycc b, float t)
{
    struct sample_ycc r = {sample_lerp(a.y, b.y, t), sample_lerp(a.cb, b.cb, t),
                           sample_lerp(a.cr, b.cr, t)};
    return r;
}

static uint64_t
sample_timestamp(uint64_t seed, size_t frame)
{
    uint64_t h = sample_hash(seed, SAMPLE_SALT_TS, frame, 0);
    int64_t jitter =
        (int64_t)(h % (2 * SAMPLE_TS_JITTER + 1)) - SAMPLE_TS_JITTER;
    return (uint64_t)((int64_t)(SAMPLE_TS_BASE + frame * SAMPLE_TS_STEP) +
                      jitter);
}

static const char *const sample_cameras[SAMPLE_MAX_CAMERAS] = {
    "CAM_FRONT", "CAM_FRONT_RIGHT", "CAM_BACK_RIGHT",
    "CAM_BACK",  "CAM_BACK_LEFT",   "CAM_FRONT_LEFT",
};

/* Camera cam's frames in a zip of o->cameras: one fewer than the camera
 * before. */
static size_t
sample_camera_frames(const struct sample_opts *o, int cam)
{
    return (size_t)(o->frames - cam);
}

/* Every JPEG entry, camera by camera, with its capture time, into shots
 * (o->cameras cameras' frames). A camera alone keeps the plain ~12 Hz with
 * jitter (the zip it always made); among several, each camera fires at its
 * own offset and now and then misses a capture. */
static void
sample_shots(const struct sample_opts *o, struct sample_shot *shots)
{
    size_t e = 0;

    for (int c = 0; c < o->cameras; c++) {
        uint64_t seed = o->seed + (uint64_t)c * SAMPLE_CAM_SEED_STEP;
        size_t slot = 0;
        for (size_t f = 0; f < sample_camera_frames(o, c); f++, slot++) {
            if (o->cameras > 1 && f > 0 &&
                sample_hash(seed, SAMPLE_SALT_DROP, f, 0) %
                        SAMPLE_CAM_DROP_ONE_IN ==
                    0)
                slot++; /* a missed capture */
            shots[e].cam = c;
            shots[e].frame = f;
            shots[e].ts = o->cameras > 1
                              ? sample_timestamp(seed, slot) +
                                    (uint64_t)c * SAMPLE_CAM_TS_OFFSET
                              : sample_timestamp(o->seed, f);
            e++;
        }
    }
}

/* --- the scene --------------------------------------------------------- */

static float
scene_smooth(float t)
{
    return t * t * (3.0f - 2.0f * t);
}

static int
scene_build_texture(struct sample_scene *sc)
{
    float *acc = calloc((size_t)SCENE_TEX * SCENE_TEX, sizeof(*acc));
    float lo = INFINITY, hi = -INFINITY, amp = 1.0f;
    int period = SCENE_TEX_FIRST_PERIOD;

    if (acc == NULL)
        return -1;
    for (int o = 0; o < SCENE_TEX_OCTAVES; o++, period /= 2) {
        int cells = SCENE_TEX / period;
        for (int y = 0; y < SCENE_TEX; y++) {
            int cy = y / period;
            float fy = scene_smooth((float)(y % period) / (float)period);
            for (int x = 0; x < SCENE_TEX; x++) {
                int cx = x / period;
                float fx = scene_smooth((float)(x % period) / (float)period);
                float v[2][2];
                for (int j = 0; j < 2; j++)
                    for (int i = 0; i < 2; i++)
                        v[j][i] = sample_unit(sample_hash(
                            sc->seed, SAMPLE_SALT_TEX,
                            (uint64_t)o * SCENE_TEX + (cx + i) % cells,
                            (uint64_t)(cy + j) % cells));
                acc[y * SCENE_TEX + x] +=
                    amp * sample_lerp(sample_lerp(v[0][0], v[0][1], fx),
                                      sample_lerp(v[1][0], v[1][1], fx), fy);
            }
        }
        amp *= SCENE_TEX_GAIN;
    }
    for (int i = 0; i < SCENE_TEX * SCENE_TEX; i++) {
        lo = sample_minf(lo, acc[i]);
        hi = sample_maxf(hi, acc[i]);
    }
    for (int i = 0; i < SCENE_TEX * SCENE_TEX; i++)
        sc->tex[i] = sample_px((acc[i] - lo) / (hi - lo) * SAMPLE_BYTE);
    free(acc);
    return 0;
}

/* A byte of hash -> triangular noise in [-amp, amp]: the distribution's
 * quantiles, so that one table lookup does per sample. */
static void
scene_noise_table(int8_t *t, int amp)
{
    for (int b = 0; b < SAMPLE_NOISE_LEVELS; b++) {
        float p = ((float)b + 0.5f) / SAMPLE_NOISE_LEVELS;
        float q =
            p < 0.5f ? sqrtf(2.0f * p) - 1.0f : 1.0f - sqrtf(2.0f * (1.0f - p));
        t[b] = (int8_t)lrintf(q * (float)amp);
    }
}

/* 0, or -1 when out of memory. */
static int
scene_init(struct sample_scene *sc, const struct sample_opts *o, int cam)
{
    sc->width = o->width;
    sc->height = o->height;
    sc->seed = o->seed + (uint64_t)cam * SAMPLE_CAM_SEED_STEP;
    sc->horizon = (SCENE_HORIZON + (float)cam * SAMPLE_CAM_HORIZON_STEP) *
                  (float)o->height;
    sc->focal = SCENE_FOCAL * (float)o->width;
    sc->cx = 0.5f * (float)o->width;
    for (int k = 0; k < SCENE_TREE_WAVES; k++) {
        uint64_t h = sample_hash(sc->seed, SAMPLE_SALT_TREES, k, 0);
        /* octaves: 2, 4, 8... waves across, each detuned by up to 2x */
        sc->tree_freq[k] = (float)(2 << k) * (1.0f + sample_unit(h));
        sc->tree_phase[k] = SCENE_TWO_PI * sample_unit(sample_mix64(h));
    }
    for (int c = 0; c < SCENE_CARS; c++) {
        uint64_t h = sample_hash(sc->seed, SAMPLE_SALT_CARS, c, 0);
        struct sample_car *car = &sc->cars[c];
        car->x = scene_car_kinds[c].x;
        car->oncoming = scene_car_kinds[c].oncoming;
        car->dz = sample_lerp(scene_car_kinds[c].dz_min,
                              scene_car_kinds[c].dz_max, sample_unit(h));
        h = sample_mix64(h);
        car->z0 = sample_lerp(SCENE_CAR_ZMIN, SCENE_CAR_ZMAX, sample_unit(h));
        car->body = (int)(sample_mix64(h) % SCENE_NBODIES);
    }
    scene_noise_table(sc->noise_y, SAMPLE_NOISE_AMP);
    scene_noise_table(sc->noise_c, SAMPLE_NOISE_AMP / SAMPLE_NOISE_CHROMA_DIV);
    return scene_build_texture(sc);
}

/* floor() for the texture's coordinates, without a libm call per pixel. */
static int
scene_floor(float v)
{
    int i = (int)v;
    return (float)i > v ? i - 1 : i;
}

/* Bilinear texture lookup, wrapping; about -1..1. */
static float
scene_tex(const struct sample_scene *sc, float u, float v)
{
    int iu = scene_floor(u), iv = scene_floor(v);
    float tu = u - (float)iu, tv = v - (float)iv;
    const uint8_t *r0 = sc->tex + (iv & SCENE_TEX_MASK) * SCENE_TEX;
    const uint8_t *r1 = sc->tex + ((iv + 1) & SCENE_TEX_MASK) * SCENE_TEX;
    int u0 = iu & SCENE_TEX_MASK, u1 = (iu + 1) & SCENE_TEX_MASK;
    float a = sample_lerp(r0[u0], r0[u1], tu);
    float b = sample_lerp(r1[u0], r1[u1], tu);
    return sample_lerp(a, b, tv) / (SAMPLE_BYTE / 2.0f) - 1.0f;
}

/* Coverage of a line of half-width SCENE_LINE_HALF at x0, anti-aliased
 * over one pixel of m_per_px metres. */
static float
scene_line(float x, float x0, float m_per_px)
{
    float d = x > x0 ? x - x0 : x0 - x;
    return sample_clampf((SCENE_LINE_HALF - d) / m_per_px + 0.5f, 0.0f, 1.0f);
}

/* What a row of ground shares: its distance, its scale, and how much of
 * it the centre line's dash pattern covers. */
struct scene_row {
    float zw;       /* world distance (the camera moves forward) */
    float m_per_px; /* metres per pixel across */
    float dash;     /* 0..1 */
    float fog;      /* 1 near, 0 lost in haze */
};

static void
scene_row_init(const struct sample_scene *sc, int frame, float dy,
               struct scene_row *r)
{
    float z = sc->focal * SCENE_CAM_H / dy;
    float d, m_per_row = z / dy;

    r->zw = z + (float)frame * SCENE_SPEED;
    r->m_per_px = z / sc->focal;
    r->fog = expf(-z / SCENE_FOG_M);
    d = fmodf(r->zw, SCENE_DASH_PERIOD);
    r->dash = sample_clampf(
        sample_minf(d, SCENE_DASH_LEN - d) / m_per_row + 0.5f, 0.0f, 1.0f);
}

/* Lateral position of the centre of column x on row r. */
static float
scene_lx(const struct sample_scene *sc, const struct scene_row *r, int x)
{
    return ((float)x + 0.5f - sc->cx) * r->m_per_px;
}

/* The ground at lateral position x on row r, haze included. */
static struct sample_ycc
scene_ground(const struct sample_scene *sc, const struct scene_row *r, float x)
{
    struct sample_ycc c;
    float paint;

    if (x > SCENE_ROAD_L && x < SCENE_ROAD_R) {
        c = scene_asphalt;
        c.y += SCENE_ASPHALT_AMP *
               scene_tex(sc, x * SCENE_ASPHALT_TEX, r->zw * SCENE_ASPHALT_TEX);
    } else if (x > SCENE_ROAD_L - SCENE_SHOULDER &&
               x < SCENE_ROAD_R + SCENE_SHOULDER) {
        c = scene_gravel;
        c.y += SCENE_GRAVEL_AMP *
               scene_tex(sc, x * SCENE_ASPHALT_TEX, r->zw * SCENE_ASPHALT_TEX);
    } else {
        float t = scene_tex(sc, x * SCENE_GRASS_TEX, r->zw * SCENE_GRASS_TEX);
        c = scene_grass;
        c.y += SCENE_GRASS_AMP * t;
        c.cb -= SCENE_GRASS_TINT * t;
    }
    paint = sample_maxf(
        scene_line(x, SCENE_ROAD_L + SCENE_EDGE_INSET, r->m_per_px),
        scene_line(x, SCENE_ROAD_R - SCENE_EDGE_INSET, r->m_per_px));
    if (r->dash > 0.0f)
        paint = sample_maxf(
            paint, r->dash * scene_line(x, SCENE_CENTRE_LINE, r->m_per_px));
    if (paint > 0.0f)
        c = sample_mix(c, scene_paint, paint);
    return sample_mix(scene_haze, c, r->fog);
}

static struct sample_ycc
scene_sky(const struct sample_scene *sc, int frame, int x, int y,
          const float *tree_top)
{
    struct sample_ycc c;
    float t = (float)y / sc->horizon;

    if ((float)y >= tree_top[x]) {
        c = scene_trees;
        c.y += SCENE_TREE_AMP * scene_tex(sc, (float)x * SCENE_TREE_SCALE,
                                          (float)y * SCENE_TREE_SCALE);
        return sample_mix(c, scene_haze, SCENE_TREE_HAZE * t);
    }
    c = sample_mix(scene_sky_top, scene_sky_low, t);
    c.y += SCENE_CLOUD_AMP * scene_tex(sc,
                                       (float)x * SCENE_CLOUD_SCALE_X +
                                           (float)frame * SCENE_CLOUD_DRIFT,
                                       (float)y * SCENE_CLOUD_SCALE_Y);
    return c;
}

static void
scene_background(const struct sample_scene *sc, int frame,
                 struct sample_canvas *cv)
{
    int w = sc->width, h = sc->height;
    float pan = (float)frame * SCENE_TREE_PAN;

    for (int x = 0; x < w; x++) {
        float s = 0.0f, u = (float)x / (float)w + pan;
        for (int k = 0; k < SCENE_TREE_WAVES; k++)
            s += sinf(SCENE_TWO_PI * sc->tree_freq[k] * u + sc->tree_phase[k]) /
                 (float)(k + 1);
        cv->tree_top[x] =
            sc->horizon -
            (float)h * (SCENE_TREE_MIN +
                        SCENE_TREE_VAR * (0.5f + SCENE_TREE_NORM * s));
    }
    for (int y = 0; y < h; y++) {
        uint8_t *yr = cv->y + (size_t)y * cv->ystride;
        uint8_t *cbr = cv->cb + (size_t)(y / 2) * cv->cstride;
        uint8_t *crr = cv->cr + (size_t)(y / 2) * cv->cstride;
        float dy = (float)y + 0.5f - sc->horizon;
        struct scene_row r;

        /* Odd rows carry no chroma (4:2:0): their loops use only the luma
         * of the colour, and the compiler drops the rest. */
        if (dy > SCENE_MIN_DY) {
            scene_row_init(sc, frame, dy, &r);
            for (int x = 0; x < w && (y & 1) != 0; x++)
                yr[x] = sample_px(scene_ground(sc, &r, scene_lx(sc, &r, x)).y);
            for (int x = 0; x < w && (y & 1) == 0; x += 2) {
                struct sample_ycc c = scene_ground(sc, &r, scene_lx(sc, &r, x));
                yr[x] = sample_px(c.y);
                cbr[x / 2] = sample_px(c.cb);
                crr[x / 2] = sample_px(c.cr);
                yr[x + 1] =
                    sample_px(scene_ground(sc, &r, scene_lx(sc, &r, x + 1)).y);
            }
        } else {
            for (int x = 0; x < w && (y & 1) != 0; x++)
                yr[x] = sample_px(scene_sky(sc, frame, x, y, cv->tree_top).y);
            for (int x = 0; x < w && (y & 1) == 0; x += 2) {
                struct sample_ycc c = scene_sky(sc, frame, x, y, cv->tree_top);
                yr[x] = sample_px(c.y);
                cbr[x / 2] = sample_px(c.cb);
                crr[x / 2] = sample_px(c.cr);
                yr[x + 1] =
                    sample_px(scene_sky(sc, frame, x + 1, y, cv->tree_top).y);
            }
        }
    }
}

/* Soft coverage of rect r at (u, v), edges softened over soft_u/soft_v. */
static float
scene_cover(const struct scene_rect *r, float u, float v, float soft_u,
            float soft_v)
{
    float du = sample_minf(u - r->u0, r->u1 - u) / soft_u;
    float dv = sample_minf(v - r->v0, r->v1 - v) / soft_v;
    return sample_clampf(sample_minf(du, dv) + 0.5f, 0.0f, 1.0f);
}

static struct sample_ycc
scene_car_colour(const struct sample_car *car, float u, float v, float su,
                 float sv)
{
    struct sample_ycc c = scene_bodies[car->body], part;
    float a;

    c.y *= 1.0f - SCENE_CAR_SHADE * v;
    a = scene_cover(&car_window, u, v, su, sv);
    if (a > 0.0f) {
        part = scene_window;
        part.y += (scene_sky_low.y - scene_window.y) * SCENE_WINDOW_GLARE *
                  (1.0f - v);
        c = sample_mix(c, part, a);
    }
    part = car->oncoming ? scene_head : scene_tail;
    a = sample_maxf(scene_cover(&car_light_l, u, v, su, sv),
                    scene_cover(&car_light_r, u, v, su, sv));
    if (a > 0.0f)
        c = sample_mix(c, part, a);
    a = scene_cover(&car_plate, u, v, su, sv);
    if (a > 0.0f)
        c = sample_mix(c, scene_plate, a);
    a = scene_cover(&car_bumper, u, v, su, sv);
    if (a > 0.0f)
        c = sample_mix(c, scene_bumper, a);
    return c;
}

static void
scene_blend(struct sample_canvas *cv, int x, int y, struct sample_ycc c,
            float a)
{
    uint8_t *py = cv->y + (size_t)y * cv->ystride + x;
    *py = sample_px(sample_lerp(*py, c.y, a));
    if ((x & 1) == 0 && (y & 1) == 0) {
        size_t ci = (size_t)(y / 2) * cv->cstride + (size_t)(x / 2);
        cv->cb[ci] = sample_px(sample_lerp(cv->cb[ci], c.cb, a));
        cv->cr[ci] = sample_px(sample_lerp(cv->cr[ci], c.cr, a));
    }
}

static float
scene_car_z(const struct sample_car *car, int frame)
{
    float span = SCENE_CAR_ZMAX - SCENE_CAR_ZMIN;
    float z = fmodf(car->z0 - SCENE_CAR_ZMIN + car->dz * (float)frame, span);
    return SCENE_CAR_ZMIN + (z < 0.0f ? z + span : z);
}

static void
scene_draw_car(const struct sample_scene *sc, const struct sample_car *car,
               float z, struct sample_canvas *cv)
{
    float w = SCENE_CAR_W * sc->focal / z, h = SCENE_CAR_H * sc->focal / z;
    float left = sc->cx + car->x * sc->focal / z - w / 2;
    float top = sc->horizon + SCENE_CAM_H * sc->focal / z - h;
    float su = SCENE_CAR_SOFT_PX / w, sv = SCENE_CAR_SOFT_PX / h;
    float fog = expf(-z / SCENE_FOG_M);
    int x0 = (int)floorf(left + car_shadow.u0 * w);
    int x1 = (int)ceilf(left + car_shadow.u1 * w);
    int y0 = (int)floorf(top), y1 = (int)ceilf(top + car_shadow.v1 * h);

    x0 = x0 < 0 ? 0 : x0;
    y0 = y0 < 0 ? 0 : y0;
    x1 = x1 > sc->width ? sc->width : x1;
    y1 = y1 > sc->height ? sc->height : y1;
    for (int y = y0; y < y1; y++) {
        float v = ((float)y + 0.5f - top) / h;
        for (int x = x0; x < x1; x++) {
            float u = ((float)x + 0.5f - left) / w;
            float shadow =
                scene_cover(&car_shadow, u, v, SCENE_SHADOW_SOFT * su,
                            SCENE_SHADOW_SOFT * sv) *
                SCENE_SHADOW;
            float a = sample_maxf(scene_cover(&car_body, u, v, su, sv),
                                  scene_cover(&car_cabin, u, v, su, sv));
            if (shadow > 0.0f) {
                uint8_t *py = cv->y + (size_t)y * cv->ystride + x;
                *py = sample_px(*py * (1.0f - shadow));
            }
            if (a > 0.0f) {
                struct sample_ycc c = scene_car_colour(car, u, v, su, sv);
                scene_blend(cv, x, y, sample_mix(scene_haze, c, fog), a);
            }
        }
    }
}

static void
scene_cars(const struct sample_scene *sc, int frame, struct sample_canvas *cv)
{
    int idx[SCENE_CARS];
    float z[SCENE_CARS];

    for (int c = 0; c < SCENE_CARS; c++) {
        int k = c;
        z[c] = scene_car_z(&sc->cars[c], frame);
        /* insertion sort, far first, so nearer cars paint over */
        while (k > 0 && z[idx[k - 1]] < z[c]) {
            idx[k] = idx[k - 1];
            k--;
        }
        idx[k] = c;
    }
    for (int k = 0; k < SCENE_CARS; k++)
        scene_draw_car(sc, &sc->cars[idx[k]], z[idx[k]], cv);
}

static uint8_t
sample_add_noise(uint8_t v, int n)
{
    int r = v + n;
    return (uint8_t)(r < 0 ? 0 : r > (int)SAMPLE_BYTE ? (int)SAMPLE_BYTE : r);
}

/* Add noise to a row of n samples, one hash byte each. */
static void
scene_noise_row(uint8_t *row, int n, uint64_t key, const int8_t *table)
{
    for (int x = 0; x < n; x += SAMPLE_NOISE_PER_HASH) {
        uint64_t h = sample_mix64(key + (uint64_t)x);
        for (int k = 0; k < SAMPLE_NOISE_PER_HASH && x + k < n; k++) {
            row[x + k] = sample_add_noise(row[x + k], table[h & SAMPLE_BYTE]);
            h >>= SAMPLE_BYTE_BITS;
        }
    }
}

/* The sensor's noise: fresh every frame, on every sample. */
static void
scene_noise(const struct sample_scene *sc, int frame, struct sample_canvas *cv)
{
    uint64_t ky = sample_hash(sc->seed, SAMPLE_SALT_NOISE_Y, frame, 0);
    uint64_t kc = sample_hash(sc->seed, SAMPLE_SALT_NOISE_C, frame, 0);
    int cw = sc->width / 2, ch = sc->height / 2;

    for (int y = 0; y < sc->height; y++)
        scene_noise_row(cv->y + (size_t)y * cv->ystride, sc->width,
                        sample_mix64(ky + (uint64_t)y), sc->noise_y);
    for (int y = 0; y < ch; y++) {
        scene_noise_row(cv->cb + (size_t)y * cv->cstride, cw,
                        sample_mix64(kc + 2 * (uint64_t)y), sc->noise_c);
        scene_noise_row(cv->cr + (size_t)y * cv->cstride, cw,
                        sample_mix64(kc + 2 * (uint64_t)y + 1), sc->noise_c);
    }
}

/* Make the mark grey: chroma under 2x2 luma blocks that the mark painted
 * pure black or white (noise leaves no picture content at exactly those
 * levels over a whole block) becomes neutral. */
static void
scene_grey_mark(const struct sample_scene *sc, struct sample_canvas *cv)
{
    for (int y = 0; y < sc->height / 2; y++) {
        const uint8_t *r0 = cv->y + (size_t)(2 * y) * cv->ystride;
        const uint8_t *r1 = r0 + cv->ystride;
        for (int x = 0; x < sc->width / 2; x++) {
            int v = r0[2 * x];
            if ((v != 0 && v != SAMPLE_BYTE) || r0[2 * x + 1] != v ||
                r1[2 * x] != v || r1[2 * x + 1] != v)
                continue;
            cv->cb[(size_t)y * cv->cstride + (size_t)x] = SAMPLE_GREY;
            cv->cr[(size_t)y * cv->cstride + (size_t)x] = SAMPLE_GREY;
        }
    }
}

static void
scene_render(const struct sample_scene *sc, size_t frame,
             struct sample_canvas *cv)
{
    int f = (int)frame;
    scene_background(sc, f, cv);
    scene_cars(sc, f, cv);
    scene_noise(sc, f, cv);
    framemark_draw(cv->y, cv->ystride, sc->width, sc->height, (uint32_t)frame);
    scene_grey_mark(sc, cv);
}

/* --- workers ------------------------------------------------------------ */

static void *
sample_worker_run(void *arg)
{
    struct sample_worker *wk = arg;
    const struct sample_scene *sc = wk->sc;
    struct sample_canvas cv = {0};
    size_t ysize = (size_t)sc->width * (size_t)sc->height;
    tjhandle tj = NULL;

    wk->rc = -1;
    cv.ystride = sc->width;
    cv.cstride = sc->width / 2;
    cv.y = malloc(ysize + ysize / 2);
    cv.tree_top = malloc((size_t)sc->width * sizeof(*cv.tree_top));
    if (cv.y == NULL || cv.tree_top == NULL) {
        errf(wk->err, sizeof(wk->err), "out of memory for a %dx%d frame",
             sc->width, sc->height);
        goto out;
    }
    cv.cb = cv.y + ysize;
    cv.cr = cv.cb + ysize / 4;
    if ((tj = tjInitCompress()) == NULL) {
        errf(wk->err, sizeof(wk->err), "tjInitCompress: %s",
             tjGetErrorStr2(NULL));
        goto out;
    }
    for (size_t j = wk->first; j < wk->njobs; j += wk->step) {
        struct sample_job *job = &wk->jobs[j];
        const unsigned char *planes[3] = {cv.y, cv.cb, cv.cr};
        int strides[3] = {cv.ystride, cv.cstride, cv.cstride};

        scene_render(&wk->sc[job->cam], job->frame, &cv);
        if (tjCompressFromYUVPlanes(tj, planes, sc->width, strides, sc->height,
                                    TJSAMP_420, &job->jpeg, &job->size,
                                    SAMPLE_JPEG_QUALITY,
                                    TJFLAG_ACCURATEDCT) != 0) {
            errf(wk->err, sizeof(wk->err), "frame %zu: JPEG compression: %s",
                 job->frame, tjGetErrorStr2(tj));
            goto out;
        }
    }
    wk->rc = 0;
out:
    if (tj != NULL)
        tjDestroy(tj);
    free(cv.tree_top);
    free(cv.y);
    return NULL;
}

/* --- the generator behind the zip sources ------------------------------- */

static void
sample_gen_drop_batch(struct sample_gen *g)
{
    for (size_t k = 0; k < g->batch_len; k++) {
        tjFree(g->batch[k].jpeg);
        g->batch[k].jpeg = NULL;
        g->batch[k].size = 0;
    }
    g->batch_len = 0;
}

/* Make the batch hold add position pos (rendering the frames from pos on).
 * 0, or -1 with g->err and g->zerr. */
static int
sample_gen_fill(struct sample_gen *g, size_t pos)
{
    struct sample_worker wk[SAMPLE_MAX_THREADS];
    int rc = 0;

    if (pos >= g->batch_first && pos < g->batch_first + g->batch_len)
        return 0;
    sample_gen_drop_batch(g);
    g->batch_first = pos;
    g->batch_len =
        g->frames - pos < g->batch_cap ? g->frames - pos : g->batch_cap;
    for (size_t k = 0; k < g->batch_len; k++) {
        const struct sample_shot *shot = &g->shots[g->order[pos + k]];
        g->batch[k].cam = shot->cam;
        g->batch[k].frame = shot->frame;
    }
    memset(wk, 0, sizeof(wk));
    for (int t = 0; t < g->nthreads; t++) {
        wk[t].sc = g->sc;
        wk[t].jobs = g->batch;
        wk[t].njobs = g->batch_len;
        wk[t].first = (size_t)t;
        wk[t].step = (size_t)g->nthreads;
        /* worker 0 runs here; a worker whose thread cannot start, too */
        if (t > 0 &&
            pthread_create(&wk[t].thread, NULL, sample_worker_run, &wk[t]) == 0)
            wk[t].started = 1;
    }
    for (int t = 0; t < g->nthreads; t++)
        if (!wk[t].started)
            sample_worker_run(&wk[t]);
    for (int t = 0; t < g->nthreads; t++) {
        if (wk[t].started)
            pthread_join(wk[t].thread, NULL);
        if (wk[t].rc != 0 && rc == 0) {
            errf(g->err, sizeof(g->err), "%s", wk[t].err);
            rc = -1;
        }
    }
    if (rc != 0) {
        sample_gen_drop_batch(g);
        zip_error_set(&g->zerr, ZIP_ER_INTERNAL, 0);
    }
    return rc;
}

static zip_int64_t
sample_source_cb(void *ud, void *data, zip_uint64_t len, zip_source_cmd_t cmd)
{
    struct sample_entry *e = ud;
    struct sample_gen *g = e->g;
    const struct sample_job *job;
    zip_stat_t *st;
    size_t n;

    switch (cmd) {
    case ZIP_SOURCE_SUPPORTS:
        return zip_source_make_command_bitmap(
            ZIP_SOURCE_OPEN, ZIP_SOURCE_READ, ZIP_SOURCE_CLOSE, ZIP_SOURCE_STAT,
            ZIP_SOURCE_ERROR, ZIP_SOURCE_FREE, -1);
    case ZIP_SOURCE_STAT:
        if (len < sizeof(*st) || sample_gen_fill(g, e->pos) == -1)
            return -1;
        st = data;
        zip_stat_init(st);
        st->valid = ZIP_STAT_SIZE | ZIP_STAT_MTIME;
        st->size = g->batch[e->pos - g->batch_first].size;
        st->mtime = (time_t)(g->shots[g->order[e->pos]].ts / SAMPLE_US_PER_S);
        return (zip_int64_t)sizeof(*st);
    case ZIP_SOURCE_OPEN:
        e->off = 0;
        return sample_gen_fill(g, e->pos);
    case ZIP_SOURCE_READ:
        if (sample_gen_fill(g, e->pos) == -1)
            return -1;
        job = &g->batch[e->pos - g->batch_first];
        n = job->size - e->off;
        if (n > len)
            n = (size_t)len;
        memcpy(data, job->jpeg + e->off, n);
        e->off += n;
        return (zip_int64_t)n;
    case ZIP_SOURCE_CLOSE:
    case ZIP_SOURCE_FREE:
        return 0;
    case ZIP_SOURCE_ERROR:
        return zip_error_to_data(&g->zerr, data, len);
    default:
        zip_error_set(&g->zerr, ZIP_ER_OPNOTSUPP, 0);
        return -1;
    }
}

/* A scrambled, seed-determined order in which entries are added. */
static void
sample_shuffle(size_t *order, size_t n, uint64_t seed)
{
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)(sample_hash(seed, SAMPLE_SALT_ORDER, i, 0) % i);
        size_t t = order[i - 1];
        order[i - 1] = order[j];
        order[j] = t;
    }
}

static int
sample_check_opts(const struct sample_opts *o, char *err, size_t errlen)
{
    if (o->frames < 1 || o->frames > SAMPLE_MAX_FRAMES) {
        errf(err, errlen, "frames must be 1..%d, not %d", SAMPLE_MAX_FRAMES,
             o->frames);
        return -1;
    }
    if (o->cameras < 1 || o->cameras > SAMPLE_MAX_CAMERAS ||
        o->frames < o->cameras ||
        (size_t)o->frames * (size_t)o->cameras + 2 * SAMPLE_SENSOR_FILES >
            (size_t)SAMPLE_MAX_FRAMES) {
        errf(err, errlen,
             "cameras must be 1..%d, with at least as many frames, and %d "
             "entries at most in all",
             SAMPLE_MAX_CAMERAS, SAMPLE_MAX_FRAMES);
        return -1;
    }
    if (o->width % 2 != 0 || o->height % 2 != 0 || o->width > SAMPLE_MAX_DIM ||
        o->height > SAMPLE_MAX_DIM || !framemark_fits(o->width, o->height)) {
        errf(err, errlen,
             "bad size %dx%d: even, %d..%d wide, at most %d high, and tall "
             "enough for the frame mark",
             o->width, o->height, FRAMEMARK_MIN_WIDTH, SAMPLE_MAX_DIM,
             SAMPLE_MAX_DIM);
        return -1;
    }
    return 0;
}

void
sample_opts_init(struct sample_opts *o)
{
    o->frames = SAMPLE_DEFAULT_FRAMES;
    o->width = SAMPLE_DEFAULT_WIDTH;
    o->height = SAMPLE_DEFAULT_HEIGHT;
    o->seed = SAMPLE_DEFAULT_SEED;
    o->cameras = 1;
}

/* Add src as a stored, 0644 entry. Its index, or -1 with err (src
 * freed). */
static zip_int64_t
sample_add_entry(zip_t *za, const char *name, zip_source_t *src,
                 const char *tmp, char *err, size_t errlen)
{
    zip_int64_t idx;

    if (src == NULL) {
        errf(err, errlen, "%s: %s", tmp, zip_strerror(za));
        return -1;
    }
    idx = zip_file_add(za, name, src, ZIP_FL_ENC_GUESS);
    if (idx < 0) {
        errf(err, errlen, "%s: adding %s: %s", tmp, name, zip_strerror(za));
        zip_source_free(src);
        return -1;
    }
    if (zip_set_file_compression(za, (zip_uint64_t)idx, ZIP_CM_STORE, 0) != 0 ||
        zip_file_set_external_attributes(
            za, (zip_uint64_t)idx, 0, ZIP_OPSYS_UNIX, SAMPLE_ENTRY_MODE) != 0) {
        errf(err, errlen, "%s: %s: %s", tmp, name, zip_strerror(za));
        return -1;
    }
    return idx;
}

/* A nuScenes download's other sensors: a few lidar sweeps and radar
 * returns (bytes that are no JPEG), from data (2 * SAMPLE_SENSOR_FILES *
 * SAMPLE_SENSOR_BYTES, kept until the zip is closed). 0, or -1 with err. */
static int
sample_add_sensors(zip_t *za, const struct sample_opts *o, uint8_t *data,
                   const char *tmp, char *err, size_t errlen)
{
    static const struct {
        const char *sensor, *ext;
    } kinds[] = {{"LIDAR_TOP", ".pcd.bin"}, {"RADAR_FRONT", ".pcd"}};

    for (size_t k = 0; k < 2 * SAMPLE_SENSOR_FILES; k++) {
        char name[SAMPLE_NAME_MAX];
        uint8_t *b = data + k * SAMPLE_SENSOR_BYTES;
        uint64_t ts = SAMPLE_TS_BASE + (k / 2) * SAMPLE_SENSOR_STEP;
        zip_int64_t idx;
        for (size_t i = 0; i < SAMPLE_SENSOR_BYTES; i++)
            b[i] = (uint8_t)sample_hash(o->seed, SAMPLE_SALT_SENSOR, k, i);
        b[0] = '#'; /* never a JPEG's 0xff */
        snprintf(name, sizeof(name),
                 "samples/%s/" SAMPLE_LOG "__%s__%016" PRIu64 "%s",
                 kinds[k % 2].sensor, kinds[k % 2].sensor, ts,
                 kinds[k % 2].ext);
        idx = sample_add_entry(za, name,
                               zip_source_buffer(za, b, SAMPLE_SENSOR_BYTES, 0),
                               tmp, err, errlen);
        if (idx == -1)
            return -1;
        /* its capture time, as the frames' entries have theirs */
        if (zip_file_set_mtime(za, (zip_uint64_t)idx,
                               (time_t)(ts / SAMPLE_US_PER_S), 0) != 0) {
            errf(err, errlen, "%s: %s: %s", tmp, name, zip_strerror(za));
            return -1;
        }
    }
    return 0;
}

int
sample_write_zip(const char *zip_path, const struct sample_opts *o, char *err,
                 size_t errlen)
{
    struct sample_scene *sc = NULL;
    struct sample_shot *shots = NULL;
    struct sample_gen g;
    struct sample_entry *entries = NULL;
    uint8_t *sensors = NULL;
    zip_t *za = NULL;
    char tmp[FS_PATH_MAX];
    int tmp_made = 0, rc = -1, zcode = 0;
    long ncpu;

    memset(&g, 0, sizeof(g));
    zip_error_init(&g.zerr);
    if (sample_check_opts(o, err, errlen) == -1)
        goto out;
    if (snprintf(tmp, sizeof(tmp), "%s.tmp-%ld", zip_path, (long)getpid()) >=
        (int)sizeof(tmp)) {
        errf(err, errlen, "%s: path too long", zip_path);
        goto out;
    }
    ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    g.nthreads = ncpu < 1                    ? 1
                 : ncpu > SAMPLE_MAX_THREADS ? SAMPLE_MAX_THREADS
                                             : (int)ncpu;
    for (int c = 0; c < o->cameras; c++)
        g.frames += sample_camera_frames(o, c);
    g.batch_cap = (size_t)g.nthreads * SAMPLE_BATCH_PER_THREAD;
    sc = calloc((size_t)o->cameras, sizeof(*sc));
    shots = calloc(g.frames, sizeof(*shots));
    g.order = malloc(g.frames * sizeof(*g.order));
    g.batch = calloc(g.batch_cap, sizeof(*g.batch));
    entries = calloc(g.frames, sizeof(*entries));
    sensors = malloc(2 * SAMPLE_SENSOR_FILES * SAMPLE_SENSOR_BYTES);
    if (sc == NULL || shots == NULL || g.order == NULL || g.batch == NULL ||
        entries == NULL || sensors == NULL) {
        errf(err, errlen, "out of memory for %d frames", o->frames);
        goto out;
    }
    for (int c = 0; c < o->cameras; c++) {
        if (scene_init(&sc[c], o, c) == -1) {
            errf(err, errlen, "out of memory for %d frames", o->frames);
            goto out;
        }
    }
    sample_shots(o, shots);
    g.sc = sc;
    g.shots = shots;
    sample_shuffle(g.order, g.frames, o->seed);

    za = zip_open(tmp, ZIP_CREATE | ZIP_TRUNCATE, &zcode);
    if (za == NULL) {
        zip_error_t ze;
        zip_error_init_with_code(&ze, zcode);
        errf(err, errlen, "%s: %s", tmp, zip_error_strerror(&ze));
        zip_error_fini(&ze);
        goto out;
    }
    tmp_made = 1;
    for (size_t pos = 0; pos < g.frames; pos++) {
        const struct sample_shot *shot = &shots[g.order[pos]];
        const char *cam = sample_cameras[shot->cam];
        char name[SAMPLE_NAME_MAX];

        snprintf(name, sizeof(name),
                 "samples/%s/" SAMPLE_LOG
                 "__%s__%016" PRIu64 SAMPLE_NAME_SUFFIX,
                 cam, cam, shot->ts);
        entries[pos].g = &g;
        entries[pos].pos = pos;
        if (sample_add_entry(
                za, name,
                zip_source_function(za, sample_source_cb, &entries[pos]), tmp,
                err, errlen) == -1)
            goto out;
    }
    if (o->cameras > 1 &&
        sample_add_sensors(za, o, sensors, tmp, err, errlen) == -1)
        goto out;
    if (zip_set_archive_comment(za, SAMPLE_COMMENT,
                                (zip_uint16_t)strlen(SAMPLE_COMMENT)) != 0) {
        errf(err, errlen, "%s: %s", tmp, zip_strerror(za));
        goto out;
    }
    if (zip_close(za) != 0) {
        if (g.err[0] != '\0')
            errf(err, errlen, "%s: %s", zip_path, g.err);
        else
            errf(err, errlen, "%s: %s", tmp, zip_strerror(za));
        goto out;
    }
    za = NULL;
    if (fs_fsync_path(tmp) == -1 || rename(tmp, zip_path) == -1 ||
        fs_fsync_parent(zip_path) == -1) {
        errf(err, errlen, "%s: %s", zip_path, strerror(errno));
        goto out;
    }
    tmp_made = 0;
    rc = 0;
out:
    if (za != NULL)
        zip_discard(za);
    if (tmp_made)
        unlink(tmp);
    sample_gen_drop_batch(&g);
    zip_error_fini(&g.zerr);
    free(entries);
    free(g.batch);
    free(g.order);
    free(shots);
    free(sensors);
    free(sc);
    return rc;
}

int
sample_jpeg(const struct sample_opts *o, size_t frame, uint8_t **jpeg,
            size_t *len, char *err, size_t errlen)
{
    struct sample_scene *sc = NULL;
    struct sample_job job = {.frame = frame};
    struct sample_worker wk;
    int rc = -1;

    *jpeg = NULL;
    *len = 0;
    if (sample_check_opts(o, err, errlen) == -1)
        return -1;
    sc = malloc(sizeof(*sc));
    if (sc == NULL || scene_init(sc, o, 0) == -1) {
        errf(err, errlen, "out of memory for a %dx%d frame", o->width,
             o->height);
        goto out;
    }
    memset(&wk, 0, sizeof(wk));
    wk.sc = sc;
    wk.jobs = &job;
    wk.njobs = 1;
    wk.step = 1;
    sample_worker_run(&wk);
    if (wk.rc != 0) {
        errf(err, errlen, "%s", wk.err);
        tjFree(job.jpeg);
        goto out;
    }
    *jpeg = job.jpeg;
    *len = job.size;
    rc = 0;
out:
    free(sc);
    return rc;
}

void
sample_jpeg_free(uint8_t *jpeg)
{
    tjFree(jpeg);
}
