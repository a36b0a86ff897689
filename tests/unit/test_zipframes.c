/*
 * test_zipframes.c - the frames of a job, straight from the zip
 * (media/zipframes.h): which entries count as frames and in what order,
 * which archives are refused as a whole (and that the error says why),
 * which camera's frames a nuScenes zip gives, and reading one entry with
 * its size and CRC checked. Each test builds its
 * zips with libzip in its own directory under /tmp.
 */
#include "tests/unit/unit.h"

#include <zip.h>

#include "common/err.h"
#include "common/hash.h"
#include "common/encparams.h"
#include "common/manifest.h"
#include "media/zipframes.h"

#define JPEG_CAP 4096
#define BOMB_BYTES (1u << 20)

enum { STORE, DEFLATE };

struct zentry {
    const char *name;
    const uint8_t *data;
    size_t len;
    int method; /* STORE or DEFLATE */
};

struct jpeg {
    uint8_t b[JPEG_CAP];
    size_t len;
};

/* A file that the lister takes for a width x height JPEG: SOI, SOF0, then
 * filler up to len bytes, then EOI. The filler varies with seed so that
 * entries differ and do not compress much. */
static void
jpeg_make(struct jpeg *j, int width, int height, size_t len, uint32_t seed)
{
    /* SOI; SOF0 of 11 bytes: 8 bits, height, width, one component */
    static const uint8_t head[] = {0xFF, 0xD8, 0xFF, 0xC0, 0, 11,   8, 0,
                                   0,    0,    0,    1,    1, 0x11, 0};
    enum { HEIGHT_AT = 7, WIDTH_AT = 9 };
    assert_true(len >= sizeof(head) + 2 && len <= sizeof(j->b));
    memcpy(j->b, head, sizeof(head));
    j->b[HEIGHT_AT] = (uint8_t)(height >> 8);
    j->b[HEIGHT_AT + 1] = (uint8_t)height;
    j->b[WIDTH_AT] = (uint8_t)(width >> 8);
    j->b[WIDTH_AT + 1] = (uint8_t)width;
    for (size_t i = sizeof(head); i < len - 2; i++) {
        seed = seed * 1103515245u + 12345u;
        j->b[i] = (uint8_t)(seed >> 16);
    }
    j->b[len - 2] = 0xFF;
    j->b[len - 1] = 0xD9;
    j->len = len;
}

/* Write a zip holding exactly these entries, names as given. */
static void
zip_build(const char *path, const struct zentry *e, size_t n)
{
    int zerr = 0;
    zip_t *za = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &zerr);

    if (za == NULL)
        fail_msg("zip_open %s: error %d", path, zerr);
    for (size_t i = 0; i < n; i++) {
        zip_source_t *src = zip_source_buffer(za, e[i].data, e[i].len, 0);
        zip_int64_t idx;
        assert_non_null(src);
        idx = zip_file_add(za, e[i].name, src, ZIP_FL_ENC_UTF_8);
        if (idx < 0) {
            zip_source_free(src);
            fail_msg("libzip refused to add \"%s\": %s", e[i].name,
                     zip_strerror(za));
        }
        assert_int_equal(
            zip_set_file_compression(
                za, (zip_uint64_t)idx,
                e[i].method == STORE ? ZIP_CM_STORE : ZIP_CM_DEFLATE, 0),
            0);
    }
    if (zip_close(za) != 0)
        fail_msg("zip_close %s: %s", path, zip_strerror(za));
}

static void
file_write(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

/* Replace the occurrences of from with to (same length) in the file, and
 * expect hits of them: how the tests get names into an archive that libzip
 * would not write (a name is stored twice: in the local header and in the
 * central directory), or corrupt an entry's bytes. */
static void
file_patch(const char *path, const char *from, const char *to, size_t want)
{
    char *buf = NULL;
    size_t len = 0, n = strlen(from), hits = 0;

    assert_int_equal(strlen(to), n);
    assert_int_equal(fs_read_max(path, 1 << 24, &buf, &len), 0);
    for (size_t i = 0; i + n <= len; i++) {
        if (memcmp(buf + i, from, n) == 0) {
            memcpy(buf + i, to, n);
            hits++;
        }
    }
    assert_int_equal(hits, want);
    file_write(path, buf, len);
    free(buf);
}

static struct zipf_listing *
list_ok(const char *path, const struct zipf_limits *lim)
{
    struct zipf_listing *l = NULL;
    char err[ERR_MAX] = "";
    if (zipf_list(path, lim, &l, err, sizeof(err)) != 0)
        fail_msg("zipf_list refused %s: %s", path, err);
    assert_non_null(l);
    return l;
}

/* zipf_list must refuse the archive, with an error mentioning want. */
static void
expect_refused(const char *path, const struct zipf_limits *lim,
               const char *want)
{
    struct zipf_listing *l = NULL;
    char err[ERR_MAX] = "";
    int rc = zipf_list(path, lim, &l, err, sizeof(err));
    if (rc != -1) {
        size_t count = l != NULL ? l->count : 0;
        zipf_listing_free(l);
        fail_msg("%s listed (rc %d, %zu frames), want a refusal with \"%s\"",
                 path, rc, count, want);
    }
    assert_null(l);
    assert_contains(err, want);
}

static void
expect_frames(const struct zipf_listing *l, const char *const *names, size_t n)
{
    char name[ZIPF_NAME_MAX];
    assert_int_equal(l->count, n);
    for (size_t i = 0; i < n; i++)
        if (strcmp(zipf_frame_name(l, i, name), names[i]) != 0)
            fail_msg("frame %zu is \"%s\", want \"%s\"", i, name, names[i]);
}

static void
test_timestamp_order_from_scrambled_zip(void **state)
{
    const char *dir = *state;
    const char *const names[] = {
        "samples/CAM_FRONT/n015__CAM_FRONT__1532402927612460.jpg",
        "samples/CAM_FRONT/n008__CAM_FRONT__1532402927662460.jpg",
        "samples/CAM_FRONT/n015__CAM_FRONT__1532402927712460.jpg",
        "samples/CAM_FRONT/n015__CAM_FRONT__1532402927762460.jpg",
    };
    const size_t order[] = {2, 0, 3, 1}; /* zip order, by index above */
    struct jpeg j[4];
    struct zentry e[4];
    struct zipf_limits lim;
    struct zipf_listing *l;
    char path[FS_PATH_MAX];

    unit_path(path, dir, "job.zip");
    for (size_t i = 0; i < 4; i++)
        jpeg_make(&j[i], 1600, 900, 100 + i * 10, (uint32_t)i);
    for (size_t i = 0; i < 4; i++) {
        e[i] = (struct zentry){names[order[i]], j[order[i]].b, j[order[i]].len,
                               i % 2 == 0 ? STORE : DEFLATE};
    }
    zip_build(path, e, 4);
    zipf_limits_init(&lim);
    l = list_ok(path, &lim);
    expect_frames(l, names, 4);
    assert_int_equal(l->by_timestamp, 1);
    assert_int_equal(l->skipped, 0);
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(l->frames[i].size, j[i].len);
        assert_int_equal(l->frames[i].crc, hash_crc32(j[i].b, j[i].len));
        assert_int_equal(l->frames[i].width, 1600);
        assert_int_equal(l->frames[i].height, 900);
    }
    zipf_listing_free(l);
}

