/*
 * zipframes.h - the frames of a job, straight from the zip (libzip): the
 * ambassador lists and validates them once; a node reads the entries of
 * its set. Nothing is extracted to disk. A listing or reader belongs to one
 * thread at a time (libzip archives are not thread-safe).
 */
#ifndef FF_ZIPFRAMES_H
#define FF_ZIPFRAMES_H

#include <stddef.h>
#include <stdint.h>

#include "common/frameorder.h"

/* Room for a 1,000,000-frame job at one frame a set (MANIFEST_MAX_SETS)
 * plus its folders; the ambassador's zip_max_entries changes it. */
#define ZIPF_DEFAULT_MAX_ENTRIES 2000000u
#define ZIPF_DEFAULT_MAX_ENTRY_BYTES (64ull << 20)
#define ZIPF_DEFAULT_MAX_TOTAL_BYTES (64ull << 30)
#define ZIPF_DEFAULT_MAX_RATIO 200u /* uncompressed / compressed */
#define ZIPF_DEFAULT_CAMERA "CAM_FRONT"
#define ZIPF_CAMERAS_MAX 16 /* distinct cameras counted in one zip */

/* What a listing takes from a zip, and how much it accepts. */
struct zipf_limits {
    uint64_t max_entries;     /* entries in the archive, of any kind */
    uint64_t max_entry_bytes; /* one entry, uncompressed */
    uint64_t max_total_bytes; /* all JPEG entries, uncompressed */
    uint64_t max_ratio;       /* zip-bomb guard */
    /* The camera taken from a zip whose names say which camera took each
     * frame (frameorder_camera); a zip whose names name none is taken
     * whole. */
    char camera[FRAMEORDER_CAMERA_MAX];
};
void zipf_limits_init(struct zipf_limits *l); /* the defaults above */

/* An entry name's room, its NUL included (MANIFEST_MAX_NAME). */
#define ZIPF_NAME_MAX 1024

/* One frame: 24 bytes (a job holds a million of them, and the ambassador
 * keeps its listing). Its name is in the listing's block of names, each
 * kept as what it does not share with the one before (nuScenes names of
 * ~85 bytes differ in ~20): read it with zipf_frame_name. Its capture
 * time is read from the name (zipf_frame_ts). */
struct zipf_frame {
    uint64_t size;
    uint32_t crc;
    uint32_t name;          /* its place in the listing's names */
    uint16_t width, height; /* from the JPEG's SOF header (ENC_MAX_DIM) */
};

/* A camera named in the zip and how many entries name it. */
struct zipf_camera {
    char name[FRAMEORDER_CAMERA_MAX];
    size_t entries;
};

struct zipf_listing {
    struct zipf_frame *frames; /* in video order */
    size_t count;
    char *names;    /* owned: the frames' names, coded (zipf_frame_name) */
    size_t skipped; /* entries that are not JPEGs (logged by name) */
    size_t skipped_empty; /* of those, 0-byte entries */
    int by_timestamp;     /* 1: ordered by nuScenes timestamps; 0: natural */
    size_t timestamped;   /* frames whose names carry a capture time (all of
                             them when by_timestamp; fewer: a mixed zip,
                             taken in natural order, and said so) */
    /* The camera the frames are from; "" when the names name none (the
     * zip is taken whole). */
    char camera[FRAMEORDER_CAMERA_MAX];
    size_t skipped_camera;  /* entries of other cameras */
    size_t skipped_unnamed; /* JPEGs that name no camera in a zip whose
                               other names do */
    struct zipf_camera cameras[ZIPF_CAMERAS_MAX]; /* by name; the first
                                                     ZIPF_CAMERAS_MAX */
    size_t ncameras;
};

/* List, validate and order the JPEG frames of a zip: of lim->camera when
 * the names say which camera took each frame, else all of them. Rejects
 * the whole archive (with err) on: unreadable zip, absolute or ".." entry
 * names, an entry or total over the limits, a suspicious compression
 * ratio, JPEG entries' names over 4 GiB in all, no JPEG at all, or none of
 * lim->camera in a zip of cameras (err names the cameras there are). Non-JPEG
 * entries (by content) are skipped and logged, other cameras' entries are
 * skipped unread and counted. */
int zipf_list(const char *path, const struct zipf_limits *lim,
              struct zipf_listing **out, char *err, size_t errlen);
void zipf_listing_free(struct zipf_listing *l);
/* Frame i's entry name, into buf (ZIPF_NAME_MAX bytes); returns buf. */
const char *zipf_frame_name(const struct zipf_listing *l, size_t i, char *buf);
/* Frame i's nuScenes capture time in us, when l->by_timestamp; else 0. */
uint64_t zipf_frame_ts(const struct zipf_listing *l, size_t i);
/* A listing made by hand (tests): names[i] becomes frame i's name, for
 * the l->count frames, in a new l->names (the caller frees it, or
 * zipf_listing_free does). 0, or -1 on allocation failure. */
int zipf_listing_set_names(struct zipf_listing *l, const char *const *names);
/* What the listing took and skipped, in words, for the job's report:
 * "240 frames of CAM_FRONT (timestamp order); skipped 1195 entries of other
 * cameras (CAM_BACK 239, ...) and 30 that are not JPEGs". */
void zipf_describe(const struct zipf_listing *l, char *buf, size_t len);
/* What identifies the input: sha256 (hex, into hex[HASH_HEX_LEN + 1]) of
 * the frames in video order, each entry's name, size, CRC-32 and picture
 * size. Two zips with the same frames give the same fingerprint however
 * they were packed; any other frame, order or content gives another. 0,
 * or -1 on allocation failure. */
int zipf_fingerprint(const struct zipf_listing *l, char *hex);

/* Reading entries by name, for a node's set. */
struct zipf_reader;
struct zipf_reader *zipf_reader_open(const char *path, char *err,
                                     size_t errlen);
/* Read the entry into a malloc'd buffer and check that its size and CRC-32
 * are the expected ones (the manifest's). 0, or -1 with err. */
int zipf_reader_read(struct zipf_reader *r, const char *name,
                     uint64_t expect_size, uint32_t expect_crc, uint8_t **buf,
                     size_t *len, char *err, size_t errlen);
void zipf_reader_close(struct zipf_reader *r);

/* After zipf_list, zipf_reader_open or zipf_reader_read failed on this
 * thread: the system's errno when the failure was reading the zip (EIO,
 * ESTALE, ENOTCONN...: the share, try again), 0 when it was the zip's
 * content (bad input). */
int zipf_io_error(void);

#endif
