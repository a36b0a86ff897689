/*
 * unit.h - what every cmocka unit test shares: the cmocka includes (which
 * must come in this order), an assertion for "err mentions X" that prints
 * both strings, and a per-test temporary directory under /tmp that is
 * removed after the test. Test code only.
 */
#ifndef FF_TESTS_UNIT_H
#define FF_TESTS_UNIT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/fsutil.h"

#define UNIT_TMP_TEMPLATE "/tmp/ff-unit-XXXXXX"

/* Fails, showing both strings, unless hay contains needle. */
#define assert_contains(hay, needle)                                           \
    do {                                                                       \
        const char *unit_hay_ = (hay), *unit_needle_ = (needle);               \
        if (unit_hay_ == NULL || strstr(unit_hay_, unit_needle_) == NULL)      \
            fail_msg("\"%s\" does not contain \"%s\"",                         \
                     unit_hay_ != NULL ? unit_hay_ : "(null)", unit_needle_);  \
    } while (0)

/* Setup/teardown for tests that need a scratch directory: *state is a
 * malloc'd path of a fresh directory, removed with all it holds. */
static inline int
unit_tmpdir_setup(void **state)
{
    char *dir = strdup(UNIT_TMP_TEMPLATE);
    if (dir == NULL || mkdtemp(dir) == NULL) {
        free(dir);
        return -1;
    }
    *state = dir;
    return 0;
}

static inline int
unit_tmpdir_teardown(void **state)
{
    char *dir = *state;
    int rc = fs_rm_rf(dir);
    free(dir);
    return rc == 0 ? 0 : -1;
}

/* dir/name into out (FS_PATH_MAX bytes); the test fails if it does not
 * fit. */
static inline void
unit_path(char *out, const char *dir, const char *name)
{
    assert_int_equal(fs_join(out, FS_PATH_MAX, dir, name), 0);
}

#endif
