/*
 * test_setplan.c - how framefarm render shares one machine out
 * (media/setplan.h): one set per node while sets stay small enough, never
 * under the minimum, long jobs in rounds of one set per node, no set over
 * the maximum, every frame in a set; a tail of small sets at the end of
 * a job (setplan_split) and the split the ambassador makes of it
 * (setplan_sets, setplan_range: every frame in exactly one set, in
 * order); threads per node within the cores.
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

static void
test_tail_plan(void **state)
{
    uint32_t size, tail;
    (void)state;
    /* 150 frames on 2 nodes: 66 + 66, then 18 in 4 sets of 5, 5, 4, 4. */
    setplan_split(150, 2, &size, &tail);
    assert_int_equal(size, 66);
    assert_int_equal(tail, 4);
    assert_int_equal(setplan_sets(150, size, tail), 6);
    /* 1,000 on 2: 438 + 438, then 124 in 8 (at most 4 a node). */
    setplan_split(1000, 2, &size, &tail);
    assert_int_equal(size, 438);
    assert_int_equal(tail, 8);
    /* Too few frames for a tail set of SETPLAN_TAIL_SIZE each, or one
     * node: the plan without a tail. */
    setplan_split(48, 2, &size, &tail);
    assert_int_equal(size, setplan_size(48, 2));
    assert_int_equal(tail, 0);
    setplan_split(1000, 1, &size, &tail);
    assert_int_equal(size, setplan_size(1000, 1));
    assert_int_equal(tail, 0);
    /* Whatever the plan: a multiple of the nodes, and no tail set under
     * half SETPLAN_TAIL_SIZE (their number is rounded up to a multiple of
     * the nodes). */
    for (int nodes = 2; nodes <= 8; nodes++)
        for (uint64_t f = 1; f < 30000; f += 331) {
            uint64_t first, count;
            setplan_split(f, nodes, &size, &tail);
            if (tail == 0)
                continue;
            assert_int_equal(tail % (uint32_t)nodes, 0);
            /* The big sets before the tail: whole rounds. */
            if ((setplan_sets(f, size, 0) - 1) % (uint64_t)nodes != 0)
                fail_msg("%llu frames, %d nodes: %llu sets of %u before "
                         "the tail",
                         (unsigned long long)f, nodes,
                         (unsigned long long)(setplan_sets(f, size, 0) - 1),
                         size);
            setplan_range(f, size, tail, setplan_sets(f, size, tail) - 1,
                          &first, &count);
            if (count < SETPLAN_TAIL_SIZE / 2)
                fail_msg("%llu frames, %d nodes: a tail set of %llu",
                         (unsigned long long)f, nodes,
                         (unsigned long long)count);
        }
}

/* The ambassador's split: every frame in exactly one set, in order, no
 * set empty, the cut sets a frame apart at most, the larger first. */
static void
test_split_covers_every_frame(void **state)
{
    static const uint32_t sizes[] = {1, 2, 5, 24, 66, 75, 600};
    static const uint32_t tails[] = {0, 1, 2, 3, 4, 8, 100};
    (void)state;
    for (uint64_t f = 0; f < 700; f += (f < 30 ? 1 : 37))
        for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
            for (size_t k = 0; k < sizeof(tails) / sizeof(tails[0]); k++) {
                uint64_t n = setplan_sets(f, sizes[i], tails[k]);
                uint64_t next = 0, prev = UINT64_MAX, uniform;
                uniform = (f + sizes[i] - 1) / sizes[i];
                for (uint64_t set = 0; set < n; set++) {
                    uint64_t first, count;
                    setplan_range(f, sizes[i], tails[k], set, &first, &count);
                    if (first != next || count == 0 || count > sizes[i])
                        fail_msg("%llu frames, size %u, tail %u: set %llu "
                                 "is %llu+%llu, expected to start at %llu",
                                 (unsigned long long)f, sizes[i], tails[k],
                                 (unsigned long long)set,
                                 (unsigned long long)first,
                                 (unsigned long long)count,
                                 (unsigned long long)next);
                    if (set + 1 >= uniform && prev != UINT64_MAX &&
                        (count > prev || count + 1 < prev) && set >= uniform)
                        fail_msg("uneven cut");
                    if (set + 1 >= uniform)
                        prev = count;
                    next = first + count;
                }
                assert_int_equal(next, f);
                /* Without a cut, the plain split into sets of size. */
                if (tails[k] <= 1)
                    assert_int_equal(n, uniform);
            }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_set_per_node),
        cmocka_unit_test(test_never_under_minimum),
        cmocka_unit_test(test_long_jobs_in_rounds),
        cmocka_unit_test(test_nodes_below_one),
        cmocka_unit_test(test_tail_plan),
        cmocka_unit_test(test_split_covers_every_frame),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