#define NAMES_MAX 8

/* A zip of these names (in this order), each holding j, listed for camera
 * (NULL: the default one). */
static struct zipf_listing *
list_names(const char *path, const char *const *names, size_t n,
           const struct jpeg *j, const char *camera)
{
    struct zentry e[NAMES_MAX];
    struct zipf_limits lim;

    assert_true(n <= NAMES_MAX);
    for (size_t i = 0; i < n; i++)
        e[i] = (struct zentry){names[i], j->b, j->len, STORE};
    zip_build(path, e, n);
    zipf_limits_init(&lim);
    if (camera != NULL)
        snprintf(lim.camera, sizeof(lim.camera), "%s", camera);
    return list_ok(path, &lim);
}

static void
test_natural_order_without_timestamps(void **state)
{
    const char *dir = *state;
    const char *const sorted[] = {"f1.jpg", "f2.jpg", "f10.jpg"};
    const char *const zipped[] = {"f10.jpg", "f2.jpg", "f1.jpg"};
    const char *const mixed[] = {"a__1533151603512404.jpg", "b.jpg"};
    struct jpeg j;
    struct zipf_listing *l;
    char path[FS_PATH_MAX];

    unit_path(path, dir, "job.zip");
    jpeg_make(&j, 64, 48, 64, 1);
    l = list_names(path, zipped, 3, &j, NULL);
    expect_frames(l, sorted, 3);
    assert_int_equal(l->by_timestamp, 0);
    assert_int_equal(l->frames[0].width, 64);
    assert_int_equal(l->frames[0].height, 48);
    assert_int_equal(zipf_frame_ts(l, 0), 0);
    zipf_listing_free(l);

    /* Only some names carry a capture time: name order, and no frame has
     * a time (manifests get none). */
    unit_path(path, dir, "mixed.zip");
    l = list_names(path, mixed, 2, &j, NULL);
    expect_frames(l, mixed, 2);
    assert_int_equal(l->by_timestamp, 0);
    assert_int_equal(l->timestamped, 1);
    assert_int_equal(zipf_frame_ts(l, 0), 0);
    assert_int_equal(zipf_frame_ts(l, 1), 0);
    zipf_listing_free(l);
}

/* JPEGs are known by their bytes: text named .jpg is skipped and counted,
 * a JPEG under another name is a frame, directories are neither. */
