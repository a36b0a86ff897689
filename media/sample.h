/*
 * sample.h - writes a zip that looks like a nuScenes CAM_FRONT download:
 * JPEGs named samples/CAM_FRONT/<log>__CAM_FRONT__<us>.jpg at ~12 Hz (with
 * jitter, as real captures have), photo-like moving content with sensor
 * noise so encoders have real work, and each frame's global index drawn in
 * with framemark. With several cameras it looks like a whole download:
 * each camera's frames (its own scene, its own capture times, now and then
 * a missed capture, its own index), plus a few lidar and radar files. Entries
 * are stored (JPEG does not deflate) and written in a scrambled order, as zip
 * -r does, so readers must sort.
 */
#ifndef FF_SAMPLE_H
#define FF_SAMPLE_H

#include <stddef.h>
#include <stdint.h>

#define SAMPLE_DEFAULT_FRAMES 240
#define SAMPLE_DEFAULT_WIDTH 1600
#define SAMPLE_DEFAULT_HEIGHT 900
#define SAMPLE_COMMENT "framefarm-sample v1" /* the zip's archive comment */
#define SAMPLE_MAX_CAMERAS 6                 /* nuScenes has six */

struct sample_opts {
    int frames;        /* of CAM_FRONT; each further camera has one fewer */
    int width, height; /* even, width >= FRAMEMARK_MIN_WIDTH */
    uint64_t seed;
    int cameras; /* 1 (CAM_FRONT) .. SAMPLE_MAX_CAMERAS: then
                    CAM_FRONT_RIGHT, CAM_BACK_RIGHT, CAM_BACK, CAM_BACK_LEFT,
                    CAM_FRONT_LEFT */
};
void sample_opts_init(struct sample_opts *o);

/* Write the zip atomically. 0, or -1 with err. */
int sample_write_zip(const char *zip_path, const struct sample_opts *o,
                     char *err, size_t errlen);

/* Frame `frame` of the sample scene o describes, as one JPEG in memory
 * (what probes and benchmarks decode when they have no zip). 0 with
 * *jpeg (free with sample_jpeg_free) and *len, or -1 with err. */
int sample_jpeg(const struct sample_opts *o, size_t frame, uint8_t **jpeg,
                size_t *len, char *err, size_t errlen);
void sample_jpeg_free(uint8_t *jpeg);

#endif
