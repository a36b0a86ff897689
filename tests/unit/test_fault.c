/*
 * test_fault.c - the test hooks (common/fault.h) as the test binaries see
 * them (unit tests link fault.c built with FF_TEST_HOOKS): each hook reads
 * its variable, an empty or malformed value means "no fault", and a crash
 * point exits with FAULT_CRASH_EXIT only when it is the one named. That
 * release builds ignore the hooks is tests/integration/t_release_no_hooks.
 */
#include "tests/unit/unit.h"

#include <sys/wait.h>
#include <unistd.h>

#include "common/fault.h"

static int
clear_env(void **state)
{
    (void)state;
    unsetenv(fault_env(FAULT_HOOK_CRASH_AT));
    unsetenv(fault_env(FAULT_HOOK_ENCODER));
    unsetenv(fault_env(FAULT_HOOK_DECODER));
    unsetenv(fault_env(FAULT_HOOK_CORRUPT_SET));
    return 0;
}

static void
test_built_with_hooks(void **state)
{
    (void)state;
    assert_int_equal(fault_hooks_built(), 1);
    assert_string_equal(fault_env(FAULT_HOOK_CRASH_AT), "FRAMEFARM_CRASH_AT");
    assert_string_equal(fault_env(FAULT_HOOK_ENCODER),
                        "FRAMEFARM_FAULT_ENCODER");
    assert_string_equal(fault_env(FAULT_HOOK_DECODER),
                        "FRAMEFARM_FAULT_DECODER");
    assert_string_equal(fault_env(FAULT_HOOK_CORRUPT_SET),
                        "FRAMEFARM_FAULT_CORRUPT_SET");
}

static void
test_names(void **state)
{
    (void)state;
    assert_null(fault_encoder());
    assert_null(fault_decoder());
    setenv(fault_env(FAULT_HOOK_ENCODER), "", 1);
    assert_null(fault_encoder());
    setenv(fault_env(FAULT_HOOK_ENCODER), "h264_nvenc", 1);
    setenv(fault_env(FAULT_HOOK_DECODER), "nvdec", 1);
    assert_string_equal(fault_encoder(), "h264_nvenc");
    assert_string_equal(fault_decoder(), "nvdec");
}

static void
test_corrupt_set(void **state)
{
    static const struct {
        const char *value;
        long want;
    } cases[] = {
        {"", -1}, {"2", 2}, {"0", 0}, {"-1", -1}, {"3x", -1}, {"set", -1},
    };
    (void)state;
    assert_int_equal(fault_corrupt_set(), -1);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        setenv(fault_env(FAULT_HOOK_CORRUPT_SET), cases[i].value, 1);
        if (fault_corrupt_set() != cases[i].want)
            fail_msg("\"%s\": %ld, want %ld", cases[i].value,
                     fault_corrupt_set(), cases[i].want);
    }
}

static void
test_crash_armed(void **state)
{
    (void)state;
    assert_int_equal(fault_crash_armed(FAULT_JOURNAL_TORN), 0);
    setenv(fault_env(FAULT_HOOK_CRASH_AT), FAULT_AFTER_CONCAT_BEGUN, 1);
    assert_int_equal(fault_crash_armed(FAULT_AFTER_CONCAT_BEGUN), 1);
    assert_int_equal(fault_crash_armed(FAULT_CONCAT_BEFORE_RENAME), 0);
    assert_int_equal(fault_crash_armed(NULL), 0);
    /* Another point is no crash: this returns. */
    fault_crash_point(FAULT_CONCAT_BEFORE_RENAME);
}

static void
test_crash_point_exits(void **state)
{
    int status = 0;
    pid_t pid;
    (void)state;
    setenv(fault_env(FAULT_HOOK_CRASH_AT), FAULT_AFTER_ASSIGN_JOURNALED, 1);
    pid = fork();
    assert_true(pid != -1);
    if (pid == 0) {
        /* No cmocka here: exit codes only. */
        fault_crash_point(FAULT_AFTER_ASSIGN_JOURNALED);
        _exit(3); /* the crash point did not fire */
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != FAULT_CRASH_EXIT)
        fail_msg("child: status 0x%x, want exit %d", (unsigned)status,
                 FAULT_CRASH_EXIT);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_built_with_hooks, clear_env),
        cmocka_unit_test_setup(test_names, clear_env),
        cmocka_unit_test_setup(test_corrupt_set, clear_env),
        cmocka_unit_test_setup(test_crash_armed, clear_env),
        cmocka_unit_test_setup(test_crash_point_exits, clear_env),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