static void
test_non_jpeg_entries_skipped(void **state)
{
    const char *dir = *state;
    static const char readme[] = "These are the frames of scene 0061.\n";
    static const char fake[] = "this is text, not a JPEG at all";
    static const uint8_t png[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    const char *const sorted[] = {"frame.bin", "frames/f1.jpg"};
    struct jpeg j;
    struct zentry e[6];
    struct zipf_limits lim;
    struct zipf_listing *l;
    char path[FS_PATH_MAX];

    unit_path(path, dir, "job.zip");
    jpeg_make(&j, 32, 32, 80, 2);
    e[0] = (struct zentry){"README.txt", (const uint8_t *)readme,
                           sizeof(readme) - 1, DEFLATE};
    e[1] = (struct zentry){"frames/f1.jpg", j.b, j.len, STORE};
    e[2] = (struct zentry){"frames/fake.jpg", (const uint8_t *)fake,
                           sizeof(fake) - 1, STORE};
    e[3] = (struct zentry){"frames/empty.jpg", (const uint8_t *)"", 0, STORE};
    e[4] = (struct zentry){"frames/x.png", png, sizeof(png), STORE};
    e[5] = (struct zentry){"frame.bin", j.b, j.len, STORE};
    zip_build(path, e, 6);
    {
        /* and a directory entry */
        int zerr = 0;
        zip_t *za = zip_open(path, 0, &zerr);
        assert_non_null(za);
        assert_true(zip_dir_add(za, "frames/sub", ZIP_FL_ENC_UTF_8) >= 0);
        assert_int_equal(zip_close(za), 0);
    }
    zipf_limits_init(&lim);
    l = list_ok(path, &lim);
    expect_frames(l, sorted, 2);
    assert_int_equal(l->skipped, 4);
    zipf_listing_free(l);
}

#define APP_SEGMENTS 3
#define APP_SEGMENT_BYTES 65000

/* Cameras write large metadata (Exif, ICC profiles in several APP2
 * segments) before the SOF; the lister reads on until it finds it. */
static void
test_sof_after_large_metadata(void **state)
{
    const char *dir = *state;
    size_t len = 2 + APP_SEGMENTS * (4 + APP_SEGMENT_BYTES) + 64, n = 0;
    uint8_t *b = malloc(len);
    struct jpeg tail;
    struct zentry e[1];
    struct zipf_limits lim;
    struct zipf_listing *l;
    char path[FS_PATH_MAX];
    uint32_t seed = 99;

    assert_non_null(b);
    unit_path(path, dir, "meta.zip");
    b[n++] = 0xFF;
    b[n++] = 0xD8;
    for (int i = 0; i < APP_SEGMENTS; i++) {
        b[n++] = 0xFF;
        b[n++] = 0xE2;
        b[n++] = (uint8_t)((APP_SEGMENT_BYTES + 2) >> 8);
        b[n++] = (uint8_t)(APP_SEGMENT_BYTES + 2);
        for (int k = 0; k < APP_SEGMENT_BYTES; k++) {
            seed = seed * 1103515245u + 12345u;
            b[n++] = (uint8_t)(seed >> 16);
        }
    }
    jpeg_make(&tail, 1920, 1080, 64, 7); /* its SOF and EOI, without SOI */
    memcpy(b + n, tail.b + 2, 62);
    n += 62;
    e[0] = (struct zentry){"big-exif.jpg", b, n, DEFLATE};
    zip_build(path, e, 1);
    zipf_limits_init(&lim);
    l = list_ok(path, &lim);
    assert_int_equal(l->count, 1);
    assert_int_equal(l->frames[0].width, 1920);
    assert_int_equal(l->frames[0].height, 1080);
    assert_int_equal(l->frames[0].size, n);
    zipf_listing_free(l);
    free(b);
}

static void
test_no_jpeg_refused(void **state)
{
    const char *dir = *state;
    static const char text[] = "not a picture";
    struct zentry e[2] = {
        {"a.jpg", (const uint8_t *)text, sizeof(text) - 1, STORE},
        {"notes.txt", (const uint8_t *)text, sizeof(text) - 1, DEFLATE},
    };
    /* The end-of-central-directory record of an archive with no entries. */
    static const uint8_t empty_zip[22] = {'P', 'K', 5, 6};
    struct zipf_limits lim;
    char path[FS_PATH_MAX], empty[FS_PATH_MAX];

    unit_path(path, dir, "text.zip");
    unit_path(empty, dir, "empty.zip");
    zip_build(path, e, 2);
    file_write(empty, empty_zip, sizeof(empty_zip));
    zipf_limits_init(&lim);
    expect_refused(path, &lim, "no JPEG");
    expect_refused(empty, &lim, "no JPEG");
}

/* What no node could render is refused at the listing, before any work,
 * naming the entry: a CMYK/YCCK JPEG (4 components), a frame over the
 * largest video side, a name over the protocol's limit. */
static void
test_unrenderable_frames_refused(void **state)
{
    const char *dir = *state;
    struct jpeg good, cmyk, huge;
    static char longname[MANIFEST_MAX_NAME + 8];
    struct zentry e[2];
    struct zipf_limits lim;
    char path[FS_PATH_MAX];
    enum { COMPONENTS_AT = 11, SOF_LEN_AT = 5, CMYK_SOF_LEN = 20 };

    zipf_limits_init(&lim);
    jpeg_make(&good, 64, 48, 400, 1);
    /* SOF0 of 4 components: 8 + 3 * 4 bytes long. */
    jpeg_make(&cmyk, 64, 48, 400, 2);
    cmyk.b[SOF_LEN_AT] = CMYK_SOF_LEN;
    cmyk.b[COMPONENTS_AT] = 4;
    jpeg_make(&huge, ENC_MAX_DIM + 2, 48, 400, 3);
    unit_path(path, dir, "cmyk.zip");
    e[0] = (struct zentry){"a.jpg", good.b, good.len, STORE};
    e[1] = (struct zentry){"b.jpg", cmyk.b, cmyk.len, STORE};
    zip_build(path, e, 2);
    expect_refused(path, &lim, "\"b.jpg\" is a CMYK or YCCK JPEG");
    unit_path(path, dir, "huge.zip");
    e[1] = (struct zentry){"b.jpg", huge.b, huge.len, STORE};
    zip_build(path, e, 2);
    expect_refused(path, &lim, "over the 8192-pixel limit of a side");
    unit_path(path, dir, "long.zip");
    memset(longname, 'n', sizeof(longname) - 1);
    memcpy(longname + sizeof(longname) - 5, ".jpg", 5);
    e[1] = (struct zentry){longname, good.b, good.len, STORE};
    zip_build(path, e, 2);
    expect_refused(path, &lim, "over the 1023-byte limit");
}

/* One hostile name refuses the whole archive, even beside good frames. */
static void
test_unsafe_names_refused(void **state)
{
    const char *dir = *state;
    const char *bad[] = {"../evil.jpg",       "/abs.jpg", "a/../../x.jpg",
                         "frames\\..\\x.jpg", "a//b.jpg", "./x.jpg"};
    struct jpeg j;
    struct zipf_limits lim;
    char path[FS_PATH_MAX];

    unit_path(path, dir, "bad.zip");
    jpeg_make(&j, 32, 32, 64, 3);
    zipf_limits_init(&lim);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct zentry e[2] = {{"good.jpg", j.b, j.len, STORE},
                              {bad[i], j.b, j.len, STORE}};
        zip_build(path, e, 2);
        expect_refused(path, &lim, "unsafe");
    }
}

