/*
 * test_evq.c - the cross-thread event queue (common/evq.h): FIFO order, an
 * eventfd that is readable exactly while the consumer has work, and no
 * item lost or reordered when producers race the consumer (run it under
 * the TSan build too).
 */
#include "tests/unit/unit.h"

#include <poll.h>
#include <pthread.h>

#include "common/evq.h"

#define FIFO_ITEMS 100
#define RACE_ITEMS 10000
#define PRODUCERS 4
#define WAIT_DEADLINE_MS 10000 /* a lost wakeup, not a slow machine */

static struct evq *
queue_new(void)
{
    struct evq *q = evq_new();
    assert_non_null(q);
    return q;
}

/* Items are small integers carried in the pointer, never 0 (NULL). */
static void *
item(uintptr_t v)
{
    return (void *)v;
}

static uintptr_t
value(void *p)
{
    return (uintptr_t)p;
}

/* 1 when the queue's fd polls readable right now, else 0. */
static int
fd_ready(const struct evq *q)
{
    struct pollfd pfd = {.fd = evq_fd(q), .events = POLLIN};
    int n = poll(&pfd, 1, 0);
    assert_true(n >= 0);
    return n == 1 && (pfd.revents & POLLIN) != 0;
}

static void
test_fifo_order(void **state)
{
    struct evq *q = queue_new();
    (void)state;

    for (uintptr_t i = 1; i <= FIFO_ITEMS; i++)
        assert_int_equal(evq_push(q, item(i)), 0);
    for (uintptr_t i = 1; i <= FIFO_ITEMS; i++)
        assert_int_equal(value(evq_pop(q)), i);
    assert_null(evq_pop(q));

    /* Interleaved pushes and pops keep the order too. */
    assert_int_equal(evq_push(q, item(1)), 0);
    assert_int_equal(evq_push(q, item(2)), 0);
    assert_int_equal(value(evq_pop(q)), 1);
    assert_int_equal(evq_push(q, item(3)), 0);
    assert_int_equal(value(evq_pop(q)), 2);
    assert_int_equal(value(evq_pop(q)), 3);
    assert_null(evq_pop(q));
    evq_free(q, NULL);
}

static void
test_pop_empty(void **state)
{
    struct evq *q = queue_new();
    (void)state;

    assert_null(evq_pop(q));
    assert_null(evq_pop(q));
    evq_free(q, NULL);
}

/* The fd wakes the consumer after a push and, once it has popped to
 * NULL, stays quiet until the next push. */
static void
test_fd_readable_while_work(void **state)
{
    struct evq *q = queue_new();
    (void)state;

    assert_true(evq_fd(q) >= 0);
    assert_false(fd_ready(q));
    assert_int_equal(evq_push(q, item(1)), 0);
    assert_int_equal(evq_push(q, item(2)), 0);
    assert_true(fd_ready(q));
    assert_int_equal(value(evq_pop(q)), 1);
    assert_int_equal(value(evq_pop(q)), 2);
    assert_null(evq_pop(q));
    assert_false(fd_ready(q));
    assert_int_equal(evq_push(q, item(3)), 0);
    assert_true(fd_ready(q));
    evq_free(q, NULL);
}

static int freed_count;

static void
count_free(void *p)
{
    freed_count++;
    free(p);
}

/* Items still queued at the end are handed to free_item (ASan checks
 * that none leaks). */
static void
test_free_releases_items(void **state)
{
    struct evq *q = queue_new();
    (void)state;

    for (int i = 0; i < 5; i++) {
        int *p = malloc(sizeof(*p));
        assert_non_null(p);
        *p = i;
        assert_int_equal(evq_push(q, p), 0);
    }
    free(evq_pop(q));
    freed_count = 0;
    evq_free(q, count_free);
    assert_int_equal(freed_count, 4);
    evq_free(NULL, count_free);
    assert_int_equal(freed_count, 4);
}

struct producer {
    struct evq *q;
    uintptr_t id;
    int count;
    int rc;
};

/* Item encoding for several producers: id in the high part, sequence
 * number (from 1) in the low part. */
#define SEQ_BITS 20

static void *
producer_main(void *arg)
{
    struct producer *p = arg;
    p->rc = 0;
    for (int i = 1; i <= p->count && p->rc == 0; i++)
        p->rc = evq_push(p->q, item(p->id << SEQ_BITS | (uintptr_t)i));
    return NULL;
}

/* The consumer's loop: poll the fd, pop until NULL. Each producer's items
 * must come in order, and all of them. */
