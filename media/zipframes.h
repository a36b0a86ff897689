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

#define ZIPF_DEFAULT_MAX_ENTRIES 200000u
#define ZIPF_DEFAULT_MAX_ENTRY_BYTES (64ull << 20)
#define ZIPF_DEFAULT_MAX_TOTAL_BYTES (64ull << 30)
#define ZIPF_DEFAULT_MAX_RATIO 200u /* uncompressed / compressed */

struct zipf_limits {
    uint64_t max_entries;     /* entries in the archive, of any kind */
    uint64_t max_entry_bytes; /* one entry, uncompressed */
    uint64_t max_total_bytes; /* all JPEG entries, uncompressed */
    uint64_t max_ratio;       /* zip-bomb guard */
};
void zipf_limits_init(struct zipf_limits *l); /* the defaults above */

struct zipf_frame {
    char *name; /* entry name, owned */
    uint64_t size;
    uint32_t crc;
    int width, height; /* from the JPEG's SOF header */
};

struct zipf_listing {
    struct zipf_frame *frames; /* in video order */
    size_t count;
    size_t skipped;   /* entries that are not JPEGs (logged by name) */
    int by_timestamp; /* 1: ordered by nuScenes timestamps; 0: natural */
};

/* List, validate and order the JPEG frames of a zip. Rejects the whole
 * archive (with err) on: unreadable zip, absolute or ".." entry names, an
 * entry or total over the limits, a suspicious compression ratio, or no
 * JPEG at all. Non-JPEG entries (by content) are skipped and logged. */
int zipf_list(const char *path, const struct zipf_limits *lim,
              struct zipf_listing **out, char *err, size_t errlen);
void zipf_listing_free(struct zipf_listing *l);
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

#endif