/* No control character reaches a listing. libzip (1.7) will not write
 * one, so the tests patch it in. In a name without the UTF-8 flag libzip
 * reads the byte as CP437, where 0x01 is U+263A: a harmless name, which
 * the reader then finds under the listed name. In a name flagged as UTF-8
 * libzip refuses the archive. */
static void
test_control_char_names(void **state)
{
    const char *dir = *state;
    const char *mapped = "ctrl\xe2\x98\xbaname.jpg"; /* ctrl U+263A name */
    struct jpeg j;
    struct zipf_limits lim;
    struct zipf_listing *l;
    struct zipf_reader *r;
    char path[FS_PATH_MAX], err[ERR_MAX] = "", name[ZIPF_NAME_MAX];
    struct zentry e[2];
    uint8_t *buf = NULL;
    size_t len = 0;

    unit_path(path, dir, "ctrl.zip");
    jpeg_make(&j, 32, 32, 64, 4);
    zipf_limits_init(&lim);
    e[0] = (struct zentry){"good.jpg", j.b, j.len, STORE};
    e[1] = (struct zentry){"ctrlXname.jpg", j.b, j.len, STORE};
    zip_build(path, e, 2);
    file_patch(path, "ctrlXname", "ctrl\x01name", 2);
    l = list_ok(path, &lim);
    assert_int_equal(l->count, 2);
    assert_string_equal(zipf_frame_name(l, 0, name), mapped);
    assert_int_equal(fs_relpath_is_safe(name), 1);
    r = zipf_reader_open(path, err, sizeof(err));
    assert_non_null(r);
    if (zipf_reader_read(r, name, l->frames[0].size, l->frames[0].crc, &buf,
                         &len, err, sizeof(err)) != 0)
        fail_msg("listed name not readable: %s", err);
    assert_memory_equal(buf, j.b, j.len);
    free(buf);
    zipf_reader_close(r);
    zipf_listing_free(l);

    e[1] = (struct zentry){"ctrlX\xc3\xa9.jpg", j.b, j.len, STORE}; /* UTF-8 */
    zip_build(path, e, 2);
    file_patch(path, "ctrlX", "ctrl\x01", 2);
    expect_refused(path, &lim, "cannot open zip");
}

static void
test_empty_name_refused(void **state)
{
    const char *dir = *state;
    struct jpeg j;
    struct zipf_limits lim;
    char path[FS_PATH_MAX];
    struct zentry e[2];

    unit_path(path, dir, "empty-name.zip");
    jpeg_make(&j, 32, 32, 64, 4);
    e[0] = (struct zentry){"good.jpg", j.b, j.len, STORE};
    e[1] = (struct zentry){"", j.b, j.len, STORE};
    zip_build(path, e, 2);
    zipf_limits_init(&lim);
    expect_refused(path, &lim, "empty");
}

static void
test_duplicate_names_refused(void **state)
{
    const char *dir = *state;
    struct jpeg a, b;
    struct zipf_limits lim;
    char path[FS_PATH_MAX];
    struct zentry e[2];

    unit_path(path, dir, "dup.zip");
    jpeg_make(&a, 32, 32, 64, 5);
    jpeg_make(&b, 32, 32, 64, 6);
    e[0] = (struct zentry){"frame_A.jpg", a.b, a.len, STORE};
    e[1] = (struct zentry){"frame_B.jpg", b.b, b.len, STORE};
    zip_build(path, e, 2);
    file_patch(path, "frame_B.jpg", "frame_A.jpg", 2);
    zipf_limits_init(&lim);
    expect_refused(path, &lim, "appears twice");
}

static void
test_entry_over_limit_refused(void **state)
{
    const char *dir = *state;
    static char text[300];
    struct jpeg small, big;
    struct zipf_limits lim;
    char path[FS_PATH_MAX];
    struct zentry e[2];

    unit_path(path, dir, "big.zip");
    jpeg_make(&small, 32, 32, 100, 7);
    jpeg_make(&big, 32, 32, 101, 8);
    zipf_limits_init(&lim);
    lim.max_entry_bytes = 100;

    e[0] = (struct zentry){"a.jpg", small.b, small.len, STORE};
    e[1] = (struct zentry){"b.jpg", small.b, small.len, DEFLATE};
    zip_build(path, e, 2);
    zipf_listing_free(list_ok(path, &lim)); /* exactly at the limit */

    e[1] = (struct zentry){"b.jpg", big.b, big.len, STORE};
    zip_build(path, e, 2);
    expect_refused(path, &lim, "over the 100-byte limit");

    /* The limit holds for entries of any kind. */
    memset(text, 'x', sizeof(text));
    e[1] = (struct zentry){"notes.txt", (const uint8_t *)text, sizeof(text),
                           STORE};
    zip_build(path, e, 2);
    expect_refused(path, &lim, "over the 100-byte limit");
}

static void
test_total_over_limit_refused(void **state)
{
    const char *dir = *state;
    struct jpeg j[3];
    struct zentry e[3];
    struct zipf_limits lim;
    char path[FS_PATH_MAX];

    unit_path(path, dir, "total.zip");
    for (size_t i = 0; i < 3; i++) {
        jpeg_make(&j[i], 32, 32, 100, 10 + (uint32_t)i);
        e[i] = (struct zentry){i == 0   ? "f1.jpg"
                               : i == 1 ? "f2.jpg"
                                        : "f3.jpg",
                               j[i].b, j[i].len, STORE};
    }
    zip_build(path, e, 3);
    zipf_limits_init(&lim);
    lim.max_total_bytes = 300;
    zipf_listing_free(list_ok(path, &lim)); /* exactly at the limit */
    lim.max_total_bytes = 299;
    expect_refused(path, &lim, "exceed the 299-byte limit");
}