static void
race(int producers, int per_producer)
{
    struct evq *q = queue_new();
    struct producer p[PRODUCERS];
    pthread_t th[PRODUCERS];
    uintptr_t next[PRODUCERS];
    int got = 0, total = producers * per_producer;

    assert_true(producers <= PRODUCERS);
    for (int i = 0; i < producers; i++) {
        p[i] = (struct producer){q, (uintptr_t)i + 1, per_producer, -1};
        next[i] = 1;
    }
    for (int i = 0; i < producers; i++)
        assert_int_equal(pthread_create(&th[i], NULL, producer_main, &p[i]), 0);
    while (got < total) {
        struct pollfd pfd = {.fd = evq_fd(q), .events = POLLIN};
        void *v;
        int n = poll(&pfd, 1, WAIT_DEADLINE_MS);
        if (n == 0)
            fail_msg("no wakeup for %d s with %d of %d items received",
                     WAIT_DEADLINE_MS / 1000, got, total);
        assert_true(n == 1);
        while ((v = evq_pop(q)) != NULL) {
            uintptr_t id = value(v) >> SEQ_BITS;
            uintptr_t seq = value(v) & ((1u << SEQ_BITS) - 1);
            assert_in_range(id, 1, (uintptr_t)producers);
            if (seq != next[id - 1])
                fail_msg("producer %lu: item %lu arrived, want %lu",
                         (unsigned long)id, (unsigned long)seq,
                         (unsigned long)next[id - 1]);
            next[id - 1]++;
            got++;
        }
    }
    for (int i = 0; i < producers; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_int_equal(p[i].rc, 0);
    }
    assert_int_equal(got, total);
    assert_null(evq_pop(q));
    assert_false(fd_ready(q));
    evq_free(q, NULL);
}

static void
test_one_producer_in_order_none_lost(void **state)
{
    (void)state;
    race(1, RACE_ITEMS);
}

static void
test_many_producers_none_lost(void **state)
{
    (void)state;
    race(PRODUCERS, RACE_ITEMS / PRODUCERS);
}

#define PINGPONG_ROUNDS 20000

struct ponger {
    struct evq *in, *out;
    int rounds;
    int rc;
};

/* Wait on q's fd until it polls readable; 0, or -1 at the deadline. */
static int
wait_ready(const struct evq *q)
{
    struct pollfd pfd = {.fd = evq_fd(q), .events = POLLIN};
    return poll(&pfd, 1, WAIT_DEADLINE_MS) == 1 ? 0 : -1;
}

/* Echoes every item from in back on out, handling each as it pops it,
 * like the ambassador's loop. */
static void *
ponger_main(void *arg)
{
    struct ponger *p = arg;
    int seen = 0;
    p->rc = 0;
    while (seen < p->rounds) {
        void *v;
        if (wait_ready(p->in) == -1) {
            p->rc = -1;
            break;
        }
        while ((v = evq_pop(p->in)) != NULL) {
            seen++;
            if (evq_push(p->out, v) == -1)
                p->rc = -1;
        }
    }
    return NULL;
}

/* One item in flight at a time, so nothing later would ever wake a
 * consumer whose wakeup was lost: each round's push must wake the other
 * side by itself (a push that signals before the item is visible, for
 * one, strands it within a few rounds). */
static void
test_ping_pong_no_lost_wakeup(void **state)
{
    struct ponger p = {queue_new(), queue_new(), PINGPONG_ROUNDS, -1};
    pthread_t th;
    (void)state;

    assert_int_equal(pthread_create(&th, NULL, ponger_main, &p), 0);
    for (uintptr_t i = 1; i <= PINGPONG_ROUNDS; i++) {
        void *v;
        assert_int_equal(evq_push(p.in, item(i)), 0);
        for (;;) {
            if (wait_ready(p.out) == -1)
                fail_msg("round %lu: no echo within %d s: a lost wakeup",
                         (unsigned long)i, WAIT_DEADLINE_MS / 1000);
            if ((v = evq_pop(p.out)) != NULL)
                break;
        }
        assert_int_equal(value(v), i);
        assert_null(evq_pop(p.out));
    }
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(p.rc, 0);
    evq_free(p.in, NULL);
    evq_free(p.out, NULL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fifo_order),
        cmocka_unit_test(test_pop_empty),
        cmocka_unit_test(test_fd_readable_while_work),
        cmocka_unit_test(test_free_releases_items),
        cmocka_unit_test(test_one_producer_in_order_none_lost),
        cmocka_unit_test(test_many_producers_none_lost),
        cmocka_unit_test(test_ping_pong_no_lost_wakeup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
