/*
 * test_generation.c - ambassador generations on a share
 * (coordinator/generation.h): a claim is always above every claimed
 * generation and the journal's, never the same twice; foreign names in
 * coord/ are ignored; coord/current says where nodes find the ambassador;
 * a standby takes over once the active one's probe stands still. Every
 * test works on its own share under /tmp.
 */
#include "tests/unit/unit.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "common/err.h"
#include "common/sharepath.h"
#include "coordinator/config.h"
#include "coordinator/generation.h"

#define TEST_PORT 7711
#define TEST_POLL_MS 5
#define TEST_RECLAIM_MS 30

/* Create share/rel, empty. */
static void
touch(const char *share, const char *rel)
{
    char path[FS_PATH_MAX];
    int fd;

    unit_path(path, share, rel);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    assert_true(fd >= 0);
    close(fd);
}

static void
test_replaced_is_strictly_newer(void **state)
{
    (void)state;
    assert_false(generation_replaced(3, 0));
    assert_false(generation_replaced(3, 2));
    assert_false(generation_replaced(3, 3));
    assert_true(generation_replaced(3, 4));
}

static void
test_claims_climb(void **state)
{
    const char *share = *state;
    uint64_t g = 0;

    /* No coord/ yet: the first claim creates it and takes 1. */
    assert_int_equal(generation_newest(share), 0);
    assert_int_equal(generation_claim(share, 0, &g), 0);
    assert_int_equal(g, 1);
    assert_int_equal(generation_claim(share, 0, &g), 0);
    assert_int_equal(g, 2);
    assert_int_equal(generation_newest(share), 2);
    /* The journal remembers a higher one (coord/ was wiped or is behind). */
    assert_int_equal(generation_claim(share, 9, &g), 0);
    assert_int_equal(g, 10);
    /* A floor below what the share holds does not lower the claim. */
    assert_int_equal(generation_claim(share, 4, &g), 0);
    assert_int_equal(g, 11);
    assert_int_equal(generation_newest(share), 11);
}

/* Another ambassador's claim, seen or not, is never claimed again. */
static void
test_claim_skips_taken(void **state)
{
    const char *share = *state;
    char rel[FS_PATH_MAX];
    uint64_t g = 0;

    assert_int_equal(generation_claim(share, 0, &g), 0);
    assert_int_equal(g, 1);
    assert_int_equal(sharepath_gen(NULL, 7, rel, sizeof(rel)), 0);
    touch(share, rel);
    assert_int_equal(generation_claim(share, 0, &g), 0);
    assert_int_equal(g, 8);
}

static void
test_newest_ignores_other_names(void **state)
{
    const char *share = *state;
    char rel[FS_PATH_MAX];
    uint64_t g = 0;

    assert_int_equal(generation_claim(share, 0, &g), 0);
    assert_int_equal(g, 1);
    touch(share, "coord/gen.-1");
    touch(share, "coord/gen.99x");
    touch(share, "coord/gen.");
    touch(share, "coord/probe");
    touch(share, "coord/current");
    assert_int_equal(sharepath_gen(NULL, 5, rel, sizeof(rel)), 0);
    touch(share, rel);
    assert_int_equal(generation_newest(share), 5);
}

/* The text of share/coord/current, which must exist. */
static void
read_current(const char *share, char *text, size_t len)
{
    char path[FS_PATH_MAX], *buf = NULL;
    size_t n = 0;

    assert_int_equal(sharepath_current(share, path, sizeof(path)), 0);
    assert_int_equal(fs_read_max(path, len - 1, &buf, &n), 0);
    snprintf(text, len, "%s", buf);
    free(buf);
}

static void
test_publish(void **state)
{
    static struct coord_config cfg;
    const char *share = *state;
    char text[256], err[ERR_MAX];

    config_defaults(&cfg);
    snprintf(cfg.share, sizeof(cfg.share), "%s", share);
    snprintf(cfg.listen_host, sizeof(cfg.listen_host), "127.0.0.1");
    assert_int_equal(generation_claim(share, 0, &(uint64_t){0}), 0);

    assert_int_equal(
        generation_publish(&cfg, NULL, TEST_PORT, 1, err, sizeof(err)), 0);
    read_current(share, text, sizeof(text));
    assert_string_equal(text, "127.0.0.1:7711 1\n");

    /* --advertise wins, with or without a port of its own. */
    assert_int_equal(generation_publish(&cfg, "farm.example", TEST_PORT, 2, err,
                                        sizeof(err)),
                     0);
    read_current(share, text, sizeof(text));
    assert_string_equal(text, "farm.example:7711 2\n");
    assert_int_equal(generation_publish(&cfg, "farm.example:9000", TEST_PORT, 3,
                                        err, sizeof(err)),
                     0);
    read_current(share, text, sizeof(text));
    assert_string_equal(text, "farm.example:9000 3\n");

    assert_int_equal(generation_publish(&cfg, "farm.example:notaport",
                                        TEST_PORT, 4, err, sizeof(err)),
                     -1);
    assert_contains(err, "--advertise");
    read_current(share, text, sizeof(text));
    assert_string_equal(text, "farm.example:9000 3\n");
}

/* With nothing moving the active ambassador's probe, a standby takes over
 * once the job has a journal. */
static void
test_standby_takes_over_a_silent_share(void **state)
{
    static struct coord_config cfg;
    const char *share = *state;
    char dir[FS_PATH_MAX], rel[FS_PATH_MAX], err[ERR_MAX];

    config_defaults(&cfg);
    snprintf(cfg.share, sizeof(cfg.share), "%s", share);
    snprintf(cfg.job, sizeof(cfg.job), "demo");
    cfg.share_poll_ms = TEST_POLL_MS;
    cfg.reclaim_ms = TEST_RECLAIM_MS;
    assert_int_equal(sharepath_job_dir(share, "demo", dir, sizeof(dir)), 0);
    assert_int_equal(fs_mkdir_p(dir, 0755), 0);
    assert_int_equal(sharepath_journal(NULL, "demo", rel, sizeof(rel)), 0);
    touch(share, rel);
    assert_int_equal(generation_await_takeover(&cfg, err, sizeof(err)), 0);

    /* A job name that cannot be a path is an error, not a wait. */
    snprintf(cfg.job, sizeof(cfg.job), "..");
    assert_int_equal(generation_await_takeover(&cfg, err, sizeof(err)), -1);
}

#define GEN_TEST(f)                                                            \
    cmocka_unit_test_setup_teardown(f, unit_tmpdir_setup, unit_tmpdir_teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replaced_is_strictly_newer),
        GEN_TEST(test_claims_climb),
        GEN_TEST(test_claim_skips_taken),
        GEN_TEST(test_newest_ignores_other_names),
        GEN_TEST(test_publish),
        GEN_TEST(test_standby_takes_over_a_silent_share),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
