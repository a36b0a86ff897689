/*
 * test_jpeghdr.c - JPEG recognition by content (common/jpeghdr.h): the size
 * from the SOF marker, "need more bytes" for every truncation, and -1 for
 * anything else. Each input is copied into a buffer of exactly its length
 * so the ASan build catches any read past it.
 */
#include "tests/unit/unit.h"

#include <turbojpeg.h>

#include "common/jpeghdr.h"

#define HDR_MAX 70000
#define SOF_LEN 17 /* the SOF length field: 8 + 3 components x 3 */
#define APP1_LONG 60000

struct bytes {
    uint8_t b[HDR_MAX];
    size_t n;
};

static void
put(struct bytes *x, const uint8_t *p, size_t n)
{
    assert_true(x->n + n <= sizeof(x->b));
    memcpy(x->b + x->n, p, n);
    x->n += n;
}

static void
put_marker(struct bytes *x, uint8_t m)
{
    const uint8_t mk[2] = {0xFF, m};
    put(x, mk, sizeof(mk));
}

/* A marker segment: FF m, 16-bit length (including itself), payload. */
static void
put_segment(struct bytes *x, uint8_t m, const uint8_t *payload, size_t n)
{
    uint8_t len[2] = {(uint8_t)((n + 2) >> 8), (uint8_t)(n + 2)};
    put_marker(x, m);
    put(x, len, sizeof(len));
    if (n > 0)
        put(x, payload, n);
}

static void
put_app0(struct bytes *x)
{
    static const uint8_t jfif[] = {'J', 'F', 'I', 'F', 0, 1, 1,
                                   0,   0,   1,   0,   1, 0, 0};
    put_segment(x, 0xE0, jfif, sizeof(jfif));
}

/* SOFn for a width x height, 3-component image. Returns the offset at
 * which the whole SOF has been seen (the parser can answer from there). */
static size_t
put_sof(struct bytes *x, uint8_t m, int width, int height)
{
    const uint8_t sof[SOF_LEN - 2] = {8,
                                      (uint8_t)(height >> 8),
                                      (uint8_t)height,
                                      (uint8_t)(width >> 8),
                                      (uint8_t)width,
                                      3,
                                      1,
                                      0x22,
                                      0,
                                      2,
                                      0x11,
                                      1,
                                      3,
                                      0x11,
                                      1};
    put_segment(x, m, sof, sizeof(sof));
    /* From the marker: FF m, then length, precision, height, width and
     * component count (8 bytes). */
    return x->n - (2 + SOF_LEN) + 2 + 8;
}

/* Parse exactly len bytes of p from a buffer of exactly that size. */
static int
parse_exact(const uint8_t *p, size_t len, struct jpeghdr *h)
{
    uint8_t *copy = malloc(len > 0 ? len : 1);
    int rc;
    assert_non_null(copy);
    if (len > 0)
        memcpy(copy, p, len);
    rc = jpeghdr_parse(copy, len, h);
    free(copy);
    return rc;
}

/* Every prefix shorter than ready gives 0, every longer one 1 with the
 * size. */
static void
expect_prefixes(const uint8_t *p, size_t n, size_t ready, int width, int height)
{
    for (size_t len = 0; len <= n; len++) {
        struct jpeghdr h = {0, 0, 0};
        int rc = parse_exact(p, len, &h);
        int want = len < ready ? 0 : 1;
        if (rc != want)
            fail_msg("prefix of %zu bytes (SOF complete at %zu): got %d, "
                     "want %d",
                     len, ready, rc, want);
        if (rc == 1) {
            assert_int_equal(h.width, width);
            assert_int_equal(h.height, height);
            assert_int_equal(h.components, 3);
        }
    }
}

static void
test_baseline_header(void **state)
{
    struct bytes x = {.n = 0};
    struct jpeghdr h = {0, 0, 0};
    size_t ready;
    (void)state;

    put_marker(&x, 0xD8);
    put_app0(&x);
    ready = put_sof(&x, 0xC0, 1600, 900);
    put_marker(&x, 0xD9);
    assert_int_equal(parse_exact(x.b, x.n, &h), 1);
    assert_int_equal(h.width, 1600);
    assert_int_equal(h.height, 900);
    assert_int_equal(h.components, 3);
    expect_prefixes(x.b, x.n, ready, 1600, 900);
}

