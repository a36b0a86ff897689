/*
 * manifest.h - what one set is: which frames (by zip entry name, size and
 * CRC-32), where they sit in the whole video, and how to encode them.
 * Written by the ambassador to jobs/<job>/sets/<id>.json and sent inside
 * every assign; a node trusts nothing in it that manifest_from_json has not
 * checked. Pure (no I/O).
 */
#ifndef FF_MANIFEST_H
#define FF_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "common/encparams.h"
#include "common/ident.h"

#define MANIFEST_VERSION 1
/* A manifest whose frames carry their times (encode.timing "timestamps"):
 * a node that only knows version 1 refuses it rather than render it at a
 * constant rate. */
#define MANIFEST_VERSION_TIMESTAMPS 2
#define MANIFEST_MAX_FRAMES 4096
#define MANIFEST_MAX_NAME 1024
#define MANIFEST_MAX_BYTES (1u << 20)
#define MANIFEST_MAX_SETS 1000000u
#define MANIFEST_MAX_FRAME_BYTES (256ull << 20)
#define MANIFEST_MAX_PTS (1ull << 40) /* us: 12.7 days from the first frame */

struct manifest_frame {
    char *name;    /* zip entry name, owned */
    uint64_t size; /* uncompressed bytes */
    uint32_t crc;  /* CRC-32 as stored in the zip */
    /* enc.timing "timestamps": the frame's presentation time, in us from
     * the job's first frame (its capture time minus the first's); strictly
     * increasing along the set. Else 0, and not written. */
    uint64_t pts;
};

struct manifest {
    char job[IDENT_MAX + 1];
    uint32_t set;   /* 0..S-1 */
    uint32_t sets;  /* S, the job's number of sets */
    uint64_t epoch; /* assignment epoch; 0 in the file written at split */
    char *zip;      /* zip path relative to the share root, owned */
    uint64_t first; /* global index of frames[0] */
    uint64_t total; /* frames in the whole job */
    size_t count;
    struct manifest_frame *frames; /* owned */
    struct enc_params enc;
};

struct manifest *manifest_new(void);
void manifest_free(struct manifest *m);
/* Set frame i (i < count, frames allocated by manifest_alloc_frames). */
int manifest_alloc_frames(struct manifest *m, size_t count);
int manifest_set_frame(struct manifest *m, size_t i, const char *name,
                       uint64_t size, uint32_t crc);
int manifest_set_zip(struct manifest *m, const char *zip);

cJSON *manifest_to_json(const struct manifest *m);
/* Serialise to a malloc'd NUL-terminated string. NULL on failure. */
char *manifest_to_text(const struct manifest *m);
/* Parse and validate: every field present and in range, zip a safe
 * relative path, entry names safe, count within limits, first + count <=
 * total, and each frame's pts exactly when enc.timing is "timestamps"
 * (version 2), increasing. 0 with *out, or -1 with err. */
int manifest_from_json(const cJSON *o, struct manifest **out, char *err,
                       size_t errlen);
int manifest_from_text(const char *text, size_t len, struct manifest **out,
                       char *err, size_t errlen);

#endif