static void
test_too_many_entries_refused(void **state)
{
    const char *dir = *state;
    static const char text[] = "readme";
    struct jpeg j;
    struct zentry e[3];
    struct zipf_limits lim;
    char path[FS_PATH_MAX];

    unit_path(path, dir, "many.zip");
    jpeg_make(&j, 32, 32, 64, 20);
    e[0] = (struct zentry){"f1.jpg", j.b, j.len, STORE};
    e[1] = (struct zentry){"f2.jpg", j.b, j.len, STORE};
    e[2] = (struct zentry){"README", (const uint8_t *)text, sizeof(text) - 1,
                           STORE};
    zip_build(path, e, 3);
    zipf_limits_init(&lim);
    lim.max_entries = 3;
    zipf_listing_free(list_ok(path, &lim));
    lim.max_entries = 2; /* entries of any kind count */
    expect_refused(path, &lim, "over the limit");
}

/* One more entry than the old fixed cap (200,000) accepted: the default
 * now takes it (a 1,000,000-set job needs 1,000,000 entries), and
 * zip_max_entries still refuses past what it is set to. */
#define MANY_ENTRIES 200001u
#define MANY_NAME_MAX 16
static void
test_more_entries_than_old_cap(void **state)
{
    const char *dir = *state;
    struct jpeg j;
    struct zentry *e = calloc(MANY_ENTRIES, sizeof(*e));
    char(*names)[MANY_NAME_MAX] = calloc(MANY_ENTRIES, sizeof(*names));
    struct zipf_limits lim;
    struct zipf_listing *l;
    char path[FS_PATH_MAX];

    assert_non_null(e);
    assert_non_null(names);
    unit_path(path, dir, "many.zip");
    jpeg_make(&j, 16, 16, 32, 7);
    for (uint32_t i = 0; i < MANY_ENTRIES; i++) {
        snprintf(names[i], sizeof(names[i]), "f%06u.jpg", i);
        e[i] = (struct zentry){names[i], j.b, j.len, STORE};
    }
    zip_build(path, e, MANY_ENTRIES);
    zipf_limits_init(&lim);
    assert_true(lim.max_entries >= 1000000u);
    l = list_ok(path, &lim);
    assert_int_equal(l->count, MANY_ENTRIES);
    zipf_listing_free(l);
    lim.max_entries = MANY_ENTRIES - 1;
    expect_refused(path, &lim, "over the limit");
    free(names);
    free(e);
}

static void
test_zip_bomb_refused(void **state)
{
    const char *dir = *state;
    uint8_t *bomb = calloc(1, BOMB_BYTES);
    struct jpeg j;
    struct zentry e[1];
    struct zipf_limits lim;
    char path[FS_PATH_MAX];

    assert_non_null(bomb);
    unit_path(path, dir, "bomb.zip");
    jpeg_make(&j, 32, 32, 64, 21);
    memcpy(bomb, j.b, 20); /* a JPEG header, then a megabyte of zeros */
    e[0] = (struct zentry){"bomb.jpg", bomb, BOMB_BYTES, DEFLATE};
    zip_build(path, e, 1);
    zipf_limits_init(&lim);
    expect_refused(path, &lim, "zip bomb");
    free(bomb);
}

static void
test_not_a_zip_refused(void **state)
{
    const char *dir = *state;
    static const char text[] = "PK but not really a zip file\n";
    struct zipf_limits lim;
    struct zipf_reader *r;
    char path[FS_PATH_MAX], missing[FS_PATH_MAX], err[ERR_MAX] = "";

    unit_path(path, dir, "fake.zip");
    unit_path(missing, dir, "missing.zip");
    file_write(path, text, sizeof(text) - 1);
    zipf_limits_init(&lim);
    expect_refused(path, &lim, "cannot open zip");
    expect_refused(missing, &lim, "cannot open zip");

    r = zipf_reader_open(path, err, sizeof(err));
    assert_null(r);
    assert_contains(err, "cannot open zip");
}

/* A zip with one stored and one deflated frame; returns their bytes. */
static void
reader_zip(const char *path, struct jpeg *a, struct jpeg *b)
{
    struct zentry e[2];
    jpeg_make(a, 320, 240, 1000, 30);
    jpeg_make(b, 320, 240, 3000, 31);
    memcpy(a->b + 500, "MARKER", 6); /* found again in the stored bytes */
    e[0] = (struct zentry){"set/a.jpg", a->b, a->len, STORE};
    e[1] = (struct zentry){"set/b.jpg", b->b, b->len, DEFLATE};
    zip_build(path, e, 2);
}

static void
test_reader_reads_entries(void **state)
{
    const char *dir = *state;
    struct jpeg a, b;
    struct zipf_reader *r;
    char path[FS_PATH_MAX], err[ERR_MAX] = "";
    const struct jpeg *want[2] = {&a, &b};
    const char *names[2] = {"set/a.jpg", "set/b.jpg"};

    unit_path(path, dir, "r.zip");
    reader_zip(path, &a, &b);
    r = zipf_reader_open(path, err, sizeof(err));
    if (r == NULL)
        fail_msg("zipf_reader_open: %s", err);
    for (int i = 0; i < 2; i++) {
        uint8_t *buf = NULL;
        size_t len = 0;
        if (zipf_reader_read(r, names[i], want[i]->len,
                             hash_crc32(want[i]->b, want[i]->len), &buf, &len,
                             err, sizeof(err)) != 0)
            fail_msg("read %s: %s", names[i], err);
        assert_int_equal(len, want[i]->len);
        assert_memory_equal(buf, want[i]->b, len);
        free(buf);
    }
    zipf_reader_close(r);
}

/* A node with two slots renders two sets of one zip at once: both
 * readers are kept when closed and both come back for the next two sets
 * (no second parse of the zip's directory a set), and still read. */
