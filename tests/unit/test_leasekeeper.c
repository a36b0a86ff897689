/*
 * test_leasekeeper.c - a node's lease keeper (gpu-node/leasekeeper.h) on a
 * real directory: its counter stays above the record its node's last
 * process left even when this host's clock was stepped back (a reader
 * takes a lower counter for a stale read and would judge the node dead);
 * and on a share whose identity is gone (unmounted: the directory
 * underneath) it writes nothing and says the node must fence at once.
 */
#include "tests/unit/unit.h"

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/lease.h"
#include "common/sharepath.h"
#include "common/shareid.h"
#include "gpu-node/leasekeeper.h"

#define NODE "n1"
#define RENEW_MS 20
#define WAIT_MS 3000
#define AHEAD_MS (1000ULL * 3600 * 24 * 365) /* a clock a year ahead */

static void
write_lease(const char *share, uint64_t counter)
{
    char dir[FS_PATH_MAX], path[FS_PATH_MAX];
    uint8_t buf[LEASE_RECORD_SIZE];
    struct lease l;
    memset(&l, 0, sizeof(l));
    snprintf(l.node, sizeof(l.node), "%s", NODE);
    l.counter = counter;
    l.state = LEASE_RUNNING;
    lease_encode(&l, buf);
    assert_int_equal(sharepath_node_dir(share, NODE, dir, sizeof(dir)), 0);
    assert_int_equal(fs_mkdir_p(dir, 0755), 0);
    assert_int_equal(sharepath_lease(share, NODE, path, sizeof(path)), 0);
    assert_int_equal(fs_write_atomic(path, buf, sizeof(buf)), 0);
}

/* The lease's counter, or 0 when there is no valid record. */
static uint64_t
read_counter(const char *share)
{
    char path[FS_PATH_MAX];
    char *text = NULL;
    size_t len = 0;
    struct lease l;
    uint64_t c = 0;
    assert_int_equal(sharepath_lease(share, NODE, path, sizeof(path)), 0);
    if (fs_read_max(path, LEASE_RECORD_SIZE, &text, &len) == 0 &&
        lease_decode((const uint8_t *)text, len, &l) == 0)
        c = l.counter;
    free(text);
    return c;
}

static uint64_t
wall_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return (uint64_t)now.tv_sec * 1000u + (uint64_t)now.tv_nsec / 1000000u;
}

/* The node's last process ran with a clock a year ahead; this one's
 * counter must still go above its record. */
static void
test_counter_survives_clock_step(void **state)
{
    const char *share = *state;
    char id[SHAREID_HEX + 1], err[ERR_MAX];
    uint64_t before = wall_ms() + AHEAD_MS, deadline;
    struct leasekeeper *k;

    assert_int_equal(shareid_ensure(share, id, err, sizeof(err)), 0);
    write_lease(share, before);
    k = leasekeeper_start(share, id, NODE, RENEW_MS);
    assert_non_null(k);
    deadline = clock_now_ms() + WAIT_MS;
    while (read_counter(share) <= before && clock_now_ms() < deadline)
        clock_sleep_ms(RENEW_MS);
    assert_true(read_counter(share) > before);
    assert_int_equal(leasekeeper_share_lost(k), 0);
    leasekeeper_free(k);
}

/* The share's id disappears (an unmount shows the directory underneath):
 * the keeper stops renewing at once and says so; nothing more is
 * written there. */
static void
test_share_gone_fences(void **state)
{
    const char *share = *state;
    char id[SHAREID_HEX + 1], err[ERR_MAX], path[FS_PATH_MAX], sid[FS_PATH_MAX];
    uint64_t deadline, counter;
    struct leasekeeper *k;

    assert_int_equal(shareid_ensure(share, id, err, sizeof(err)), 0);
    k = leasekeeper_start(share, id, NODE, RENEW_MS);
    assert_non_null(k);
    deadline = clock_now_ms() + WAIT_MS;
    while (read_counter(share) == 0 && clock_now_ms() < deadline)
        clock_sleep_ms(RENEW_MS);
    assert_true(read_counter(share) > 0);
    assert_int_equal(sharepath_coord_dir(share, path, sizeof(path)), 0);
    unit_path(sid, path, "share-id");
    assert_int_equal(unlink(sid), 0);
    deadline = clock_now_ms() + WAIT_MS;
    while (!leasekeeper_share_lost(k) && clock_now_ms() < deadline)
        clock_sleep_ms(RENEW_MS);
    assert_int_equal(leasekeeper_share_lost(k), 1);
    counter = read_counter(share);
    clock_sleep_ms(5 * RENEW_MS);
    assert_int_equal(read_counter(share), counter); /* no more renewals */
    leasekeeper_free(k);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_counter_survives_clock_step,
                                        unit_tmpdir_setup,
                                        unit_tmpdir_teardown),
        cmocka_unit_test_setup_teardown(
            test_share_gone_fences, unit_tmpdir_setup, unit_tmpdir_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
