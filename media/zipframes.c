/*
 * zipframes.c - see zipframes.h. Every entry of the archive is checked
 * (names, sizes, compression ratio) before any is trusted; JPEGs are
 * recognised by their bytes, not their names.
 */
#include "media/zipframes.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <zip.h>

#include "common/encparams.h"
#include "common/manifest.h"
#include "common/err.h"
#include "common/fault.h"
#include "common/frameorder.h"
#include "common/fsutil.h"
#include "common/hash.h"
#include "common/jpeghdr.h"
#include "common/log.h"

#define ZIPF_FP_FIELDS 4       /* size, crc, width, height */
#define ZIPF_CMYK_COMPONENTS 4 /* CMYK or YCCK: Adobe's 4-channel JPEGs */

#define ZIPF_HEAD_CHUNK 4096u
#define ZIPF_HEAD_MAX (256u << 10) /* SOF must appear within this */
#define ZIPF_SKIP_LOG_MAX 10       /* skipped entries logged by name */
#define ZIPF_NAMES_MIN 4096        /* the names' block starts this big */
/* Coded names: every ZIPF_NAME_RUN-th is whole, each other one is the
 * length it shares with the one before (a byte, at most ZIPF_SHARED_MAX)
 * and the rest. Reading one decodes at most ZIPF_NAME_RUN of them. */
#define ZIPF_NAME_RUN 16
#define ZIPF_SHARED_MAX UINT8_MAX

_Static_assert(ENC_MAX_DIM <= UINT16_MAX, "a side fits a zipf_frame");
_Static_assert(ZIPF_NAME_MAX == MANIFEST_MAX_NAME, "an entry name's room");

struct zipf_reader {
    zip_t *za;
    char path[FS_PATH_MAX];
    struct stat st; /* the file as opened: a changed file is opened anew */
    int io_failed;  /* a read failed for the system: never kept open */
};

/* Idle readers kept open between sets: a node renders many sets of one
 * zip, and opening it parses its whole central directory (50,000 entries:
 * tens of ms a set). Each is taken by one render at a time (a zip_t is not
 * for two threads); a node with several slots renders several sets at
 * once, so up to ZIPF_CACHE_MAX are kept (oldest first), one per render
 * that closed its reader; a render that finds none free opens its own. */
#define ZIPF_CACHE_MAX 8
static pthread_mutex_t zipf_cache_mu = PTHREAD_MUTEX_INITIALIZER;
static struct zipf_reader *zipf_cache[ZIPF_CACHE_MAX];
static size_t zipf_ncache;

