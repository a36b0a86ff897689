/*
 * test_setplan.c - how framefarm render shares one machine out
 * (media/setplan.h): one set per node while sets stay small enough, never
 * under the minimum, long jobs in rounds of one set per node, no set over
 * the maximum, every frame in a set; threads per node within the cores.
 */
#include "tests/unit/unit.h"

#include "media/setplan.h"

/* Sets a job of frames makes with size frames per set. */
static uint64_t
sets_of(uint64_t frames, uint32_t size)
{
    return (frames + size - 1) / size;
}

static void
test_one_set_per_node(void **state)
{
    (void)state;
    assert_int_equal(setplan_size(150, 2), 75);
    assert_int_equal(setplan_size(151, 2), 76); /* the last set one short */
    assert_int_equal(setplan_size(1000, 2), 500);
    assert_int_equal(setplan_size(1000, 4), 250);
    assert_int_equal(setplan_size(600, 1), 600);
    assert_int_equal(sets_of(1000, setplan_size(1000, 3)), 3);
}

static void
test_never_under_minimum(void **state)
{
    (void)state;
    assert_int_equal(setplan_size(30, 2), SETPLAN_MIN_SIZE);
    assert_int_equal(setplan_size(1, 8), SETPLAN_MIN_SIZE);
    assert_int_equal(setplan_size(0, 2), SETPLAN_MIN_SIZE);
}

static void
test_long_jobs_in_rounds(void **state)
{
    (void)state;
    /* 10,000 frames on 2 nodes: 18 sets (9 rounds) of 556. */
    assert_int_equal(setplan_size(10000, 2), 556);
    assert_int_equal(sets_of(10000, 556), 18);
    /* On every size the sets are a multiple of the nodes, none too big. */
    for (int nodes = 1; nodes <= 8; nodes++)
        for (uint64_t f = SETPLAN_MIN_SIZE * (uint64_t)nodes; f < 20000;
             f += 997) {
            uint32_t s = setplan_size(f, nodes);
            assert_true(s <= SETPLAN_MAX_SIZE);
            assert_true(s >= SETPLAN_MIN_SIZE);
            if (sets_of(f, s) % (uint64_t)nodes != 0)
                fail_msg("%llu frames, %d nodes: %llu sets of %u",
                         (unsigned long long)f, nodes,
                         (unsigned long long)sets_of(f, s), s);
        }
}

static void
test_nodes_below_one(void **state)
{
    (void)state;
    assert_int_equal(setplan_size(150, 0), 150);
    assert_int_equal(setplan_size(150, -3), 150);
}

static void
test_threads(void **state)
{
    (void)state;
    assert_int_equal(setplan_threads(2, 2), 1);
    assert_int_equal(setplan_threads(16, 2), 8);
    assert_int_equal(setplan_threads(16, 3), 5);
    assert_int_equal(setplan_threads(2, 4), 1); /* never 0 */
    assert_int_equal(setplan_threads(8, 0), 8);
    assert_int_equal(setplan_threads(-1, 2), 1); /* sysconf failed */
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_set_per_node),
        cmocka_unit_test(test_never_under_minimum),
        cmocka_unit_test(test_long_jobs_in_rounds),
        cmocka_unit_test(test_nodes_below_one),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