/* Exif (APP1) is often tens of kilobytes before the SOF; DHT (C4) lies in
 * the SOF range but is not one; progressive files use SOF2; fill bytes may
 * precede a marker. */
static void
test_sof_after_long_segments(void **state)
{
    static struct bytes x;
    static uint8_t exif[APP1_LONG];
    static const uint8_t dht[] = {0x00, 1, 0, 0, 0, 0, 0, 0, 0,
                                  0,    0, 0, 0, 0, 0, 0, 0, 0x2a};
    const uint8_t fill[] = {0xFF, 0xFF};
    size_t ready;
    (void)state;

    x.n = 0;
    memset(exif, 0xFF, sizeof(exif)); /* looks like markers: must be skipped */
    memcpy(exif, "Exif\0\0", 6);
    put_marker(&x, 0xD8);
    put_segment(&x, 0xE1, exif, sizeof(exif));
    put_segment(&x, 0xC4, dht, sizeof(dht));
    put(&x, fill, sizeof(fill));
    ready = put_sof(&x, 0xC2, 4000, 3000);
    put_marker(&x, 0xD9);
    expect_prefixes(x.b, x.n, ready, 4000, 3000);
}

/* A real encoder's output: DQT and DHT segments come before the SOF. */
static void
test_real_jpeg(void **state)
{
    enum { W = 48, H = 32 };
    static uint8_t rgb[W * H * 3];
    unsigned char *jpeg = NULL;
    unsigned long jpeg_len = 0;
    struct jpeghdr h = {0, 0, 0};
    tjhandle tj = tjInitCompress();
    size_t ready = 0;
    (void)state;

    assert_non_null(tj);
    for (size_t i = 0; i < sizeof(rgb); i++)
        rgb[i] = (uint8_t)(i * 7);
    if (tjCompress2(tj, rgb, W, 0, H, TJPF_RGB, &jpeg, &jpeg_len, TJSAMP_420,
                    90, 0) != 0)
        fail_msg("tjCompress2: %s", tjGetErrorStr2(tj));
    assert_int_equal(parse_exact(jpeg, jpeg_len, &h), 1);
    assert_int_equal(h.width, W);
    assert_int_equal(h.height, H);
    assert_int_equal(h.components, 3);
    /* Find where the first answer comes, then check every prefix. */
    while (parse_exact(jpeg, ready, &h) == 0)
        ready++;
    assert_true(ready > 100); /* past the quantisation tables */
    expect_prefixes(jpeg, jpeg_len, ready, W, H);
    tjFree(jpeg);
    tjDestroy(tj);
}

static void
expect_not_jpeg(const uint8_t *p, size_t n, const char *what)
{
    struct jpeghdr h = {0, 0, 0};
    int rc = parse_exact(p, n, &h);
    if (rc != -1)
        fail_msg("%s: got %d, want -1", what, rc);
}