static int
zipf_same_file(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
           a->st_size == b->st_size && a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
           a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

void
zipf_limits_init(struct zipf_limits *l)
{
    l->max_entries = ZIPF_DEFAULT_MAX_ENTRIES;
    l->max_entry_bytes = ZIPF_DEFAULT_MAX_ENTRY_BYTES;
    l->max_total_bytes = ZIPF_DEFAULT_MAX_TOTAL_BYTES;
    l->max_ratio = ZIPF_DEFAULT_MAX_RATIO;
    snprintf(l->camera, sizeof(l->camera), "%s", ZIPF_DEFAULT_CAMERA);
}

/* The errno of the last failed read of a zip on this thread, or 0 (the
 * failure was the zip's content). */
static _Thread_local int zipf_last_io;

int
zipf_io_error(void)
{
    return zipf_last_io;
}

/* Note a libzip failure that was the system's (EIO, ESTALE, ...: the
 * share, not the zip). */
static void
zipf_note_io(const zip_error_t *ze)
{
    int zc;
    if (ze == NULL)
        return;
    zc = zip_error_code_zip(ze);
    if (zip_error_system_type(ze) == ZIP_ET_SYS &&
        zip_error_code_system(ze) != 0 && zc != ZIP_ER_NOENT)
        zipf_last_io = zip_error_code_system(ze);
    else if (zc == ZIP_ER_READ || zc == ZIP_ER_SEEK || zc == ZIP_ER_EOF)
        /* A read cut short of an entry the listing saw whole: the file
         * as the share shows it now, not the zip's content. */
        zipf_last_io = EIO;
}

static zip_t *
zipf_open(const char *path, char *err, size_t errlen)
{
    int zerr = 0, saved;
    zip_t *za = zip_open(path, ZIP_RDONLY, &zerr);
    saved = errno;
    if (za == NULL) {
        zip_error_t ze;
        zip_error_init_with_code(&ze, zerr);
        errf(err, errlen, "%s: cannot open zip: %s", path,
             zip_error_strerror(&ze));
        /* zip_open's int code loses the system error: errno holds it. */
        if ((zerr == ZIP_ER_READ || zerr == ZIP_ER_SEEK ||
             zerr == ZIP_ER_TELL || zerr == ZIP_ER_OPEN) &&
            saved != ENOENT && saved != EACCES && saved != EISDIR)
            zipf_last_io = saved != 0 ? saved : EIO;
        zip_error_fini(&ze);
    }
    return za;
}

void
zipf_listing_free(struct zipf_listing *l)
{
    if (l == NULL)
        return;
    free(l->names);
    free(l->frames);
    free(l);
}

/* How much of names[i] is kept as shared with names[i - 1]. */
static size_t
zipf_shared(const char *const *names, size_t i)
{
    size_t n = 0;
    if (i % ZIPF_NAME_RUN == 0)
        return 0;
    while (n < ZIPF_SHARED_MAX && names[i][n] != '\0' &&
           names[i][n] == names[i - 1][n])
        n++;
    return n;
}

/* Code names[i] as frame i's name, for the l->count frames, into a new
 * l->names. 0, or -1 (out of memory; l unchanged). */
static int
zipf_names_code(struct zipf_listing *l, const char *const *names)
{
    size_t len = 0, off = 0;
    unsigned char *block;

    for (size_t i = 0; i < l->count; i++)
        len += 1 + strlen(names[i]) - zipf_shared(names, i) + 1;
    if (len > UINT32_MAX)
        return -1; /* a frame's name is a 32-bit offset */
    block = malloc(len > 0 ? len : 1);
    if (block == NULL)
        return -1;
    for (size_t i = 0; i < l->count; i++) {
        size_t shared = zipf_shared(names, i);
        size_t rest = strlen(names[i]) - shared + 1;
        block[off] = (unsigned char)shared;
        memcpy(block + off + 1, names[i] + shared, rest);
        l->frames[i].name = (uint32_t)off;
        off += 1 + rest;
    }
    free(l->names);
    l->names = (char *)block;
    return 0;
}

int
zipf_listing_set_names(struct zipf_listing *l, const char *const *names)
{
    return zipf_names_code(l, names);
}

/* Frame i's coded name onto buf, which holds frame i - 1's unless i
 * begins a run. */
static void
zipf_name_step(const struct zipf_listing *l, size_t i, char *buf)
{
    const char *e = l->names + l->frames[i].name;
    size_t shared = (unsigned char)e[0];
    memcpy(buf + shared, e + 1, strlen(e + 1) + 1);
}

const char *
zipf_frame_name(const struct zipf_listing *l, size_t i, char *buf)
{
    for (size_t k = i - i % ZIPF_NAME_RUN; k <= i; k++)
        zipf_name_step(l, k, buf);
    return buf;
}

uint64_t
zipf_frame_ts(const struct zipf_listing *l, size_t i)
{
    char name[ZIPF_NAME_MAX];
    uint64_t ts = 0;
    if (l->by_timestamp &&
        !frameorder_timestamp(zipf_frame_name(l, i, name), &ts))
        ts = 0;
    return ts;
}

/* One frame in the fingerprint: its name with its NUL, then size, CRC-32,
 * width and height as little-endian integers. */
static size_t
zipf_fp_put(unsigned char *p, const struct zipf_frame *f, const char *name)
{
    size_t n = strlen(name) + 1;
    uint64_t v[] = {f->size, f->crc, (uint64_t)f->width, (uint64_t)f->height};
    memcpy(p, name, n);
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
        for (size_t b = 0; b < sizeof(v[i]); b++)
            p[n++] = (unsigned char)(v[i] >> (8 * b));
    return n;
}

int
zipf_fingerprint(const struct zipf_listing *l, char *hex)
{
    size_t len = 0, off = 0;
    unsigned char *buf;
    char name[ZIPF_NAME_MAX];
    /* The names in order, each decoded onto the one before. */
    for (size_t i = 0; i < l->count; i++) {
        zipf_name_step(l, i, name);
        len += strlen(name) + 1 + ZIPF_FP_FIELDS * sizeof(uint64_t);
    }
    buf = malloc(len ? len : 1);
    if (buf == NULL)
        return -1;
    for (size_t i = 0; i < l->count; i++) {
        zipf_name_step(l, i, name);
        off += zipf_fp_put(buf + off, &l->frames[i], name);
    }
    hash_sha256_buf(buf, off, hex);
    free(buf);
    return 0;
}

/* Read the head of entry idx until its JPEG header can be judged. 1 = a
 * JPEG (h filled), 0 = not a JPEG, -1 = read error (err). */
static int
zipf_sniff(zip_t *za, zip_uint64_t idx, const char *name, uint64_t size,
           struct jpeghdr *h, char *err, size_t errlen)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    zip_file_t *zf = NULL;
    int rc = -1, r = 0;

    zf = zip_fopen_index(za, idx, 0);
    if (zf == NULL) {
        errf(err, errlen, "entry %s: %s", name, zip_strerror(za));
        goto out;
    }
    buf = malloc(ZIPF_HEAD_MAX);
    if (buf == NULL) {
        errf(err, errlen, "out of memory");
        goto out;
    }
    while (len < ZIPF_HEAD_MAX && len < size) {
        size_t want = ZIPF_HEAD_MAX - len < ZIPF_HEAD_CHUNK
                          ? ZIPF_HEAD_MAX - len
                          : ZIPF_HEAD_CHUNK;
        zip_int64_t n = zip_fread(zf, buf + len, want);
        if (n < 0) {
            errf(err, errlen, "entry %s: %s", name, zip_file_strerror(zf));
            zipf_note_io(zip_file_get_error(zf));
            goto out;
        }
        if (n == 0)
            break;
        len += (size_t)n;
        r = jpeghdr_parse(buf, len, h);
        if (r != 0)
            break;
    }
    rc = r == 1 ? 1 : 0;
out:
    if (zf != NULL)
        zip_fclose(zf);
    free(buf);
    return rc;
}

