/*
 * test_ffassert.c - FF_ASSERT (common/ffassert.h) stays on with NDEBUG
 * defined: a true condition is evaluated once and nothing happens; a false
 * one logs the expression and where it is, and aborts.
 */
#define NDEBUG 1 /* what a release build with assert(3) off would have */

#include "tests/unit/unit.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/ffassert.h"

#define ASSERT_LOG_MAX 4096

static void
test_true_is_evaluated_once(void **state)
{
    int calls = 0;
    (void)state;
    FF_ASSERT(++calls == 1);
    assert_int_equal(calls, 1);
}

static void
test_false_aborts_with_ndebug(void **state)
{
    const char *dir = *state;
    char path[FS_PATH_MAX], text[ASSERT_LOG_MAX] = "";
    struct rlimit no_core = {0, 0};
    int status = 0, fd;
    ssize_t n;
    pid_t pid;

    unit_path(path, dir, "stderr");
    pid = fork();
    assert_true(pid != -1);
    if (pid == 0) {
        /* No cmocka here: the signal and the log only. */
        int two = 2;
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd == -1 || dup2(fd, STDERR_FILENO) == -1)
            _exit(2);
        (void)setrlimit(RLIMIT_CORE, &no_core);
        FF_ASSERT(two == 3);
        _exit(3); /* compiled out or ignored */
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGABRT)
        fail_msg("child: status 0x%x, want killed by SIGABRT",
                 (unsigned)status);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    assert_true(fd != -1);
    n = read(fd, text, sizeof(text) - 1);
    close(fd);
    assert_true(n > 0);
    text[n] = '\0';
    assert_contains(text, "assertion failed: two == 3 (");
    assert_contains(text, "test_ffassert.c:");
    assert_contains(text, "test_false_aborts_with_ndebug)");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_true_is_evaluated_once),
        cmocka_unit_test_setup_teardown(test_false_aborts_with_ndebug,
                                        unit_tmpdir_setup,
                                        unit_tmpdir_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
