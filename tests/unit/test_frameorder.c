/*
 * test_frameorder.c - the video order of frame names (common/frameorder.h):
 * capture time for nuScenes names whatever the zip order, natural order
 * otherwise, and always one total order so every run agrees; and which
 * camera a name says took the frame.
 */
#include "tests/unit/unit.h"

#include "common/frameorder.h"

#define NAMES_MAX 16

/* Sort names (in the given order) and expect want, and the given mode. */
static void
expect_sorted(const char *const *names, size_t n, const char *const *want,
              int want_mode)
{
    size_t order[NAMES_MAX];
    int mode;

    assert_true(n <= NAMES_MAX);
    mode = frameorder_sort(names, n, order);
    assert_int_equal(mode, want_mode);
    for (size_t i = 0; i < n; i++) {
        assert_true(order[i] < n);
        if (strcmp(names[order[i]], want[i]) != 0)
            fail_msg("position %zu: got \"%s\", want \"%s\"", i,
                     names[order[i]], want[i]);
    }
}

/* Heap's algorithm, iteratively: visit every permutation of names. */
static void
expect_sorted_all_permutations(const char *const *sorted, size_t n,
                               int want_mode)
{
    const char *perm[NAMES_MAX];
    size_t c[NAMES_MAX] = {0}, i = 1, visited = 1;

    assert_true(n <= NAMES_MAX);
    memcpy(perm, sorted, n * sizeof(*perm));
    expect_sorted(perm, n, sorted, want_mode);
    while (i < n) {
        if (c[i] < i) {
            size_t j = i % 2 == 0 ? 0 : c[i];
            const char *t = perm[j];
            perm[j] = perm[i];
            perm[i] = t;
            expect_sorted(perm, n, sorted, want_mode);
            visited++;
            c[i]++;
            i = 1;
        } else {
            c[i] = 0;
            i++;
        }
    }
    assert_true(visited > 1 || n < 2);
}

static void
test_timestamp_order_whatever_the_zip_order(void **state)
{
    /* Video order; the log prefixes sort the other way round by name. */
    const char *const sorted[] = {
        "samples/CAM_FRONT/"
        "n015-2018-07-24-11-22-45+0800__CAM_FRONT__1532402927612460.jpg",
        "samples/CAM_FRONT/"
        "n008-2018-08-01-15-16-36-0400__CAM_FRONT__1532402927662460.jpg",
        "n015-2018-07-24-11-22-45+0800__CAM_FRONT__1532402927712460.jpg",
        "a__CAM_BACK__1532402927762460.JPEG",
        "n008-2018-08-01-15-16-36-0400__CAM_FRONT__1532402927812460.jpeg",
    };
    (void)state;

    expect_sorted_all_permutations(sorted, sizeof(sorted) / sizeof(sorted[0]),
                                   1);
}

/* Timestamps are compared as numbers, not strings. */
static void
test_timestamp_by_value(void **state)
{
    const char *const sorted[] = {"x__9.jpg", "x__10.jpg", "x__100.jpg",
                                  "x__18446744073709551.jpg"};
    (void)state;

    expect_sorted_all_permutations(sorted, sizeof(sorted) / sizeof(sorted[0]),
                                   1);
}

/* Two cameras with the same capture time: still one fixed order. */
static void
test_timestamp_ties_broken_by_name(void **state)
{
    const char *const sorted[] = {"log__CAM_BACK__5.jpg",
                                  "log__CAM_FRONT__5.jpg",
                                  "log__CAM_BACK__6.jpg"};
    (void)state;

    expect_sorted_all_permutations(sorted, sizeof(sorted) / sizeof(sorted[0]),
                                   1);
}

static void
test_natural_order_without_timestamps(void **state)
{
    const char *const sorted[] = {"f1.jpg", "f2.jpg", "f10.jpg", "f100.jpg",
                                  "g1.jpg"};
    (void)state;

    expect_sorted_all_permutations(sorted, sizeof(sorted) / sizeof(sorted[0]),
                                   0);
}

/* One name without a timestamp puts every name in natural order, even
 * though the timestamps would order them otherwise. */
static void
test_natural_order_when_one_name_lacks_timestamp(void **state)
{
    const char *const sorted[] = {"a__300.jpg", "b__200.jpg", "c.jpg",
                                  "d__100.jpg"};
    (void)state;

    expect_sorted_all_permutations(sorted, sizeof(sorted) / sizeof(sorted[0]),
                                   0);
}