/* Checks that apply to every entry, JPEG or not. */
static int
zipf_check_entry(const zip_stat_t *st, const struct zipf_limits *lim,
                 const char *path, char *err, size_t errlen)
{
    char name[FS_PATH_MAX];
    size_t n = strlen(st->name);

    if (n == 0 || n >= sizeof(name)) {
        errf(err, errlen, "%s: an entry has an empty or overlong name", path);
        return -1;
    }
    memcpy(name, st->name, n + 1);
    if (name[n - 1] == '/')
        name[n - 1] = '\0';
    if (name[0] == '/' || !fs_relpath_is_safe(name)) {
        errf(err, errlen,
             "%s: entry \"%s\" has an unsafe name (absolute path, \"..\" "
             "or a control character); refusing the archive",
             path, st->name);
        return -1;
    }
    if (st->size > lim->max_entry_bytes) {
        errf(err, errlen,
             "%s: entry \"%s\" is %llu bytes, over the %llu-byte limit", path,
             st->name, (unsigned long long)st->size,
             (unsigned long long)lim->max_entry_bytes);
        return -1;
    }
    if (st->size > 0 &&
        (st->comp_size == 0 || st->size / st->comp_size > lim->max_ratio)) {
        errf(err, errlen,
             "%s: entry \"%s\" expands %llu -> %llu bytes (over %llux): "
             "refusing a possible zip bomb",
             path, st->name, (unsigned long long)st->comp_size,
             (unsigned long long)st->size, (unsigned long long)lim->max_ratio);
        return -1;
    }
    return 0;
}

/* A JPEG framefarm can render, named within the protocol's limit? Found
 * here, before any work, rather than on a node set by set. 0, or -1 with
 * err. */
static int
zipf_check_frame(const char *name, const struct jpeghdr *h, const char *path,
                 char *err, size_t errlen)
{
    if (strlen(name) >= MANIFEST_MAX_NAME) {
        errf(err, errlen,
             "%s: entry \"%.64s...\" has a name of %zu bytes, over the "
             "%d-byte limit; refusing the archive",
             path, name, strlen(name), MANIFEST_MAX_NAME - 1);
        return -1;
    }
    if (h->components == ZIPF_CMYK_COMPONENTS) {
        errf(err, errlen,
             "%s: entry \"%s\" is a CMYK or YCCK JPEG (4 components), "
             "which framefarm does not render; refusing the archive",
             path, name);
        return -1;
    }
    if (h->width > ENC_MAX_DIM || h->height > ENC_MAX_DIM) {
        errf(err, errlen,
             "%s: entry \"%s\" is %dx%d, over the %d-pixel limit of a "
             "side; refusing the archive",
             path, name, h->width, h->height, ENC_MAX_DIM);
        return -1;
    }
    return 0;
}

