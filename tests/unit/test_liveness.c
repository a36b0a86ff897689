/*
 * test_liveness.c - how long a connected node's lease has been still, as
 * the loop uses it to trip the node's breaker (coordinator/liveness.h,
 * liveness_lease_age), on a virtual clock: counted from the lease's last
 * advance or the hello, never from before the share last became healthy,
 * and nothing for a node with no session. The reclaim verdicts themselves
 * are checked against a shadow model in every simulation seed.
 */
#include "tests/unit/unit.h"

#include "coordinator/liveness.h"

#define T0 1000000 /* virtual clock */

static void
test_age_from_last_advance(void **state)
{
    struct liveness l;
    (void)state;
    liveness_init(&l, T0);
    liveness_connected(&l, T0);
    assert_int_equal(liveness_lease_age(&l, 0, T0), 0);
    /* The hello counts as a sign of life. */
    assert_int_equal(liveness_lease_age(&l, 0, T0 + 700), 700);
    assert_true(liveness_lease(&l, 5, T0 + 1000));
    assert_int_equal(liveness_lease_age(&l, 0, T0 + 1000), 0);
    assert_int_equal(liveness_lease_age(&l, 0, T0 + 4000), 3000);
    /* A stale read (lower or equal counter) is not an advance. */
    assert_false(liveness_lease(&l, 5, T0 + 4000));
    assert_false(liveness_lease(&l, 4, T0 + 4100));
    assert_int_equal(liveness_lease_age(&l, 0, T0 + 5000), 4000);
    assert_true(liveness_lease(&l, 6, T0 + 5000));
    assert_int_equal(liveness_lease_age(&l, 0, T0 + 5000), 0);
}

static void
test_age_not_before_share_healthy(void **state)
{
    struct liveness l;
    (void)state;
    liveness_init(&l, T0);
    liveness_connected(&l, T0);
    assert_true(liveness_lease(&l, 1, T0));
    /* The share was sick until T0 + 9000: the lease could not be seen. */
    assert_int_equal(liveness_lease_age(&l, T0 + 9000, T0 + 9500), 500);
    assert_int_equal(liveness_lease_age(&l, T0 + 9000, T0 + 8000), 0);
}

/* A node lost while the share was down for longer than reclaim_ms: its
 * lease could not be read meanwhile, so its silence counts from when the
 * share answered again (a false reclaim otherwise: issue 10, item 2). A
 * node whose process died is reclaimed at once, share or not. */
static void
test_judge_not_before_share_healthy(void **state)
{
    struct liveness l;
    const uint64_t reclaim = 15000, back = T0 + 60000;
    (void)state;

    liveness_init(&l, T0);
    liveness_connected(&l, T0);
    assert_true(liveness_lease(&l, 1, T0 + 500));
    liveness_lost(&l, false, T0 + 1000);
    assert_int_equal(liveness_judge(&l, reclaim, true, 0, T0 + 500 + reclaim),
                     LIVENESS_RECLAIM);
    assert_int_equal(liveness_judge(&l, reclaim, false, 0, back),
                     LIVENESS_KEEP);
    assert_int_equal(liveness_judge(&l, reclaim, true, back, back + 100),
                     LIVENESS_KEEP);
    assert_int_equal(
        liveness_judge(&l, reclaim, true, back, back + reclaim - 1),
        LIVENESS_KEEP);
    assert_int_equal(liveness_judge(&l, reclaim, true, back, back + reclaim),
                     LIVENESS_RECLAIM);
    liveness_lost(&l, true, back);
    assert_int_equal(liveness_judge(&l, reclaim, true, back, back + 1),
                     LIVENESS_RECLAIM);
}

static void
test_no_session_no_age(void **state)
{
    struct liveness l;
    (void)state;
    liveness_init(&l, T0);
    assert_int_equal(liveness_lease_age(&l, 0, T0 + 60000), 0);
    liveness_connected(&l, T0);
    liveness_lost(&l, false, T0 + 100);
    /* A node we cannot hear is the reclaim rules' business. */
    assert_int_equal(liveness_lease_age(&l, 0, T0 + 60000), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_age_from_last_advance),
        cmocka_unit_test(test_judge_not_before_share_healthy),
        cmocka_unit_test(test_age_not_before_share_healthy),
        cmocka_unit_test(test_no_session_no_age),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