/* Names equal by value ("a/1" and "a/01") still get a fixed order. */
static void
test_natural_equal_values_total_order(void **state)
{
    const char *const sorted[] = {"a/01.jpg", "a/1.jpg", "a/2.jpg",
                                  "a/002x.jpg"};
    int ab = frameorder_natural_cmp("a/1.jpg", "a/01.jpg");
    int ba = frameorder_natural_cmp("a/01.jpg", "a/1.jpg");
    (void)state;

    assert_int_not_equal(ab, 0);
    assert_int_equal(ab, -ba);
    assert_int_equal(frameorder_natural_cmp("a/1.jpg", "a/1.jpg"), 0);
    assert_true(frameorder_natural_cmp("f2.jpg", "f10.jpg") < 0);
    assert_true(frameorder_natural_cmp("f10.jpg", "f2.jpg") > 0);
    expect_sorted_all_permutations(sorted, sizeof(sorted) / sizeof(sorted[0]),
                                   0);
}

/* xorshift64: seeded, so a failure reproduces. */
static uint64_t
rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

#define PROP_STRINGS 80
#define PROP_LEN_MAX 6

static int
sign(int v)
{
    return (v > 0) - (v < 0);
}

/* frameorder_natural_cmp is a total order on arbitrary names: reflexive,
 * antisymmetric, transitive, and 0 only for equal strings. qsort relies on
 * all of it. */
static void
test_natural_cmp_is_total_order(void **state)
{
    static const char alphabet[] = "0012a./_";
    char s[PROP_STRINGS][PROP_LEN_MAX + 1];
    uint64_t rng = 0x5eed1234abcdull;
    (void)state;

    for (size_t i = 0; i < PROP_STRINGS; i++) {
        size_t len = rng_next(&rng) % (PROP_LEN_MAX + 1);
        for (size_t k = 0; k < len; k++)
            s[i][k] = alphabet[rng_next(&rng) % (sizeof(alphabet) - 1)];
        s[i][len] = '\0';
    }
    for (size_t i = 0; i < PROP_STRINGS; i++) {
        for (size_t j = 0; j < PROP_STRINGS; j++) {
            int ij = sign(frameorder_natural_cmp(s[i], s[j]));
            int ji = sign(frameorder_natural_cmp(s[j], s[i]));
            if (ij != -ji)
                fail_msg("not antisymmetric: \"%s\" vs \"%s\": %d and %d", s[i],
                         s[j], ij, ji);
            if ((ij == 0) != (strcmp(s[i], s[j]) == 0))
                fail_msg("\"%s\" vs \"%s\": %d", s[i], s[j], ij);
            if (ij > 0)
                continue;
            for (size_t k = 0; k < PROP_STRINGS; k++) {
                if (sign(frameorder_natural_cmp(s[j], s[k])) <= 0 &&
                    sign(frameorder_natural_cmp(s[i], s[k])) > 0)
                    fail_msg("not transitive: \"%s\" <= \"%s\" <= \"%s\" "
                             "but the first > the last",
                             s[i], s[j], s[k]);
            }
        }
    }
}

static void
expect_timestamp(const char *name, uint64_t want)
{
    uint64_t ts = 0;
    if (frameorder_timestamp(name, &ts) != 1)
        fail_msg("\"%s\": no timestamp, want %llu", name,
                 (unsigned long long)want);
    assert_int_equal(ts, want);
}

static void
test_timestamp_parse_accepts(void **state)
{
    (void)state;
    expect_timestamp(
        "n015-2018-07-24-11-22-45+0800__CAM_FRONT__1532402927612460.jpg",
        1532402927612460ull);
    expect_timestamp("samples/CAM_FRONT/x__CAM__42.jpg", 42);
    expect_timestamp("x__CAM__42.JPEG", 42);
    expect_timestamp("x__CAM__42.Jpg", 42);
    expect_timestamp("x__CAM__42.jpeg", 42);
    expect_timestamp("x__0.jpg", 0);
    expect_timestamp("x__9999999999999999999.jpg", 9999999999999999999ull);
}

static void
test_timestamp_parse_rejects(void **state)
{
    const char *bad[] = {
        "f1.jpg",
        "x__.jpg",
        "x__12a.jpg",
        "x__1 2.jpg",
        "x__-12.jpg",
        "x_12.jpg",
        "x__12.png",
        "x__12",
        "x__12.jpg.txt",
        "dir__12/frame.jpg",
        "x__12345678901234567890.jpg", /* 20 digits: over uint64_t */
        "",
    };
    (void)state;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint64_t ts = 777;
        if (frameorder_timestamp(bad[i], &ts) != 0)
            fail_msg("\"%s\" gave timestamp %llu, want none", bad[i],
                     (unsigned long long)ts);
    }
}

static void
expect_camera(const char *name, const char *want)
{
    char cam[FRAMEORDER_CAMERA_MAX] = "";
    if (frameorder_camera(name, cam) != 1)
        fail_msg("\"%s\": no camera, want %s", name, want);
    if (strcmp(cam, want) != 0)
        fail_msg("\"%s\": camera %s, want %s", name, cam, want);
}