static void
test_readers_kept_for_concurrent_sets(void **state)
{
    const char *dir = *state;
    struct jpeg a, b;
    struct zipf_reader *r1, *r2, *s1, *s2, *r3;
    char path[FS_PATH_MAX], err[ERR_MAX] = "";
    uint8_t *buf = NULL;
    size_t len = 0;

    unit_path(path, dir, "two.zip");
    reader_zip(path, &a, &b);
    r1 = zipf_reader_open(path, err, sizeof(err));
    r2 = zipf_reader_open(path, err, sizeof(err));
    assert_non_null(r1);
    assert_non_null(r2);
    assert_ptr_not_equal(r1, r2);
    zipf_reader_close(r1);
    zipf_reader_close(r2);
    s1 = zipf_reader_open(path, err, sizeof(err));
    s2 = zipf_reader_open(path, err, sizeof(err));
    r3 = zipf_reader_open(path, err, sizeof(err)); /* none idle: its own */
    assert_non_null(s1);
    assert_non_null(s2);
    assert_non_null(r3);
    assert_true((s1 == r1 && s2 == r2) || (s1 == r2 && s2 == r1));
    assert_ptr_not_equal(r3, r1);
    assert_ptr_not_equal(r3, r2);
    if (zipf_reader_read(s2, "set/b.jpg", b.len, hash_crc32(b.b, b.len), &buf,
                         &len, err, sizeof(err)) != 0)
        fail_msg("kept reader: %s", err);
    assert_memory_equal(buf, b.b, b.len);
    free(buf);
    zipf_reader_close(s1);
    zipf_reader_close(s2);
    zipf_reader_close(r3);
}

static void
expect_read_error(struct zipf_reader *r, const char *name, uint64_t size,
                  uint32_t crc, const char *want)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    char err[ERR_MAX] = "";

    if (zipf_reader_read(r, name, size, crc, &buf, &len, err, sizeof(err)) !=
        -1) {
        free(buf);
        fail_msg("read %s (size %llu crc %08x) succeeded, want \"%s\"", name,
                 (unsigned long long)size, crc, want);
    }
    assert_null(buf);
    assert_contains(err, want);
}

/* The manifest's size and CRC are checked: a node never encodes bytes
 * other than the ones the ambassador listed. */
static void
test_reader_checks_size_and_crc(void **state)
{
    const char *dir = *state;
    struct jpeg a, b;
    struct zipf_reader *r;
    char path[FS_PATH_MAX], err[ERR_MAX] = "";
    uint32_t crc_a, crc_b;

    unit_path(path, dir, "r.zip");
    reader_zip(path, &a, &b);
    crc_a = hash_crc32(a.b, a.len);
    crc_b = hash_crc32(b.b, b.len);
    r = zipf_reader_open(path, err, sizeof(err));
    assert_non_null(r);
    expect_read_error(r, "set/a.jpg", a.len + 1, crc_a, "expected 1001");
    expect_read_error(r, "set/a.jpg", a.len - 1, crc_a, "expected 999");
    expect_read_error(r, "set/a.jpg", a.len, crc_a ^ 1, "CRC-32 mismatch");
    expect_read_error(r, "set/b.jpg", b.len, crc_a, "CRC-32 mismatch");
    expect_read_error(r, "set/c.jpg", 10, 0, "no entry");
    expect_read_error(r, "SET/A.JPG", a.len, crc_a, "no entry");
    /* Still usable after errors. */
    {
        uint8_t *buf = NULL;
        size_t len = 0;
        assert_int_equal(zipf_reader_read(r, "set/b.jpg", b.len, crc_b, &buf,
                                          &len, err, sizeof(err)),
                         0);
        free(buf);
    }
    zipf_reader_close(r);
}

/* A stored entry whose bytes changed on disk after the listing. */
static void
test_reader_detects_corruption(void **state)
{
    const char *dir = *state;
    struct jpeg a, b;
    struct zipf_reader *r;
    char path[FS_PATH_MAX], err[ERR_MAX] = "";

    unit_path(path, dir, "r.zip");
    reader_zip(path, &a, &b);
    file_patch(path, "MARKER", "MARKEd", 1);
    r = zipf_reader_open(path, err, sizeof(err));
    if (r == NULL)
        fail_msg("zipf_reader_open: %s", err);
    expect_read_error(r, "set/a.jpg", a.len, hash_crc32(a.b, a.len), "CRC");
    zipf_reader_close(r);
}

/* A nuScenes download in miniature: three cameras (entries scrambled),
 * a lidar sweep, and a preview JPEG that names no camera. */
#define SIX_ENTRIES 8
static const char *const six_front[] = {
    "samples/CAM_FRONT/n008__CAM_FRONT__1533151603512404.jpg",
    "samples/CAM_FRONT/n008__CAM_FRONT__1533151603595738.jpg",
    "samples/CAM_FRONT/n008__CAM_FRONT__1533151603762404.jpg",
};
static const char *const six_back[] = {
    "samples/CAM_BACK/n008__CAM_BACK__1533151603537404.jpg",
    "samples/CAM_BACK/n008__CAM_BACK__1533151603620738.jpg",
};

static void
six_zip(const char *path, struct jpeg *j)
{
    static const char lidar[] = "not a picture: a point cloud";
    struct zentry e[SIX_ENTRIES];

    for (size_t i = 0; i < SIX_ENTRIES; i++)
        jpeg_make(&j[i], 640, 360, 100 + i * 7, (uint32_t)i);
    e[0] = (struct zentry){six_back[1], j[0].b, j[0].len, STORE};
    e[1] = (struct zentry){six_front[2], j[1].b, j[1].len, STORE};
    e[2] = (struct zentry){"samples/LIDAR_TOP/n008__LIDAR_TOP__1533151603512404"
                           ".pcd.bin",
                           (const uint8_t *)lidar, sizeof(lidar) - 1, STORE};
    e[3] = (struct zentry){six_front[0], j[3].b, j[3].len, STORE};
    e[4] = (struct zentry){
        "samples/CAM_FRONT_LEFT/n008__CAM_FRONT_LEFT__1533151603504404.jpg",
        j[4].b, j[4].len, STORE};
    e[5] = (struct zentry){six_back[0], j[5].b, j[5].len, STORE};
    e[6] = (struct zentry){"preview.jpg", j[6].b, j[6].len, STORE};
    e[7] = (struct zentry){six_front[1], j[7].b, j[7].len, STORE};
    zip_build(path, e, SIX_ENTRIES);
}

