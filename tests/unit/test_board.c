/*
 * test_board.c - the snapshot the loop publishes for the HTTP threads
 * (coordinator/board.h): nothing before the first; a reader keeps the
 * snapshot it took while newer ones replace it; board_wait returns only
 * a newer one, NULL after its wait or once the board closes (a waiting
 * thread is woken); and readers and a publisher on threads at once (the
 * TSan build checks the sharing is race-free).
 */
#include "tests/unit/unit.h"

#include <pthread.h>

#include "coordinator/board.h"

#define READERS 4
#define PUBLISHES 2000
#define WAIT_SHORT_MS 20
#define WAIT_LONG_MS 30000

static struct board_snap *
snap_with(const char *state)
{
    struct board_snap *s = board_snap_new();
    assert_non_null(s);
    s->state = strdup(state);
    assert_non_null(s->state);
    return s;
}

static void
test_publish_get(void **state)
{
    struct board *b = board_new();
    struct board_snap *held, *now;
    (void)state;
    assert_null(board_get(b));
    board_publish(b, snap_with("one"));
    held = board_get(b);
    assert_string_equal(held->state, "one");
    assert_int_equal(held->version, 1);
    board_publish(b, snap_with("two"));
    /* The reader's copy is still whole. */
    assert_string_equal(held->state, "one");
    now = board_get(b);
    assert_string_equal(now->state, "two");
    assert_int_equal(now->version, 2);
    board_put(b, held);
    board_put(b, now);
    board_put(b, NULL);
    /* Newer than 1: at once; newer than 2: none within the wait. */
    now = board_wait(b, 1, WAIT_SHORT_MS);
    assert_non_null(now);
    assert_int_equal(now->version, 2);
    board_put(b, now);
    assert_null(board_wait(b, 2, WAIT_SHORT_MS));
    board_free(b);
}

static void
test_snap_lookups(void **state)
{
    struct board_snap *s = board_snap_new();
    (void)state;
    s->job = calloc(1, sizeof(*s->job));
    s->node_names = calloc(1, sizeof(char *));
    assert_non_null(s->job);
    assert_non_null(s->node_names);
    s->job[0].id = strdup("j1");
    s->job[0].doc = strdup("{}");
    s->njobs = 1;
    s->node_names[0] = strdup("n1");
    s->nnodes = 1;
    assert_string_equal(board_snap_job(s, "j1"), "{}");
    assert_null(board_snap_job(s, "j2"));
    assert_true(board_snap_has_node(s, "n1"));
    assert_false(board_snap_has_node(s, "n2"));
    board_snap_free(s);
}

static void *
waiter(void *arg)
{
    return board_wait(arg, 0, WAIT_LONG_MS);
}

static void
test_close_wakes(void **state)
{
    struct board *b = board_new();
    pthread_t t;
    void *got = &got;
    (void)state;
    assert_int_equal(pthread_create(&t, NULL, waiter, b), 0);
    board_close(b);
    assert_int_equal(pthread_join(t, &got), 0);
    assert_null(got);
    board_free(b);
}

static void *
reader(void *arg)
{
    struct board *b = arg;
    uint64_t seen = 0;
    while (seen < PUBLISHES) {
        struct board_snap *s = board_wait(b, seen, WAIT_LONG_MS);
        if (s == NULL)
            break;
        /* The text is the version's: never torn, never freed under us. */
        if ((uint64_t)strtoull(s->state, NULL, 10) != s->version)
            fail_msg("snapshot %llu holds \"%s\"",
                     (unsigned long long)s->version, s->state);
        seen = s->version;
        board_put(b, s);
    }
    return NULL;
}

static void
test_threads(void **state)
{
    struct board *b = board_new();
    pthread_t t[READERS];
    (void)state;
    for (int i = 0; i < READERS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, reader, b), 0);
    for (int i = 1; i <= PUBLISHES; i++) {
        char text[24];
        snprintf(text, sizeof(text), "%d", i);
        board_publish(b, snap_with(text));
    }
    for (int i = 0; i < READERS; i++)
        assert_int_equal(pthread_join(t[i], NULL), 0);
    board_free(b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_publish_get),
        cmocka_unit_test(test_snap_lookups),
        cmocka_unit_test(test_close_wakes),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
