/*
 * test_encsize.c - --size (common/encparams.h): what encparams_parse_size
 * accepts and refuses, and the size encparams_fit_size gives frames of a
 * known size (a kept side follows the aspect, rounded to the nearest even
 * number; the result must stay inside ENC_MIN_DIM..ENC_MAX_DIM).
 */
#include "tests/unit/unit.h"

#include "common/encparams.h"
#include "common/err.h"

static void
expect_size(const char *s, int w, int h)
{
    struct enc_size z = {0, 0};
    char err[ERR_MAX] = "";

    if (encparams_parse_size(s, &z, err, sizeof(err)) != 0)
        fail_msg("\"%s\" refused (%s), want %dx%d", s, err, w, h);
    if (z.w != w || z.h != h)
        fail_msg("\"%s\" -> %dx%d, want %dx%d", s, z.w, z.h, w, h);
}

static void
expect_size_refused(const char *s, const char *want)
{
    struct enc_size z = {0, 0};
    char err[ERR_MAX] = "";

    if (encparams_parse_size(s, &z, err, sizeof(err)) != -1)
        fail_msg("\"%s\" accepted as %dx%d, want refused", s, z.w, z.h);
    assert_contains(err, want);
}

/* Frames of sw x sh under "req" must give w x h. */
static void
expect_fit(const char *req, int sw, int sh, int w, int h)
{
    struct enc_size z;
    char err[ERR_MAX] = "";
    int gw = 0, gh = 0;

    if (encparams_parse_size(req, &z, err, sizeof(err)) != 0)
        fail_msg("\"%s\" refused: %s", req, err);
    if (encparams_fit_size(&z, sw, sh, &gw, &gh, err, sizeof(err)) != 0)
        fail_msg("%s on %dx%d refused (%s), want %dx%d", req, sw, sh, err, w,
                 h);
    if (gw != w || gh != h)
        fail_msg("%s on %dx%d -> %dx%d, want %dx%d", req, sw, sh, gw, gh, w, h);
}

static void
test_parse_accepts(void **state)
{
    (void)state;
    expect_size("640x360", 640, 360);
    expect_size("640X360", 640, 360);
    expect_size("640x-2", 640, ENC_SIZE_KEEP);
    expect_size("-2x720", ENC_SIZE_KEEP, 720);
    expect_size("16x8192", ENC_MIN_DIM, ENC_MAX_DIM);
    /* 4:2:0 needs even sides: an odd one is rounded down */
    expect_size("641x361", 640, 360);
    expect_size("17x-2", 16, ENC_SIZE_KEEP);
}

static void
test_parse_refuses(void **state)
{
    (void)state;
    expect_size_refused("640", "--size 640: expected WxH, Wx-2 or -2xH");
    expect_size_refused("", "expected WxH");
    expect_size_refused("x360", "expected WxH");
    expect_size_refused("640x", "expected WxH");
    expect_size_refused("0x360", "--size 0x360: each side is 16..8192 pixels");
    expect_size_refused("640x0", "each side is 16..8192");
    expect_size_refused("8193x-2", "each side is 16..8192");
    expect_size_refused("100000x100000", "each side is 16..8192");
    expect_size_refused("15x100", "each side is 16..8192");
    expect_size_refused("-1x360", "or -2 to keep the frames' aspect");
    expect_size_refused("640x360x2", "each side");
    expect_size_refused("64ox360", "each side");
    expect_size_refused(" 640x360", "each side");
    expect_size_refused("+640x360", "each side");
    expect_size_refused("-2x-2", "give at least one side in pixels");
}

static void
test_fit(void **state)
{
    (void)state;
    /* nuScenes' 1600x900 */
    expect_fit("640x-2", 1600, 900, 640, 360);
    expect_fit("-2x360", 1600, 900, 640, 360);
    expect_fit("1280x-2", 1600, 900, 1280, 720);
    /* 200 * 9 / 16 = 112.5: the nearest even is 112 */
    expect_fit("200x-2", 1600, 900, 200, 112);
    /* 202 * 9 / 16 = 113.6: 114 */
    expect_fit("202x-2", 1600, 900, 202, 114);
    /* the frames' odd size counts exactly: 640 * 361 / 641 = 360.4 */
    expect_fit("640x-2", 641, 361, 640, 360);
    /* both sides given: the aspect is the user's */
    expect_fit("320x320", 1600, 900, 320, 320);
}

/* No --size: the frames' own size, rounded down to even. */
static void
test_fit_without_request(void **state)
{
    struct enc_size none = {0, 0};
    char err[ERR_MAX] = "";
    int w = 0, h = 0;

    (void)state;
    assert_int_equal(
        encparams_fit_size(&none, 1601, 901, &w, &h, err, sizeof(err)), 0);
    assert_int_equal(w, 1600);
    assert_int_equal(h, 900);
    assert_int_equal(
        encparams_fit_size(NULL, 320, 180, &w, &h, err, sizeof(err)), 0);
    assert_int_equal(w, 320);
    assert_int_equal(h, 180);
}

/* A kept side outside the limits is refused, naming what it would be. */
static void
test_fit_refuses(void **state)
{
    struct enc_size z;
    char err[ERR_MAX] = "";
    int w = 0, h = 0;

    (void)state;
    assert_int_equal(encparams_parse_size("16x-2", &z, err, sizeof(err)), 0);
    assert_int_equal(
        encparams_fit_size(&z, 1600, 900, &w, &h, err, sizeof(err)), -1);
    assert_contains(err, "--size 16x-2 on frames of 1600x900 gives 16x10: "
                         "each side must be 16..8192 pixels");
    assert_int_equal(encparams_parse_size("-2x8000", &z, err, sizeof(err)), 0);
    assert_int_equal(
        encparams_fit_size(&z, 1600, 900, &w, &h, err, sizeof(err)), -1);
    assert_contains(err, "gives 14222x8000");
    assert_int_equal(encparams_fit_size(&z, 0, 900, &w, &h, err, sizeof(err)),
                     -1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_accepts),
        cmocka_unit_test(test_parse_refuses),
        cmocka_unit_test(test_fit),
        cmocka_unit_test(test_fit_without_request),
        cmocka_unit_test(test_fit_refuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