/* Only the camera asked for (CAM_FRONT by default) becomes frames, in
 * capture order; the other cameras' entries are counted by camera, the
 * JPEG that names none and the lidar file are skipped too, and the
 * report says so. */
static void
test_camera_taken_from_several(void **state)
{
    const char *dir = *state;
    struct jpeg j[SIX_ENTRIES];
    struct zipf_limits lim;
    struct zipf_listing *l;
    char path[FS_PATH_MAX], what[ERR_MAX];

    unit_path(path, dir, "six.zip");
    six_zip(path, j);
    zipf_limits_init(&lim);
    assert_string_equal(lim.camera, "CAM_FRONT");
    l = list_ok(path, &lim);
    expect_frames(l, six_front, 3);
    assert_string_equal(l->camera, "CAM_FRONT");
    assert_int_equal(l->by_timestamp, 1);
    assert_int_equal(zipf_frame_ts(l, 0), 1533151603512404ull);
    assert_int_equal(zipf_frame_ts(l, 2), 1533151603762404ull);
    assert_int_equal(l->skipped_camera, 3);
    assert_int_equal(l->skipped_unnamed, 1);
    assert_int_equal(l->skipped, 1);
    assert_int_equal(l->ncameras, 3);
    assert_string_equal(l->cameras[0].name, "CAM_BACK");
    assert_int_equal(l->cameras[0].entries, 2);
    assert_string_equal(l->cameras[1].name, "CAM_FRONT");
    assert_int_equal(l->cameras[1].entries, 3);
    assert_string_equal(l->cameras[2].name, "CAM_FRONT_LEFT");
    assert_int_equal(l->cameras[2].entries, 1);
    zipf_describe(l, what, sizeof(what));
    assert_contains(what, "3 frames of CAM_FRONT (timestamp order)");
    assert_contains(what, "skipped 3 entries of other cameras (CAM_BACK 2, "
                          "CAM_FRONT_LEFT 1)");
    assert_contains(what, "skipped 1 JPEGs that name no camera");
    assert_contains(what, "skipped 1 entries that are not JPEGs");
    zipf_listing_free(l);

    snprintf(lim.camera, sizeof(lim.camera), "CAM_BACK");
    l = list_ok(path, &lim);
    expect_frames(l, six_back, 2);
    assert_string_equal(l->camera, "CAM_BACK");
    assert_int_equal(l->skipped_camera, 4);
    zipf_listing_free(l);
}

/* A camera the zip does not have: refused before anything, naming the
 * cameras it has. */
static void
test_absent_camera_refused(void **state)
{
    const char *dir = *state;
    struct jpeg j[SIX_ENTRIES];
    struct zipf_limits lim;
    char path[FS_PATH_MAX];

    unit_path(path, dir, "six.zip");
    six_zip(path, j);
    zipf_limits_init(&lim);
    snprintf(lim.camera, sizeof(lim.camera), "CAM_BACK_RIGHT");
    expect_refused(path, &lim, "no frames of camera CAM_BACK_RIGHT");
    expect_refused(path, &lim,
                   "the cameras there are: CAM_BACK 2, CAM_FRONT 3, "
                   "CAM_FRONT_LEFT 1");
}

/* The fingerprint is of the frames taken: a camera's frames give the same
 * job whether the zip holds that camera alone or all of them. */
static void
test_camera_fingerprint_is_its_frames(void **state)
{
    const char *dir = *state;
    struct jpeg j[SIX_ENTRIES];
    struct zipf_limits lim;
    struct zipf_listing *a, *b;
    struct zentry e[3];
    char six[FS_PATH_MAX], one[FS_PATH_MAX];
    char fa[HASH_HEX_LEN + 1], fb[HASH_HEX_LEN + 1];

    unit_path(six, dir, "six.zip");
    unit_path(one, dir, "front.zip");
    six_zip(six, j);
    /* six_zip's CAM_FRONT frames, alone, in another order */
    e[0] = (struct zentry){six_front[1], j[7].b, j[7].len, DEFLATE};
    e[1] = (struct zentry){six_front[0], j[3].b, j[3].len, STORE};
    e[2] = (struct zentry){six_front[2], j[1].b, j[1].len, DEFLATE};
    zip_build(one, e, 3);
    zipf_limits_init(&lim);
    a = list_ok(six, &lim);
    b = list_ok(one, &lim);
    assert_int_equal(zipf_fingerprint(a, fa), 0);
    assert_int_equal(zipf_fingerprint(b, fb), 0);
    assert_string_equal(fa, fb);
    zipf_listing_free(a);
    zipf_listing_free(b);
    snprintf(lim.camera, sizeof(lim.camera), "CAM_BACK");
    a = list_ok(six, &lim);
    assert_int_equal(zipf_fingerprint(a, fa), 0);
    if (strcmp(fa, fb) == 0)
        fail_msg("CAM_BACK's frames have CAM_FRONT's fingerprint %s", fa);
    zipf_listing_free(a);
}

/* Names that name no camera: the zip is taken whole, whatever camera is
 * asked for; folders named after cameras say it as well as names do. */