/* While listing (before zipf_sort codes them): frame i's name. */
static const char *
zipf_plain(const struct zipf_listing *l, size_t i)
{
    return l->names + l->frames[i].name;
}

static int
zipf_sort(struct zipf_listing *l, const char *path, char *err, size_t errlen)
{
    const char **names = NULL, **sorted_names = NULL;
    size_t *order = NULL;
    struct zipf_frame *sorted = NULL;
    int rc = -1, by_ts;

    names = calloc(l->count, sizeof(*names));
    sorted_names = calloc(l->count, sizeof(*sorted_names));
    order = calloc(l->count, sizeof(*order));
    sorted = calloc(l->count, sizeof(*sorted));
    if (names == NULL || sorted_names == NULL || order == NULL ||
        sorted == NULL) {
        errf(err, errlen, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < l->count; i++) {
        uint64_t ts;
        names[i] = zipf_plain(l, i);
        l->timestamped += frameorder_timestamp(names[i], &ts) ? 1 : 0;
    }
    by_ts = frameorder_sort(names, l->count, order);
    if (by_ts == -1) {
        errf(err, errlen, "sorting frames: %s", strerror(errno));
        goto out;
    }
    for (size_t i = 0; i < l->count; i++)
        sorted[i] = l->frames[order[i]];
    for (size_t i = 1; i < l->count; i++) {
        if (strcmp(names[order[i - 1]], names[order[i]]) == 0) {
            errf(err, errlen, "%s: entry \"%s\" appears twice", path,
                 names[order[i]]);
            goto out;
        }
    }
    /* In video order, coded: the listed block goes. */
    for (size_t i = 0; i < l->count; i++)
        sorted_names[i] = names[order[i]];
    free(l->frames);
    l->frames = sorted;
    sorted = NULL;
    if (zipf_names_code(l, sorted_names) == -1) {
        errf(err, errlen, "out of memory");
        goto out;
    }
    l->by_timestamp = by_ts;
    rc = 0;
out:
    free(names);
    free(sorted_names);
    free(order);
    free(sorted);
    return rc;
}

/* Count one entry of camera cam; the table stays sorted by name. */
static void
zipf_count_camera(struct zipf_listing *l, const char *cam)
{
    size_t i = 0;
    int c = 1;

    while (i < l->ncameras && (c = strcmp(l->cameras[i].name, cam)) < 0)
        i++;
    if (i < l->ncameras && c == 0) {
        l->cameras[i].entries++;
        return;
    }
    if (l->ncameras == ZIPF_CAMERAS_MAX)
        return; /* counted in skipped_camera only */
    memmove(&l->cameras[i + 1], &l->cameras[i],
            (l->ncameras - i) * sizeof(l->cameras[0]));
    snprintf(l->cameras[i].name, sizeof(l->cameras[i].name), "%s", cam);
    l->cameras[i].entries = 1;
    l->ncameras++;
}

/* The cameras of the table but camera, "CAM_BACK 239, CAM_BACK_LEFT 238",
 * into buf. */
static void
zipf_list_cameras(const struct zipf_listing *l, const char *camera, char *buf,
                  size_t len)
{
    size_t n = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < l->ncameras && n < len; i++) {
        int w;
        if (strcmp(l->cameras[i].name, camera) == 0)
            continue;
        w = snprintf(buf + n, len - n, "%s%s %zu", n > 0 ? ", " : "",
                     l->cameras[i].name, l->cameras[i].entries);
        if (w < 0)
            break;
        n += (size_t)w;
    }
}

/* In a zip of cameras, keep only the frames of lim->camera: drop the JPEGs
 * that name no camera, and refuse a zip without a JPEG of the camera asked
 * for. A zip whose names name no camera is left whole. 0, or -1 with err. */
