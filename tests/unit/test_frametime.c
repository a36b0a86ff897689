/*
 * test_frametime.c - frames at their own times (common/frametime.h): how
 * long each is shown, and how far a time read back from a container may be
 * from the one it should be before it is wrong.
 */
#include "tests/unit/unit.h"

#include "common/frametime.h"

#define PERIOD 83333 /* us, the nominal 1/12 s */

/* nuScenes-like capture times: ~83 ms apart with jitter and a missed
 * capture (the gap of 166 ms). */
static const int64_t pts[] = {0, 83385, 168368, 249115, 416819, 499863};
#define NPTS (sizeof(pts) / sizeof(pts[0]))

static void
test_span_up_to_the_next_frame(void **state)
{
    (void)state;
    for (size_t i = 0; i + 1 < NPTS; i++) {
        int64_t got = frametime_span(pts, NPTS, pts[i], PERIOD);
        if (got != pts[i + 1] - pts[i])
            fail_msg("frame %zu at %lld lasts %lld, want %lld", i,
                     (long long)pts[i], (long long)got,
                     (long long)(pts[i + 1] - pts[i]));
    }
    assert_int_equal(frametime_span(pts, NPTS, pts[3], PERIOD), 167704);
}

/* The last frame, and a time that is no frame's, last the fallback. */
static void
test_span_last_and_unknown(void **state)
{
    (void)state;
    assert_int_equal(frametime_span(pts, NPTS, pts[NPTS - 1], PERIOD), PERIOD);
    assert_int_equal(frametime_span(pts, NPTS, 1, PERIOD), PERIOD);
    assert_int_equal(frametime_span(pts, NPTS, -5, PERIOD), PERIOD);
    assert_int_equal(frametime_span(pts, NPTS, 600000, PERIOD), PERIOD);
    assert_int_equal(frametime_span(pts, 0, 0, PERIOD), PERIOD);
    assert_int_equal(frametime_span(pts, 1, 0, PERIOD), PERIOD);
}

/* Under one tick is on time: exact in a 1/1000000 time base, to the
 * millisecond in Matroska's 1/1000. */
static void
test_ticks_off(void **state)
{
    (void)state;
    assert_true(frametime_ticks_off(168368, 1, 1000000, 0.168368) < 1.0);
    assert_true(frametime_ticks_off(168369, 1, 1000000, 0.168368) >= 1.0);
    assert_true(frametime_ticks_off(168367, 1, 1000000, 0.168368) >= 1.0);
    assert_true(frametime_ticks_off(168, 1, 1000, 0.168368) < 1.0);
    assert_true(frametime_ticks_off(169, 1, 1000, 0.168368) < 1.0);
    assert_true(frametime_ticks_off(167, 1, 1000, 0.168368) >= 1.0);
    /* 12 fps in MP4's 1/12288: frame 7 at 7 * 1024 */
    assert_true(frametime_ticks_off(7168, 1, 12288, 7.0 / 12) < 1.0);
    assert_true(frametime_ticks_off(7169, 1, 12288, 7.0 / 12) >= 1.0);
    /* a time base of 2/25 s */
    assert_true(frametime_ticks_off(5, 2, 25, 0.4) < 1.0);
    assert_true(frametime_ticks_off(6, 2, 25, 0.4) >= 1.0);
}

/* Far from the start, a tick is still a tick: 2^40 us in. */
static void
test_ticks_off_far(void **state)
{
    const int64_t far = (int64_t)1 << 40;
    (void)state;
    assert_true(frametime_ticks_off(far, 1, 1000000, (double)far / 1e6) < 1.0);
    assert_true(frametime_ticks_off(far + 1, 1, 1000000, (double)far / 1e6) >=
                1.0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_span_up_to_the_next_frame),
        cmocka_unit_test(test_span_last_and_unknown),
        cmocka_unit_test(test_ticks_off),
        cmocka_unit_test(test_ticks_off_far),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