/* Which camera took a frame: the channel in a nuScenes basename, else the
 * folder the frame sits in. */
static void
test_camera_parse_accepts(void **state)
{
    (void)state;
    expect_camera("samples/CAM_FRONT/"
                  "n008-2018-08-01-15-16-36-0400__CAM_FRONT__1533151603512404."
                  "jpg",
                  "CAM_FRONT");
    expect_camera("n015-2018-07-24-11-22-45+0800__CAM_FRONT_LEFT__"
                  "1532402927604844.jpg",
                  "CAM_FRONT_LEFT");
    expect_camera("sweeps/CAM_BACK_RIGHT/x__CAM_BACK_RIGHT__12.jpg",
                  "CAM_BACK_RIGHT");
    /* one underscore before the camera */
    expect_camera("scene_CAM_BACK__1532402927762460.JPEG", "CAM_BACK");
    expect_camera("CAM_BACK_LEFT__42.jpg", "CAM_BACK_LEFT");
    /* the folder, for names that do not say */
    expect_camera("samples/CAM_BACK/0001.jpg", "CAM_BACK");
    expect_camera("CAM_FRONT/f1.jpg", "CAM_FRONT");
    /* the name says more than the folder */
    expect_camera("CAM_FRONT/log__CAM_BACK__7.jpg", "CAM_BACK");
    /* not the first CAM_ of the name but the one before the timestamp */
    expect_camera("CAM_FRONT_CAM_BACK__7.jpg", "CAM_BACK");
}

static void
test_camera_parse_rejects(void **state)
{
    const char *none[] = {
        "f1.jpg",
        "frame_0001.jpg",
        "a__CAM__42.jpg",  /* "CAM" alone is no camera */
        "a__CAM___42.jpg", /* nor "CAM_" */
        "a__cam_front__42.jpg",
        "a__CAM_FRONT-2__42.jpg",
        "a__CAM_FRONT__x.jpg", /* no timestamp after it */
        "a__CAM_FRONT.jpg",
        "aCAM_FRONT__42.jpg", /* not at a word's start */
        "samples/LIDAR_TOP/n008__LIDAR_TOP__1533151603512404.pcd.bin",
        "samples/RADAR_FRONT/0001.pcd",
        "CAM_FRONT/sub/f1.jpg", /* only the folder the frame sits in */
        "samples/CAM__FRONT/f1.jpg",
        "samples/CAM_FRONT_/f1.jpg",
        "samples/CAM_ABCDEFGHIJKLMNOPQRSTUVWXYZ0123/f1.jpg", /* over 31 */
        "",
    };
    (void)state;

    for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++) {
        char cam[FRAMEORDER_CAMERA_MAX] = "";
        if (frameorder_camera(none[i], cam) != 0)
            fail_msg("\"%s\" gave camera %s, want none", none[i], cam);
    }
}

static void
test_camera_valid(void **state)
{
    (void)state;
    assert_true(frameorder_camera_valid("CAM_FRONT"));
    assert_true(frameorder_camera_valid("CAM_BACK_LEFT"));
    assert_true(frameorder_camera_valid("CAM_X2"));
    assert_false(frameorder_camera_valid("CAM_"));
    assert_false(frameorder_camera_valid("CAM_FRONT_"));
    assert_false(frameorder_camera_valid("CAM__FRONT"));
    assert_false(frameorder_camera_valid("cam_front"));
    assert_false(frameorder_camera_valid("LIDAR_TOP"));
    assert_false(frameorder_camera_valid("CAM_FRONT/x"));
    assert_false(frameorder_camera_valid(""));
}

static void
test_sort_empty(void **state)
{
    size_t order[1] = {99};
    (void)state;

    assert_int_equal(frameorder_sort(NULL, 0, order), 0);
    assert_int_equal(order[0], 99);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_timestamp_order_whatever_the_zip_order),
        cmocka_unit_test(test_timestamp_by_value),
        cmocka_unit_test(test_timestamp_ties_broken_by_name),
        cmocka_unit_test(test_natural_order_without_timestamps),
        cmocka_unit_test(test_natural_order_when_one_name_lacks_timestamp),
        cmocka_unit_test(test_natural_equal_values_total_order),
        cmocka_unit_test(test_natural_cmp_is_total_order),
        cmocka_unit_test(test_timestamp_parse_accepts),
        cmocka_unit_test(test_timestamp_parse_rejects),
        cmocka_unit_test(test_camera_parse_accepts),
        cmocka_unit_test(test_camera_parse_rejects),
        cmocka_unit_test(test_camera_valid),
        cmocka_unit_test(test_sort_empty),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