static int
zipf_keep_camera(struct zipf_listing *l, const struct zipf_limits *lim,
                 const char *path, char *err, size_t errlen)
{
    char cam[FRAMEORDER_CAMERA_MAX], others[ERR_MAX / 2];
    size_t kept = 0;
    int found = 0;

    if (l->ncameras == 0)
        return 0;
    /* A frame that names a camera names lim->camera: the others were
     * skipped unread. */
    for (size_t i = 0; i < l->count && !found; i++)
        found = frameorder_camera(zipf_plain(l, i), cam);
    if (!found) {
        zipf_list_cameras(l, lim->camera, others, sizeof(others));
        errf(err, errlen,
             "%s: no frames of camera %s; the cameras there are: %s (choose "
             "one with --camera)",
             path, lim->camera, others);
        return -1;
    }
    for (size_t i = 0; i < l->count; i++) {
        if (frameorder_camera(zipf_plain(l, i), cam)) {
            l->frames[kept++] = l->frames[i];
            continue;
        }
        l->skipped_unnamed++; /* its name is not coded (zipf_sort) */
    }
    l->count = kept;
    snprintf(l->camera, sizeof(l->camera), "%s", lim->camera);
    return 0;
}

void
zipf_describe(const struct zipf_listing *l, char *buf, size_t len)
{
    char others[ERR_MAX / 2];
    const char *order = l->by_timestamp ? "timestamp" : "natural";
    int n;

    if (l->camera[0] != '\0')
        n = snprintf(buf, len, "%zu frames of %s (%s order)", l->count,
                     l->camera, order);
    else
        n = snprintf(buf, len,
                     "%zu frames (%s order; no camera names: all "
                     "taken)",
                     l->count, order);
    if (n < 0 || (size_t)n >= len)
        return;
    if (l->skipped_camera > 0) {
        zipf_list_cameras(l, l->camera, others, sizeof(others));
        n += snprintf(buf + n, len - (size_t)n,
                      "; skipped %zu entries of other cameras (%s)",
                      l->skipped_camera, others);
    }
    if (n >= 0 && (size_t)n < len && l->skipped_unnamed > 0)
        n += snprintf(buf + n, len - (size_t)n,
                      "; skipped %zu JPEGs that name no camera",
                      l->skipped_unnamed);
    if (n >= 0 && (size_t)n < len && l->skipped > 0)
        n += snprintf(buf + n, len - (size_t)n,
                      "; skipped %zu entries that are not JPEGs (%zu of "
                      "them empty)",
                      l->skipped, l->skipped_empty);
    if (n >= 0 && (size_t)n < len && !l->by_timestamp && l->timestamped > 0)
        snprintf(buf + n, len - (size_t)n,
                 "; only %zu of the %zu names carry a capture time, so all "
                 "are in name order",
                 l->timestamped, l->count);
}

/* While listing, the names go whole into one block as they come (a
 * string each would cost its allocation's overhead, and scatter the heap
 * among libzip's own entries, freed after the listing); zipf_sort codes
 * them in video order. */
struct zipf_names {
    size_t len, cap;
};

/* Append name for frame l->count. 0, or -1 (out of memory). */
static int
zipf_names_add(struct zipf_listing *l, struct zipf_names *nm, const char *name)
{
    size_t n = strlen(name) + 1;
    if (nm->len + n > UINT32_MAX)
        return -1; /* a frame's name is a 32-bit offset */
    while (nm->cap - nm->len < n) {
        size_t cap = nm->cap ? 2 * nm->cap : ZIPF_NAMES_MIN;
        char *p = realloc(l->names, cap);
        if (p == NULL)
            return -1;
        l->names = p;
        nm->cap = cap;
    }
    memcpy(l->names + nm->len, name, n);
    l->frames[l->count].name = (uint32_t)nm->len;
    nm->len += n;
    return 0;
}

int
zipf_list(const char *path, const struct zipf_limits *lim,
          struct zipf_listing **out, char *err, size_t errlen)
{
    struct zipf_names nm = {0};
    struct zipf_listing *l = NULL;
    zip_t *za = NULL;
    zip_int64_t n;
    uint64_t total = 0;
    char cam[FRAMEORDER_CAMERA_MAX];
    int rc = -1;