static void
test_not_jpeg(void **state)
{
    static const uint8_t png[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a,
                                  '\n', 0,   0,   0,   13,   'I',  'H',
                                  'D',  'R', 0,   0,   1,    0};
    static const uint8_t gif[] = {'G', 'I', 'F', '8', '9', 'a', 1, 0};
    static const uint8_t text[] = "hello, this is not a picture\n";
    static const uint8_t one[] = {0x89};
    static const uint8_t soi_eoi[] = {0xFF, 0xD8, 0xFF, 0xD9};
    static const uint8_t soi_sos[] = {0xFF, 0xD8, 0xFF, 0xDA, 0,    8,
                                      1,    1,    0,    0,    0x3f, 0};
    static const uint8_t soi_junk[] = {0xFF, 0xD8, 0x12, 0x34};
    static const uint8_t soi_soi[] = {0xFF, 0xD8, 0xFF, 0xD8};
    static const uint8_t short_seg[] = {0xFF, 0xD8, 0xFF, 0xE0, 0, 1};
    static const uint8_t short_sof[] = {0xFF, 0xD8, 0xFF, 0xC0, 0, 7,
                                        8,    0,    16,   0,    16};
    static const uint8_t zero_w[] = {0xFF, 0xD8, 0xFF, 0xC0, 0, 11,   8, 0,
                                     16,   0,    0,    1,    1, 0x11, 0};
    static const uint8_t zero_comp[] = {0xFF, 0xD8, 0xFF, 0xC0, 0,  8,
                                        8,    0,    16,   0,    16, 0};
    (void)state;

    expect_not_jpeg(png, sizeof(png), "PNG header");
    expect_not_jpeg(gif, sizeof(gif), "GIF header");
    expect_not_jpeg(text, sizeof(text) - 1, "text");
    expect_not_jpeg(one, sizeof(one), "one non-0xFF byte");
    expect_not_jpeg(soi_eoi, sizeof(soi_eoi), "SOI then EOI");
    expect_not_jpeg(soi_sos, sizeof(soi_sos), "scan before any SOF");
    expect_not_jpeg(soi_junk, sizeof(soi_junk), "SOI then a non-marker");
    expect_not_jpeg(soi_soi, sizeof(soi_soi), "SOI twice");
    expect_not_jpeg(short_seg, sizeof(short_seg), "segment length 1");
    expect_not_jpeg(short_sof, sizeof(short_sof), "SOF length 7");
    expect_not_jpeg(zero_w, sizeof(zero_w), "width 0");
    expect_not_jpeg(zero_comp, sizeof(zero_comp), "no components");
}

static void
test_empty_and_lone_ff_need_more(void **state)
{
    static const uint8_t ff[] = {0xFF};
    static const uint8_t soi_ff[] = {0xFF, 0xD8, 0xFF, 0xFF, 0xFF};
    struct jpeghdr h;
    (void)state;

    assert_int_equal(parse_exact(ff, 0, &h), 0);
    assert_int_equal(parse_exact(ff, sizeof(ff), &h), 0);
    assert_int_equal(parse_exact(soi_ff, sizeof(soi_ff), &h), 0);
}

static uint64_t
rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

#define RANDOM_ROUNDS 20000
#define RANDOM_LEN_MAX 64

/* Random bytes are not a JPEG; random corruptions of a real header never
 * read out of bounds and never report a zero size. */
static void
test_random_bytes(void **state)
{
    struct bytes base = {.n = 0};
    uint64_t rng = 0x0123456789abcdefull;
    uint8_t buf[RANDOM_LEN_MAX];
    (void)state;

    for (int i = 0; i < RANDOM_ROUNDS; i++) {
        size_t n = 2 + rng_next(&rng) % (RANDOM_LEN_MAX - 1);
        for (size_t k = 0; k < n; k++)
            buf[k] = (uint8_t)rng_next(&rng);
        if (buf[0] == 0xFF)
            buf[0] = 0; /* a JPEG starts with FF D8 */
        expect_not_jpeg(buf, n, "random bytes");
    }

    put_marker(&base, 0xD8);
    put_app0(&base);
    put_sof(&base, 0xC0, 640, 480);
    for (int i = 0; i < RANDOM_ROUNDS; i++) {
        struct jpeghdr h = {0, 0, 0};
        size_t n = rng_next(&rng) % (base.n + 1);
        int rc;
        memcpy(buf, base.b, base.n);
        for (int k = 0; k < 3; k++)
            buf[2 + rng_next(&rng) % (base.n - 2)] = (uint8_t)rng_next(&rng);
        rc = parse_exact(buf, n, &h);
        if (rc < -1 || rc > 1)
            fail_msg("got %d, want -1, 0 or 1", rc);
        if (rc == 1) {
            assert_true(h.width > 0);
            assert_true(h.height > 0);
            assert_true(h.components > 0);
        }
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_baseline_header),
        cmocka_unit_test(test_sof_after_long_segments),
        cmocka_unit_test(test_real_jpeg),
        cmocka_unit_test(test_not_jpeg),
        cmocka_unit_test(test_empty_and_lone_ff_need_more),
        cmocka_unit_test(test_random_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
