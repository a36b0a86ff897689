/*
 * test_sharepath.c - the share's layout (common/sharepath.h): every path,
 * relative and under a share, exactly as the nodes, the ambassador and
 * the tests expect it on disk; names that would leave their folder are
 * refused; a path that does not fit is an error, never a cut-off path.
 */
#include "tests/unit/unit.h"

#include <errno.h>

#include "common/ident.h"
#include "common/sharepath.h"

#define SHARE "/mnt/share"
#define SMALL 8

/* rc must be 0 and out must equal want; prints both when not. */
static void
expect_path(int rc, const char *out, const char *want)
{
    if (rc != 0)
        fail_msg("want \"%s\", got an error (errno %d)", want, errno);
    if (strcmp(out, want) != 0)
        fail_msg("got \"%s\", want \"%s\"", out, want);
}

/* rc must be -1 with errno err and out emptied. */
static void
expect_refused(int rc, const char *out, int err)
{
    if (rc != -1)
        fail_msg("accepted: \"%s\"", out);
    assert_int_equal(errno, err);
    assert_string_equal(out, "");
}

static void
test_job_paths(void **state)
{
    char out[FS_PATH_MAX];
    (void)state;

    expect_path(sharepath_job_dir(NULL, "demo", out, sizeof(out)), out,
                "jobs/demo");
    expect_path(sharepath_job_dir(SHARE, "demo", out, sizeof(out)), out,
                SHARE "/jobs/demo");
    expect_path(sharepath_input_zip(NULL, "demo", out, sizeof(out)), out,
                "jobs/demo/input.zip");
    expect_path(sharepath_input_zip(SHARE, "demo", out, sizeof(out)), out,
                SHARE "/jobs/demo/input.zip");
    expect_path(sharepath_sets_dir(SHARE, "demo", out, sizeof(out)), out,
                SHARE "/jobs/demo/sets");
    expect_path(sharepath_manifest(NULL, "demo", 17, out, sizeof(out)), out,
                "jobs/demo/sets/17.json");
    expect_path(sharepath_manifest(SHARE, "demo", 0, out, sizeof(out)), out,
                SHARE "/jobs/demo/sets/0.json");
    expect_path(sharepath_out_dir(SHARE, "demo", 3, out, sizeof(out)), out,
                SHARE "/jobs/demo/out/3");
    expect_path(sharepath_journal(NULL, "demo", out, sizeof(out)), out,
                "jobs/demo/journal");
    expect_path(sharepath_journal(SHARE, "demo", out, sizeof(out)), out,
                SHARE "/jobs/demo/journal");
}

static void
test_result_paths(void **state)
{
    char out[FS_PATH_MAX];
    (void)state;

    expect_path(sharepath_result(NULL, "demo", 3, 2, "n1", out, sizeof(out)),
                out, "jobs/demo/out/3/2-n1.mp4");
    expect_path(sharepath_result(SHARE, "demo", 3, 2, "n1", out, sizeof(out)),
                out, SHARE "/jobs/demo/out/3/2-n1.mp4");
    /* The widest numbers print in full. */
    expect_path(sharepath_result(NULL, "j", UINT32_MAX, UINT64_MAX, "a.b_c-d",
                                 out, sizeof(out)),
                out, "jobs/j/out/4294967295/18446744073709551615-a.b_c-d.mp4");
}

static void
test_node_and_coord_paths(void **state)
{
    char out[FS_PATH_MAX];
    (void)state;

    expect_path(sharepath_nodes_dir(SHARE, out, sizeof(out)), out,
                SHARE "/nodes");
    expect_path(sharepath_node_dir(SHARE, "n1", out, sizeof(out)), out,
                SHARE "/nodes/n1");
    expect_path(sharepath_lease(NULL, "n1", out, sizeof(out)), out,
                "nodes/n1/lease");
    expect_path(sharepath_lease(SHARE, "n1", out, sizeof(out)), out,
                SHARE "/nodes/n1/lease");
    expect_path(sharepath_coord_dir(SHARE, out, sizeof(out)), out,
                SHARE "/coord");
    expect_path(sharepath_probe(SHARE, out, sizeof(out)), out,
                SHARE "/coord/probe");
    expect_path(sharepath_current(NULL, out, sizeof(out)), out,
                "coord/current");
    expect_path(sharepath_current(SHARE, out, sizeof(out)), out,
                SHARE "/coord/current");
    expect_path(sharepath_gen(SHARE, 12, out, sizeof(out)), out,
                SHARE "/coord/gen.12");
    expect_path(sharepath_gen(NULL, UINT64_MAX, out, sizeof(out)), out,
                "coord/gen.18446744073709551615");
    expect_path(sharepath_logs_dir(SHARE, out, sizeof(out)), out,
                SHARE "/logs");
}

/* Job and node names become path components: nothing that could climb
 * out of its folder or name another one gets through. */
