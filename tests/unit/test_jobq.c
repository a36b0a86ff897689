/*
 * test_jobq.c - the order a service runs its queued jobs in
 * (coordinator/jobq.h): a higher priority first, then submission order,
 * whatever the numbers look like; a strict order, so a queue sorted by it
 * comes out the same whichever way it was listed.
 */
#include "tests/unit/unit.h"

#include "coordinator/jobq.h"

#define QUEUE_LEN 6

struct qjob {
    int prio;
    uint64_t seq;
};

static void
expect_before(int pa, uint64_t sa, int pb, uint64_t sb, int want)
{
    int got = jobq_before(pa, sa, pb, sb);
    if (got != want)
        fail_msg("jobq_before(priority %d number %llu, priority %d number "
                 "%llu) = %d, want %d",
                 pa, (unsigned long long)sa, pb, (unsigned long long)sb, got,
                 want);
}

static void
test_higher_priority_first(void **state)
{
    (void)state;
    expect_before(2, 9, 1, 1, 1); /* submitted later, runs first */
    expect_before(1, 1, 2, 9, 0);
    expect_before(0, 5, -1, 1, 1); /* priorities may be negative */
    expect_before(-3, 1, -2, 7, 0);
}

static void
test_same_priority_in_submission_order(void **state)
{
    (void)state;
    expect_before(1, 3, 1, 4, 1);
    expect_before(1, 4, 1, 3, 0);
    expect_before(0, 0, 0, 1, 1);
    expect_before(0, UINT64_MAX - 1, 0, UINT64_MAX, 1);
}

static void
test_strict_order(void **state)
{
    (void)state;
    /* Nothing runs before itself: a job is never picked over itself. */
    expect_before(1, 7, 1, 7, 0);
    expect_before(-1, 0, -1, 0, 0);
}

/* svc_pick's rule: the first of a queue by jobq_before, however listed. */
static size_t
pick(const struct qjob *q, size_t n)
{
    size_t best = 0;
    for (size_t i = 1; i < n; i++)
        if (jobq_before(q[i].prio, q[i].seq, q[best].prio, q[best].seq))
            best = i;
    return best;
}

static void
test_queue_runs_by_priority_then_number(void **state)
{
    struct qjob q[QUEUE_LEN] = {{0, 1}, {2, 5}, {1, 2}, {2, 3}, {0, 4}, {1, 6}};
    static const uint64_t want[QUEUE_LEN] = {3, 5, 2, 6, 1, 4};
    size_t n = QUEUE_LEN;
    (void)state;

    for (size_t k = 0; k < QUEUE_LEN; k++) {
        size_t i = pick(q, n);
        if (q[i].seq != want[k])
            fail_msg("run %zu: job number %llu (priority %d), want number "
                     "%llu",
                     k, (unsigned long long)q[i].seq, q[i].prio,
                     (unsigned long long)want[k]);
        q[i] = q[--n];
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_higher_priority_first),
        cmocka_unit_test(test_same_priority_in_submission_order),
        cmocka_unit_test(test_strict_order),
        cmocka_unit_test(test_queue_runs_by_priority_then_number),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
