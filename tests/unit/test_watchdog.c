/*
 * test_watchdog.c - the probes' watchdog (media/watchdog.h): work that
 * finishes in time hands its argument back; work that hangs (here: blocked
 * on a semaphore, as a probe blocked in a GPU driver) is abandoned at the
 * deadline, the caller goes on, and the argument is freed by the worker
 * once it does return.
 */
#include "tests/unit/unit.h"

#include <errno.h>
#include <semaphore.h>
#include <time.h>

#include "common/clock.h"
#include "media/watchdog.h"

#define SHORT_MS 50
#define LONG_MS 10000

struct work {
    sem_t release; /* the hung work waits for this */
    int hang;
    int ran;
};

static sem_t freed;         /* posted by free_work */
static int freed_after_run; /* free_work saw the work done */

static void
run_work(void *arg)
{
    struct work *w = arg;
    if (w->hang)
        while (sem_wait(&w->release) == -1 && errno == EINTR)
            ;
    w->ran = 1;
}

static void
free_work(void *arg)
{
    struct work *w = arg;
    freed_after_run = w->ran; /* checked on the test's thread */
    sem_destroy(&w->release);
    free(w);
    sem_post(&freed);
}

static void
test_finishes_in_time(void **state)
{
    struct work *w = calloc(1, sizeof(*w));
    (void)state;
    assert_non_null(w);
    sem_init(&w->release, 0, 0);
    assert_int_equal(watchdog_run(run_work, w, free_work, LONG_MS), 1);
    assert_int_equal(w->ran, 1); /* the caller's again */
    sem_destroy(&w->release);
    free(w);
}

static void
test_hung_work_is_abandoned(void **state)
{
    struct work *w = calloc(1, sizeof(*w));
    struct timespec deadline;
    uint64_t t0;
    (void)state;
    assert_non_null(w);
    sem_init(&w->release, 0, 0);
    sem_init(&freed, 0, 0);
    w->hang = 1;
    t0 = clock_now_ms();
    assert_int_equal(watchdog_run(run_work, w, free_work, SHORT_MS), 0);
    assert_true(clock_now_ms() - t0 >= SHORT_MS);
    /* The worker owns w now: let it return; it must free w. */
    sem_post(&w->release);
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += LONG_MS / 1000;
    if (sem_timedwait(&freed, &deadline) == -1)
        fail_msg("the abandoned work did not free its argument within %d s",
                 LONG_MS / 1000);
    assert_int_equal(freed_after_run, 1);
    sem_destroy(&freed);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_finishes_in_time),
        cmocka_unit_test(test_hung_work_is_abandoned),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
