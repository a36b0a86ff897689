/*
 * test_shareid.c - the share's identity (common/shareid.h): written once
 * and read back the same; a second ambassador reads the first one's; a
 * node on a directory without it, or with a damaged one, is told; and a
 * mount point that fstab names but that is not mounted is never made a
 * share of its own (nothing is written there).
 */
#include "tests/unit/unit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/err.h"
#include "common/shareid.h"

static void
write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_true(fputs(text, f) >= 0);
    assert_int_equal(fclose(f), 0);
}

static void
test_once_and_the_same(void **state)
{
    const char *dir = *state;
    char share[FS_PATH_MAX], a[SHAREID_HEX + 1], b[SHAREID_HEX + 1];
    char c[SHAREID_HEX + 1], err[ERR_MAX];

    unit_path(share, dir, "share");
    assert_int_equal(fs_mkdir_p(share, 0755), 0);
    assert_int_equal(shareid_read(share, a, err, sizeof(err)), -1);
    assert_contains(err, "is the share mounted");
    /* Missing is "gone" (a node fences at once); an I/O error is "sick"
     * (a soft mount reconnecting: the lease timings decide). */
    assert_int_equal(errno, ENOENT);
    assert_false(err_is_share_io(ENOENT));
    assert_true(err_is_share_io(EIO));
    assert_true(err_is_share_io(ENOTCONN));
    assert_int_equal(shareid_ensure(share, a, err, sizeof(err)), 0);
    assert_true(shareid_valid(a));
    assert_int_equal(shareid_ensure(share, b, err, sizeof(err)), 0);
    assert_string_equal(a, b);
    assert_int_equal(shareid_read(share, c, err, sizeof(err)), 0);
    assert_string_equal(a, c);
}

static void
test_damaged_refused(void **state)
{
    const char *dir = *state;
    char share[FS_PATH_MAX], path[FS_PATH_MAX], id[SHAREID_HEX + 1];
    char err[ERR_MAX];

    unit_path(share, dir, "share");
    unit_path(path, dir, "share/coord");
    assert_int_equal(fs_mkdir_p(path, 0755), 0);
    unit_path(path, dir, "share/coord/share-id");
    write_text(path, "not-an-id\n");
    assert_int_equal(shareid_read(share, id, err, sizeof(err)), -1);
    assert_contains(err, "does not hold a share id");
    assert_int_equal(errno, EINVAL);
    assert_false(shareid_valid("0123456789ABCDEF0123456789abcdef"));
    assert_false(shareid_valid("0123456789abcdef"));
}

/* fstab names the share as a mount point; the mounts table does not: it
 * is the directory underneath, and stays untouched. Once mounted, it
 * becomes a share. */
static void
test_unmounted_mount_point_untouched(void **state)
{
    const char *dir = *state;
    char share[FS_PATH_MAX], real[FS_PATH_MAX], fstab[FS_PATH_MAX];
    char mounts[FS_PATH_MAX], line[2 * FS_PATH_MAX], id[SHAREID_HEX + 1];
    char err[ERR_MAX], coord[FS_PATH_MAX];

    unit_path(share, dir, "mnt");
    assert_int_equal(fs_mkdir_p(share, 0755), 0);
    assert_non_null(realpath(share, real));
    unit_path(fstab, dir, "fstab");
    unit_path(mounts, dir, "mounts");
    snprintf(line, sizeof(line), "srv:/export %s nfs hard,timeo=100 0 0\n",
             real);
    write_text(fstab, line);
    write_text(mounts, "proc /proc proc rw 0 0\n");
    assert_int_equal(
        shareid_ensure_in(share, fstab, mounts, id, err, sizeof(err)), -1);
    assert_contains(err, "nothing is mounted there");
    unit_path(coord, dir, "mnt/coord");
    assert_int_equal(access(coord, F_OK), -1);

    write_text(mounts, line);
    assert_int_equal(
        shareid_ensure_in(share, fstab, mounts, id, err, sizeof(err)), 0);
    assert_true(shareid_valid(id));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_once_and_the_same, unit_tmpdir_setup, unit_tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_damaged_refused, unit_tmpdir_setup,
                                        unit_tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_unmounted_mount_point_untouched,
                                        unit_tmpdir_setup,
                                        unit_tmpdir_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
