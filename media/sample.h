/*
 * sample.h - writes a zip that looks like a nuScenes CAM_FRONT download:
 * JPEGs named samples/CAM_FRONT/<log>__CAM_FRONT__<us>.jpg at ~12 Hz (with
 * jitter, as real captures have), photo-like moving content with sensor
 * noise so encoders have real work, and each frame's global index drawn in
 * with framemark. Entries are stored (JPEG does not deflate) and written in
 * a scrambled order, as zip -r does, so readers must sort.
 */
#ifndef FF_SAMPLE_H
#define FF_SAMPLE_H

#include <stddef.h>
#include <stdint.h>

#define SAMPLE_DEFAULT_FRAMES 240
#define SAMPLE_DEFAULT_WIDTH 1600
#define SAMPLE_DEFAULT_HEIGHT 900
#define SAMPLE_COMMENT "framefarm-sample v1" /* the zip's archive comment */

struct sample_opts {
    int frames;
    int width, height; /* even, width >= FRAMEMARK_MIN_WIDTH */
    uint64_t seed;
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