static void
test_camera_names_absent_or_folders(void **state)
{
    const char *dir = *state;
    const char *const plain[] = {"f1.jpg", "f2.jpg"};
    const char *const plain_zipped[] = {"f2.jpg", "f1.jpg"};
    const char *const folder_front[] = {"CAM_FRONT/f1.jpg", "CAM_FRONT/f2.jpg"};
    const char *const folders[] = {"CAM_FRONT/f2.jpg", "CAM_BACK/f1.jpg",
                                   "CAM_FRONT/f1.jpg"};
    struct jpeg j;
    struct zipf_listing *l;
    char path[FS_PATH_MAX], what[ERR_MAX];

    unit_path(path, dir, "plain.zip");
    jpeg_make(&j, 64, 48, 64, 3);
    l = list_names(path, plain_zipped, 2, &j, "CAM_BACK");
    expect_frames(l, plain, 2);
    assert_string_equal(l->camera, "");
    assert_int_equal(l->ncameras, 0);
    zipf_describe(l, what, sizeof(what));
    assert_contains(what, "2 frames (natural order; no camera names");
    zipf_listing_free(l);

    unit_path(path, dir, "folders.zip");
    l = list_names(path, folders, 3, &j, NULL);
    expect_frames(l, folder_front, 2);
    assert_int_equal(l->skipped_camera, 1);
    zipf_listing_free(l);
}

/* The names a listing keeps (each coded against the one before) read
 * back as they went in, in any order: runs, shared parts longer than a
 * byte counts, a name that is the start of the one before, equal ones. */
#define CODED_N 40
#define CODED_LONG 300

static void
test_names_read_back(void **state)
{
    static char store[CODED_N][ZIPF_NAME_MAX];
    const char *names[CODED_N];
    struct zipf_frame frame[CODED_N];
    struct zipf_listing l;
    char name[ZIPF_NAME_MAX], lead[CODED_LONG + 1];

    (void)state;
    memset(lead, 'a', CODED_LONG);
    lead[CODED_LONG] = '\0';
    memset(&l, 0, sizeof(l));
    memset(frame, 0, sizeof(frame));
    for (size_t i = 0; i < CODED_N; i++) {
        if (i % 7 == 3) /* the start of the one before */
            snprintf(store[i], strlen(store[i - 1]) - 3, "%s", store[i - 1]);
        else if (i % 7 == 5) /* the same as the one before */
            snprintf(store[i], sizeof(store[i]), "%s", store[i - 1]);
        else
            snprintf(store[i], sizeof(store[i]), "%s/%s__%llu.jpg", lead,
                     i % 2 ? "CAM_FRONT" : "CAM_BACK",
                     1533151603512404ull + 50000ull * i);
        names[i] = store[i];
    }
    l.frames = frame;
    l.count = CODED_N;
    assert_int_equal(zipf_listing_set_names(&l, names), 0);
    for (size_t i = CODED_N; i-- > 0;)
        if (strcmp(zipf_frame_name(&l, i, name), names[i]) != 0)
            fail_msg("frame %zu reads \"%s\", went in as \"%s\"", i, name,
                     names[i]);
    for (size_t i = 0; i < CODED_N; i++)
        assert_string_equal(zipf_frame_name(&l, i, name), names[i]);
    free(l.names);
}

/* The fingerprint is of the names, sizes, CRC-32s and picture sizes as
 * they were always laid out (a changed one would make every job already
 * journaled another job's input). */
static void
test_fingerprint_layout(void **state)
{
    const char *names[] = {"a.jpg", "b/c.jpg"};
    struct zipf_frame frame[] = {
        {.size = 10, .crc = 0x01020304, .width = 16, .height = 8},
        {.size = 20, .crc = 0xdeadbeef, .width = 32, .height = 16},
    };
    struct zipf_listing l;
    char hex[HASH_HEX_LEN + 1];

    (void)state;
    memset(&l, 0, sizeof(l));
    l.frames = frame;
    l.count = 2;
    assert_int_equal(zipf_listing_set_names(&l, names), 0);
    assert_int_equal(zipf_fingerprint(&l, hex), 0);
    assert_string_equal(
        hex,
        "ba1207f056b586ef2e40f4a3ef1f12d8597eca2a223c97b8a325a876998e5f48");
    free(l.names);
}

#define TMP_TEST(f)                                                            \
    cmocka_unit_test_setup_teardown(f, unit_tmpdir_setup, unit_tmpdir_teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        TMP_TEST(test_timestamp_order_from_scrambled_zip),
        TMP_TEST(test_natural_order_without_timestamps),
        TMP_TEST(test_non_jpeg_entries_skipped),
        TMP_TEST(test_camera_taken_from_several),
        TMP_TEST(test_absent_camera_refused),
        TMP_TEST(test_camera_fingerprint_is_its_frames),
        TMP_TEST(test_camera_names_absent_or_folders),
        TMP_TEST(test_sof_after_large_metadata),
        TMP_TEST(test_no_jpeg_refused),
        TMP_TEST(test_unrenderable_frames_refused),
        TMP_TEST(test_unsafe_names_refused),
        TMP_TEST(test_control_char_names),
        TMP_TEST(test_empty_name_refused),
        TMP_TEST(test_duplicate_names_refused),
        TMP_TEST(test_entry_over_limit_refused),
        TMP_TEST(test_total_over_limit_refused),
        TMP_TEST(test_too_many_entries_refused),
        TMP_TEST(test_more_entries_than_old_cap),
        TMP_TEST(test_zip_bomb_refused),
        TMP_TEST(test_not_a_zip_refused),
        TMP_TEST(test_reader_reads_entries),
        TMP_TEST(test_readers_kept_for_concurrent_sets),
        TMP_TEST(test_reader_checks_size_and_crc),
        TMP_TEST(test_reader_detects_corruption),
        cmocka_unit_test(test_names_read_back),
        cmocka_unit_test(test_fingerprint_layout),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