    zipf_last_io = 0;
    if (fault_zip_eio()) {
        /* Test hook: the share fails under the listing. */
        errf(err, errlen, "%s: cannot open zip: %s (injected)", path,
             strerror(EIO));
        zipf_last_io = EIO;
        goto out;
    }
    za = zipf_open(path, err, errlen);
    if (za == NULL)
        goto out;
    n = zip_get_num_entries(za, 0);
    if (n < 0 || (uint64_t)n > lim->max_entries) {
        errf(err, errlen, "%s: %lld entries, over the limit of %llu", path,
             (long long)n, (unsigned long long)lim->max_entries);
        goto out;
    }
    l = calloc(1, sizeof(*l));
    if (l == NULL || (n > 0 && (l->frames = calloc(
                                    (size_t)n, sizeof(*l->frames))) == NULL)) {
        errf(err, errlen, "out of memory");
        goto out;
    }
    for (zip_int64_t i = 0; i < n; i++) {
        zip_stat_t st;
        struct jpeghdr h;
        int r;

        zip_stat_init(&st);
        if (zip_stat_index(za, (zip_uint64_t)i, 0, &st) == -1 ||
            !(st.valid & ZIP_STAT_NAME) || !(st.valid & ZIP_STAT_SIZE) ||
            !(st.valid & ZIP_STAT_COMP_SIZE) || !(st.valid & ZIP_STAT_CRC)) {
            errf(err, errlen, "%s: entry %lld: cannot read its header: %s",
                 path, (long long)i, zip_strerror(za));
            goto out;
        }
        if (zipf_check_entry(&st, lim, path, err, errlen) == -1)
            goto out;
        if (st.name[strlen(st.name) - 1] == '/')
            continue; /* a directory */
        /* Another camera's entry is counted, not read. */
        if (frameorder_camera(st.name, cam)) {
            zipf_count_camera(l, cam);
            if (strcmp(cam, lim->camera) != 0) {
                l->skipped_camera++;
                continue;
            }
        }
        r = st.size == 0 ? 0
                         : zipf_sniff(za, (zip_uint64_t)i, st.name, st.size, &h,
                                      err, errlen);
        if (r == -1)
            goto out;
        if (r == 0) {
            if (l->skipped < ZIPF_SKIP_LOG_MAX)
                log_warnx("%s: skipping \"%s\": %s", path, st.name,
                          st.size == 0 ? "empty" : "not a JPEG");
            l->skipped++;
            l->skipped_empty += st.size == 0;
            continue;
        }
        if (zipf_check_frame(st.name, &h, path, err, errlen) == -1)
            goto out;
        total += st.size;
        if (total > lim->max_total_bytes) {
            errf(err, errlen,
                 "%s: JPEG entries exceed the %llu-byte limit for a job", path,
                 (unsigned long long)lim->max_total_bytes);
            goto out;
        }
        struct zipf_frame *f = &l->frames[l->count];
        if (zipf_names_add(l, &nm, st.name) == -1) {
            errf(err, errlen,
                 nm.len + strlen(st.name) + 1 > UINT32_MAX
                     ? "%s: the JPEG entries' names take over 4 GiB; "
                       "refusing the archive"
                     : "%s: out of memory",
                 path);
            goto out;
        }
        f->size = st.size;
        f->crc = st.crc;
        f->width = (uint16_t)h.width;
        f->height = (uint16_t)h.height;
        l->count++;
    }
    if (l->skipped > ZIPF_SKIP_LOG_MAX)
        log_warnx("%s: skipped %zu entries in all that are not JPEGs", path,
                  l->skipped);
    if (zipf_keep_camera(l, lim, path, err, errlen) == -1)
        goto out;
    if (l->count == 0) {
        errf(err, errlen, "%s: no JPEG frames in the archive (%lld entries)",
             path, (long long)n);
        goto out;
    }
    if (zipf_sort(l, path, err, errlen) == -1)
        goto out;
    *out = l;
    l = NULL;
    rc = 0;
out:
    zipf_listing_free(l);
    if (za != NULL)
        zip_discard(za);
    return rc;
}