static void
test_bad_names(void **state)
{
    static const char *const bad[] = {
        "", ".", "..", "../x", "a/b", "/abs", ".hidden", "a b", "a\nb", "x/..",
    };
    char out[FS_PATH_MAX], long_name[IDENT_MAX + 2];
    (void)state;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        expect_refused(sharepath_job_dir(SHARE, bad[i], out, sizeof(out)), out,
                       EINVAL);
        expect_refused(sharepath_input_zip(NULL, bad[i], out, sizeof(out)), out,
                       EINVAL);
        expect_refused(sharepath_sets_dir(SHARE, bad[i], out, sizeof(out)), out,
                       EINVAL);
        expect_refused(sharepath_manifest(SHARE, bad[i], 0, out, sizeof(out)),
                       out, EINVAL);
        expect_refused(sharepath_out_dir(SHARE, bad[i], 0, out, sizeof(out)),
                       out, EINVAL);
        expect_refused(sharepath_journal(SHARE, bad[i], out, sizeof(out)), out,
                       EINVAL);
        expect_refused(
            sharepath_result(NULL, bad[i], 0, 1, "n1", out, sizeof(out)), out,
            EINVAL);
        expect_refused(
            sharepath_result(NULL, "demo", 0, 1, bad[i], out, sizeof(out)), out,
            EINVAL);
        expect_refused(sharepath_node_dir(SHARE, bad[i], out, sizeof(out)), out,
                       EINVAL);
        expect_refused(sharepath_lease(SHARE, bad[i], out, sizeof(out)), out,
                       EINVAL);
    }
    expect_refused(sharepath_job_dir(SHARE, NULL, out, sizeof(out)), out,
                   EINVAL);
    expect_refused(sharepath_lease(SHARE, NULL, out, sizeof(out)), out, EINVAL);

    /* IDENT_MAX characters are a name; one more is not. */
    memset(long_name, 'a', IDENT_MAX);
    long_name[IDENT_MAX] = '\0';
    assert_int_equal(sharepath_lease(NULL, long_name, out, sizeof(out)), 0);
    long_name[IDENT_MAX] = 'a';
    long_name[IDENT_MAX + 1] = '\0';
    expect_refused(sharepath_lease(NULL, long_name, out, sizeof(out)), out,
                   EINVAL);

    /* An empty share would make the path absolute from the root. */
    expect_refused(sharepath_probe("", out, sizeof(out)), out, EINVAL);
    expect_refused(sharepath_journal("", "demo", out, sizeof(out)), out,
                   EINVAL);
}

/* A path that does not fit is refused whole: exactly fitting is fine, one
 * byte less is not, whether the share or the rest overflows. */
static void
test_overflow(void **state)
{
    const char *want = SHARE "/jobs/demo/out/3/2-n1.mp4";
    size_t need = strlen(want) + 1;
    char out[FS_PATH_MAX], small[SMALL];
    char share[FS_PATH_MAX];
    (void)state;

    expect_path(sharepath_result(SHARE, "demo", 3, 2, "n1", out, need), out,
                want);
    expect_refused(sharepath_result(SHARE, "demo", 3, 2, "n1", out, need - 1),
                   out, ENAMETOOLONG);
    /* "/mnt/share/" alone is already longer than SMALL. */
    expect_refused(sharepath_probe(SHARE, small, sizeof(small)), small,
                   ENAMETOOLONG);
    expect_refused(sharepath_current(NULL, small, sizeof(small)), small,
                   ENAMETOOLONG);
    out[0] = 'z';
    out[1] = '\0';
    assert_int_equal(sharepath_gen(NULL, 1, out, 0), -1);
    assert_int_equal(errno, ENAMETOOLONG);
    assert_string_equal(out, "z"); /* not a byte written */

    /* A share as long as a whole path leaves no room for the rest. */
    memset(share, 'x', sizeof(share) - 1);
    share[0] = '/';
    share[sizeof(share) - 1] = '\0';
    expect_refused(sharepath_journal(share, "demo", out, sizeof(out)), out,
                   ENAMETOOLONG);
    share[sizeof(share) - strlen("/coord/probe") - 1] = '\0';
    expect_path(sharepath_probe(share, out, sizeof(out)), out + strlen(share),
                "/coord/probe");
    share[strlen(share)] = 'x';
    share[sizeof(share) - strlen("/coord/probe")] = '\0';
    expect_refused(sharepath_probe(share, out, sizeof(out)), out, ENAMETOOLONG);
}

static void
test_gen_parse(void **state)
{
    static const char *const not_gen[] = {
        "gen.",
        "gen",
        "gen.x",
        "gen.-1",
        "gen. 1",
        "gen.1 ",
        "gen.1x",
        "gen.+1",
        "current",
        "probe",
        "Gen.1",
        "xgen.1",
        "gen.1.tmp-12-abcdef",
        "gen.18446744073709551616",
    };
    uint64_t g = 7;
    (void)state;

    assert_int_equal(sharepath_gen_parse("gen.0", &g), 1);
    assert_int_equal(g, 0);
    assert_int_equal(sharepath_gen_parse("gen.42", &g), 1);
    assert_int_equal(g, 42);
    assert_int_equal(sharepath_gen_parse("gen.18446744073709551615", &g), 1);
    assert_true(g == UINT64_MAX);
    for (size_t i = 0; i < sizeof(not_gen) / sizeof(not_gen[0]); i++) {
        g = 7;
        if (sharepath_gen_parse(not_gen[i], &g) != 0)
            fail_msg("\"%s\" was taken for generation %llu", not_gen[i],
                     (unsigned long long)g);
        assert_int_equal(g, 7);
    }
}

/* What sharepath_gen writes, sharepath_gen_parse reads back. */
static void
test_gen_round_trip(void **state)
{
    static const uint64_t gens[] = {0,         1, 9, 10, 99999, UINT64_MAX - 1,
                                    UINT64_MAX};
    char out[FS_PATH_MAX];
    uint64_t g;
    (void)state;

    for (size_t i = 0; i < sizeof(gens) / sizeof(gens[0]); i++) {
        assert_int_equal(sharepath_gen(NULL, gens[i], out, sizeof(out)), 0);
        assert_int_equal(sharepath_gen_parse(strchr(out, '/') + 1, &g), 1);
        assert_true(g == gens[i]);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_job_paths),
        cmocka_unit_test(test_result_paths),
        cmocka_unit_test(test_node_and_coord_paths),
        cmocka_unit_test(test_bad_names),
        cmocka_unit_test(test_overflow),
        cmocka_unit_test(test_gen_parse),
        cmocka_unit_test(test_gen_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
