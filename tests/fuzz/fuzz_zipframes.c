/*
 * fuzz_zipframes.c - libFuzzer harness for the zip lister (media/
 * zipframes.h): the input is the job's zip, which the ambassador lists and
 * validates before anything else trusts it. zipf_list takes a path, so the
 * bytes go into an in-memory file (memfd) named by /proc/self/fd/N; the
 * frames it lists are then read back as a node would. Properties: a
 * refusal says why; a listing has at least one frame, each with a safe
 * name, a size within the limits and a picture size, no name twice, in
 * video order.
 */
#include "tests/fuzz/fuzz.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/err.h"
#include "common/fdio.h"
#include "common/frameorder.h"
#include "common/fsutil.h"
#include "media/zipframes.h"

/* Frames read back per input: enough to cover the reader, few enough
 * to keep an input with thousands of entries fast. */
#define FUZZ_ZIP_READ_MAX 4

static int fuzz_zip_fd = -1;
static char fuzz_zip_path[FS_PATH_MAX];

static void
fuzz_zip_read_back(const struct zipf_listing *l)
{
    char err[ERR_MAX] = "";
    struct zipf_reader *r = zipf_reader_open(fuzz_zip_path, err, sizeof(err));

    FUZZ_CHECK(r != NULL, err);
    for (size_t i = 0; i < l->count && i < FUZZ_ZIP_READ_MAX; i++) {
        uint8_t *buf = NULL;
        size_t len = 0;
        char name[ZIPF_NAME_MAX];
        zipf_frame_name(l, i, name);
        /* A CRC that does not match the data is a refusal, not a crash. */
        if (zipf_reader_read(r, name, l->frames[i].size, l->frames[i].crc, &buf,
                             &len, err, sizeof(err)) == 0)
            FUZZ_CHECK(len == l->frames[i].size, name);
        else
            FUZZ_CHECK(err[0] != '\0', "read refused without a reason");
        free(buf);
    }
    zipf_reader_close(r);
}

/* Frame i comes after frame i - 1 in video order (common/frameorder.h). */
static void
fuzz_zip_check_order(const struct zipf_listing *l, size_t i)
{
    char pbuf[ZIPF_NAME_MAX], cbuf[ZIPF_NAME_MAX];
    const char *prev = zipf_frame_name(l, i - 1, pbuf);
    const char *cur = zipf_frame_name(l, i, cbuf);
    uint64_t prev_ts = 0, cur_ts = 0;

    if (!l->by_timestamp) {
        FUZZ_CHECK(frameorder_natural_cmp(prev, cur) < 0, cur);
        return;
    }
    FUZZ_CHECK(frameorder_timestamp(prev, &prev_ts) == 1 &&
                   frameorder_timestamp(cur, &cur_ts) == 1,
               cur);
    FUZZ_CHECK(prev_ts < cur_ts ||
                   (prev_ts == cur_ts && frameorder_natural_cmp(prev, cur) < 0),
               cur);
}

/* Every frame's name decodes (the listing codes each against the one
 * before) to a safe, distinct path, in order; its capture time is the
 * one its name carries. */
static void
fuzz_zip_check(const struct zipf_listing *l, const struct zipf_limits *lim)
{
    char name[ZIPF_NAME_MAX], other[ZIPF_NAME_MAX];

    FUZZ_CHECK(l->count >= 1, "an empty listing");
    for (size_t i = 0; i < l->count; i++) {
        const struct zipf_frame *f = &l->frames[i];
        uint64_t ts = 0;
        zipf_frame_name(l, i, name);
        FUZZ_CHECK(fs_relpath_is_safe(name), name);
        FUZZ_CHECK(f->size > 0 && f->size <= lim->max_entry_bytes, name);
        FUZZ_CHECK(f->width > 0 && f->height > 0, name);
        if (l->by_timestamp)
            FUZZ_CHECK(frameorder_timestamp(name, &ts) == 1 &&
                           zipf_frame_ts(l, i) == ts,
                       name);
        for (size_t j = 0; j < i; j++)
            FUZZ_CHECK(strcmp(zipf_frame_name(l, j, other), name) != 0, name);
        if (i > 0)
            fuzz_zip_check_order(l, i);
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct zipf_limits lim;
    struct zipf_listing *l = NULL;
    char err[ERR_MAX] = "";

    if (fuzz_zip_fd == -1) {
        fuzz_zip_fd = memfd_create("fuzz-zip", MFD_CLOEXEC);
        FUZZ_CHECK(fuzz_zip_fd != -1, strerror(errno));
        snprintf(fuzz_zip_path, sizeof(fuzz_zip_path), "/proc/self/fd/%d",
                 fuzz_zip_fd);
    }
    FUZZ_CHECK(ftruncate(fuzz_zip_fd, 0) == 0 &&
                   lseek(fuzz_zip_fd, 0, SEEK_SET) == 0 &&
                   fdio_write_full(fuzz_zip_fd, data, size) == 0,
               strerror(errno));
    zipf_limits_init(&lim);
    if (zipf_list(fuzz_zip_path, &lim, &l, err, sizeof(err)) == -1) {
        FUZZ_CHECK(err[0] != '\0', "refused without a reason");
        return 0;
    }
    fuzz_zip_check(l, &lim);
    fuzz_zip_read_back(l);
    zipf_listing_free(l);
    return 0;
}