struct zipf_reader *
zipf_reader_open(const char *path, char *err, size_t errlen)
{
    struct zipf_reader *r;
    struct stat st;

    zipf_last_io = 0;
    if (stat(path, &st) == 0) {
        pthread_mutex_lock(&zipf_cache_mu);
        for (size_t i = zipf_ncache; i-- > 0;) {
            r = zipf_cache[i];
            if (strcmp(r->path, path) == 0 && zipf_same_file(&r->st, &st)) {
                memmove(&zipf_cache[i], &zipf_cache[i + 1],
                        (zipf_ncache - i - 1) * sizeof(zipf_cache[0]));
                zipf_ncache--;
                pthread_mutex_unlock(&zipf_cache_mu);
                return r;
            }
        }
        pthread_mutex_unlock(&zipf_cache_mu);
    }
    r = calloc(1, sizeof(*r));
    if (r == NULL) {
        errf(err, errlen, "out of memory");
        return NULL;
    }
    snprintf(r->path, sizeof(r->path), "%s", path);
    if (stat(path, &r->st) == -1)
        memset(&r->st, 0, sizeof(r->st)); /* never matches: not cached */
    r->za = zipf_open(path, err, errlen);
    if (r->za == NULL) {
        free(r);
        return NULL;
    }
    return r;
}

int
zipf_reader_read(struct zipf_reader *r, const char *name, uint64_t expect_size,
                 uint32_t expect_crc, uint8_t **bufp, size_t *lenp, char *err,
                 size_t errlen)
{
    zip_file_t *zf = NULL;
    uint8_t *buf = NULL;
    zip_stat_t st;
    zip_int64_t idx;
    size_t len = 0;
    int rc = -1;

    zipf_last_io = 0;
    idx = zip_name_locate(r->za, name, 0);
    if (idx < 0) {
        errf(err, errlen, "%s: no entry \"%s\"", r->path, name);
        goto out;
    }
    zip_stat_init(&st);
    if (zip_stat_index(r->za, (zip_uint64_t)idx, 0, &st) == -1) {
        errf(err, errlen, "%s: %s: %s", r->path, name, zip_strerror(r->za));
        goto out;
    }
    if (st.size != expect_size || st.size > ZIPF_DEFAULT_MAX_ENTRY_BYTES) {
        errf(err, errlen, "%s: %s is %llu bytes, expected %llu", r->path, name,
             (unsigned long long)st.size, (unsigned long long)expect_size);
        goto out;
    }
    buf = malloc(st.size > 0 ? st.size : 1);
    zf = zip_fopen_index(r->za, (zip_uint64_t)idx, 0);
    if (buf == NULL || zf == NULL) {
        errf(err, errlen, "%s: %s: %s", r->path, name,
             buf == NULL ? "out of memory" : zip_strerror(r->za));
        if (zf == NULL)
            zipf_note_io(zip_get_error(r->za));
        r->io_failed = zipf_last_io != 0;
        goto out;
    }
    while (len < st.size) {
        zip_int64_t n = zip_fread(zf, buf + len, st.size - len);
        if (n <= 0) {
            errf(err, errlen, "%s: %s: %s", r->path, name,
                 n < 0 ? zip_file_strerror(zf) : "entry shorter than stated");
            if (n < 0)
                zipf_note_io(zip_file_get_error(zf));
            r->io_failed = zipf_last_io != 0;
            goto out;
        }
        len += (size_t)n;
    }
    if (hash_crc32(buf, len) != expect_crc) {
        errf(err, errlen, "%s: %s: CRC-32 mismatch (corrupt archive?)", r->path,
             name);
        goto out;
    }
    *bufp = buf;
    *lenp = len;
    buf = NULL;
    rc = 0;
out:
    if (zf != NULL)
        zip_fclose(zf);
    free(buf);
    return rc;
}

void
zipf_reader_close(struct zipf_reader *r)
{
    struct zipf_reader *old;
    if (r == NULL)
        return;
    /* Kept for the next set (the newest one in, the oldest closed when
     * ZIPF_CACHE_MAX are kept); not one whose reads failed (its
     * descriptor may be dead for good: a mount that reconnected). */
    if (r->za != NULL && r->st.st_ino != 0 && !r->io_failed) {
        pthread_mutex_lock(&zipf_cache_mu);
        old = NULL;
        if (zipf_ncache == ZIPF_CACHE_MAX) {
            old = zipf_cache[0];
            memmove(&zipf_cache[0], &zipf_cache[1],
                    (ZIPF_CACHE_MAX - 1) * sizeof(zipf_cache[0]));
            zipf_ncache--;
        }
        zipf_cache[zipf_ncache++] = r;
        pthread_mutex_unlock(&zipf_cache_mu);
        r = old;
        if (r == NULL)
            return;
    }
    if (r->za != NULL)
        zip_discard(r->za);
    free(r);
}
