/*
 * test_fsutil.c - files on the share (common/fsutil.h): untrusted relative
 * paths, atomic replacement that leaves nothing behind, capped reads, and
 * "is this path inside the share" with symlinks in the way. Every test
 * works in its own directory under /tmp.
 */
#include "tests/unit/unit.h"

#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fsutil.h"

#define LIST_MAX 16
#define NAME_LEN 256

struct listing {
    char names[LIST_MAX][NAME_LEN];
    size_t n;
};

static int
name_cmp(const void *a, const void *b)
{
    return strcmp(a, b);
}

/* The entries of dir (without . and ..), sorted. */
static void
list_dir(const char *dir, struct listing *l)
{
    DIR *d = opendir(dir);
    struct dirent *e;

    assert_non_null(d);
    l->n = 0;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        assert_true(l->n < LIST_MAX);
        snprintf(l->names[l->n++], NAME_LEN, "%s", e->d_name);
    }
    closedir(d);
    qsort(l->names, l->n, NAME_LEN, name_cmp);
}

/* dir holds exactly the names in want (sorted), nothing else. */
static void
expect_dir(const char *dir, const char *const *want, size_t n)
{
    struct listing l;
    list_dir(dir, &l);
    for (size_t i = 0; i < l.n || i < n; i++) {
        const char *got = i < l.n ? l.names[i] : "(nothing)";
        const char *exp = i < n ? want[i] : "(nothing)";
        if (strcmp(got, exp) != 0)
            fail_msg("%s: entry %zu is \"%s\", want \"%s\" (%zu entries, "
                     "want %zu)",
                     dir, i, got, exp, l.n, n);
    }
}

static void
write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

static void
expect_file(const char *path, const char *text)
{
    char *buf = NULL;
    size_t len = 0;
    if (fs_read_max(path, 1 << 20, &buf, &len) != 0)
        fail_msg("%s: %s", path, strerror(errno));
    assert_int_equal(len, strlen(text));
    assert_string_equal(buf, text);
    free(buf);
}

static void
test_relpath_accepts(void **state)
{
    const char *good[] = {"a/b.jpg", "a",         "x.zip", "a.b/c..d/e.jpg",
                          "..a/b..", "a/.hidden", "a b/ c"};
    (void)state;

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        if (fs_relpath_is_safe(good[i]) != 1)
            fail_msg("\"%s\" refused, want safe", good[i]);
}

static void
test_relpath_rejects(void **state)
{
    const char *bad[] = {"",     "/a",    "/",        "a/../b", "..",
                         ".",    "../a",  "a/..",     "./a",    "a/.",
                         "a//b", "a/./b", "a/",       "a\\b",   "..\\a",
                         "a\nb", "a\tb",  "\x01.jpg", "a\x1f",  "a\x7f"};
    (void)state;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (fs_relpath_is_safe(bad[i]) != 0)
            fail_msg("\"%s\" (entry %zu) accepted, want unsafe", bad[i], i);
}

static void
test_relpath_length_limit(void **state)
{
    char *s = malloc(FS_PATH_MAX + 1);
    (void)state;

    assert_non_null(s);
    memset(s, 'a', FS_PATH_MAX);
    s[FS_PATH_MAX - 1] = '\0';
    assert_int_equal(fs_relpath_is_safe(s), 1);
    s[FS_PATH_MAX - 1] = 'a';
    s[FS_PATH_MAX] = '\0';
    assert_int_equal(fs_relpath_is_safe(s), 0);
    free(s);
}

static void
test_write_atomic_replaces_and_leaves_no_temp(void **state)
{
    const char *dir = *state;
    const char *const want[] = {"state.json"};
    char path[FS_PATH_MAX];

    unit_path(path, dir, "state.json");
    assert_int_equal(fs_write_atomic(path, "first version", 13), 0);
    expect_file(path, "first version");
    expect_dir(dir, want, 1);

    assert_int_equal(fs_write_atomic(path, "2nd", 3), 0);
    expect_file(path, "2nd");
    expect_dir(dir, want, 1);

    assert_int_equal(fs_write_atomic(path, "", 0), 0);
    expect_file(path, "");
    expect_dir(dir, want, 1);
}

/* A failed replacement keeps the old file and removes its temp file. */
static void
test_write_atomic_failure_leaves_no_temp(void **state)
{
    const char *dir = *state;
    const char *const want[] = {"target"};
    char path[FS_PATH_MAX], missing[FS_PATH_MAX];

    unit_path(path, dir, "target");
    assert_int_equal(mkdir(path, 0755), 0); /* rename onto a directory */
    errno = 0;
    assert_int_equal(fs_write_atomic(path, "data", 4), -1);
    assert_int_not_equal(errno, 0);
    expect_dir(dir, want, 1);

    unit_path(missing, dir, "no/such/dir/file");
    errno = 0;
    assert_int_equal(fs_write_atomic(missing, "data", 4), -1);
    assert_int_equal(errno, ENOENT);
    expect_dir(dir, want, 1);
}

static void
test_copy_atomic(void **state)
{
    const char *dir = *state;
    const char *const want[] = {"dst", "src"};
    char src[FS_PATH_MAX], dst[FS_PATH_MAX], missing[FS_PATH_MAX];

    unit_path(src, dir, "src");
    unit_path(dst, dir, "dst");
    unit_path(missing, dir, "missing");
    write_file(src, "copied bytes");
    write_file(dst, "old");
    assert_int_equal(fs_copy_atomic(src, dst), 0);
    expect_file(dst, "copied bytes");
    expect_dir(dir, want, 2);

    errno = 0;
    assert_int_equal(fs_copy_atomic(missing, dst), -1);
    assert_int_equal(errno, ENOENT);
    expect_file(dst, "copied bytes");
    expect_dir(dir, want, 2);
}

/* Same filesystem: a hard link (no copy of a big zip), replacing what
 * was there, with no temporary left; a missing source fails cleanly. */
static void
test_link_or_copy(void **state)
{
    const char *dir = *state;
    const char *const want[] = {"dst", "src"};
    char src[FS_PATH_MAX], dst[FS_PATH_MAX], missing[FS_PATH_MAX];
    struct stat a, b;

    unit_path(src, dir, "src");
    unit_path(dst, dir, "dst");
    unit_path(missing, dir, "missing");
    write_file(src, "linked bytes");
    write_file(dst, "old");
    assert_int_equal(fs_link_or_copy(src, dst), 1);
    expect_file(dst, "linked bytes");
    assert_int_equal(stat(src, &a), 0);
    assert_int_equal(stat(dst, &b), 0);
    assert_true(a.st_ino == b.st_ino);
    assert_int_equal(a.st_nlink, 2);
    expect_dir(dir, want, 2);

    errno = 0;
    assert_int_equal(fs_link_or_copy(missing, dst), -1);
    assert_int_equal(errno, ENOENT);
    expect_file(dst, "linked bytes");
    expect_dir(dir, want, 2);
}

static void
test_read_max(void **state)
{
    const char *dir = *state;
    char path[FS_PATH_MAX];
    char *buf = NULL;
    size_t len = 99;

    unit_path(path, dir, "f");
    write_file(path, "0123456789");
    assert_int_equal(fs_read_max(path, 100, &buf, &len), 0);
    assert_int_equal(len, 10);
    assert_string_equal(buf, "0123456789"); /* NUL-terminated */
    free(buf);
    buf = NULL;

    errno = 0;
    assert_int_equal(fs_read_max(path, 9, &buf, &len), -1);
    assert_int_equal(errno, EFBIG);
    assert_null(buf);
}

/* "At most max bytes": a file of exactly max bytes is read. */
static void
test_read_max_exactly_at_cap(void **state)
{
    const char *dir = *state;
    char path[FS_PATH_MAX], empty[FS_PATH_MAX];
    char *buf = NULL;
    size_t len = 99;

    unit_path(path, dir, "f");
    write_file(path, "0123456789");
    if (fs_read_max(path, 10, &buf, &len) != 0)
        fail_msg("10-byte file with max 10: %s", strerror(errno));
    assert_int_equal(len, 10);
    assert_string_equal(buf, "0123456789");
    free(buf);
    buf = NULL;

    unit_path(empty, dir, "empty");
    write_file(empty, "");
    if (fs_read_max(empty, 0, &buf, &len) != 0)
        fail_msg("empty file with max 0: %s", strerror(errno));
    assert_int_equal(len, 0);
    assert_string_equal(buf, "");
    free(buf);
}

static void
test_read_max_missing(void **state)
{
    const char *dir = *state;
    char path[FS_PATH_MAX];
    char *buf = NULL;
    size_t len = 0;

    unit_path(path, dir, "missing");
    errno = 0;
    assert_int_equal(fs_read_max(path, 100, &buf, &len), -1);
    assert_int_equal(errno, ENOENT);
    assert_null(buf);
}

static void
test_mkdir_p(void **state)
{
    const char *dir = *state;
    char path[FS_PATH_MAX], file[FS_PATH_MAX], under[FS_PATH_MAX];
    struct stat st;

    unit_path(path, dir, "a/b/c");
    assert_int_equal(fs_mkdir_p(path, 0755), 0);
    assert_int_equal(stat(path, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(fs_mkdir_p(path, 0755), 0); /* already there */

    unit_path(file, dir, "file");
    write_file(file, "x");
    unit_path(under, dir, "file/sub");
    errno = 0;
    assert_int_equal(fs_mkdir_p(under, 0755), -1);
    assert_int_equal(errno, ENOTDIR);
}

/* rm -rf removes the tree but not what a symlink in it points to. */
static void
test_rm_rf_does_not_follow_symlinks(void **state)
{
    const char *dir = *state;
    const char *const want[] = {"keep"};
    char tree[FS_PATH_MAX], deep[FS_PATH_MAX], keep[FS_PATH_MAX],
        link[FS_PATH_MAX], f[FS_PATH_MAX], precious[FS_PATH_MAX];

    unit_path(tree, dir, "tree");
    unit_path(deep, dir, "tree/x/y");
    unit_path(keep, dir, "keep");
    unit_path(link, dir, "tree/x/link");
    unit_path(f, dir, "tree/x/y/f");
    unit_path(precious, dir, "keep/precious");
    assert_int_equal(fs_mkdir_p(deep, 0755), 0);
    write_file(f, "f");
    assert_int_equal(mkdir(keep, 0755), 0);
    write_file(precious, "p");
    assert_int_equal(symlink(keep, link), 0);

    assert_int_equal(fs_rm_rf(tree), 0);
    expect_dir(dir, want, 1);
    expect_file(precious, "p");
}

static void
test_join(void **state)
{
    char out[8];
    (void)state;

    assert_int_equal(fs_join(out, sizeof(out), "ab", "cd"), 0);
    assert_string_equal(out, "ab/cd");
    errno = 0;
    assert_int_equal(fs_join(out, sizeof(out), "abc", "defg"), -1);
    assert_int_equal(errno, ENAMETOOLONG);
}

/* A share root with a file inside, a file beside it, and a sibling whose
 * name starts with the root's name. */
struct share {
    char root[FS_PATH_MAX];
    char inside[FS_PATH_MAX];
    char outside[FS_PATH_MAX];
    char sibling[FS_PATH_MAX];
};

static void
make_share(const char *dir, struct share *s)
{
    char sub[FS_PATH_MAX], sibdir[FS_PATH_MAX];

    unit_path(s->root, dir, "share");
    unit_path(sub, dir, "share/jobs/demo");
    unit_path(s->inside, dir, "share/jobs/demo/in.zip");
    unit_path(s->outside, dir, "secret");
    unit_path(sibdir, dir, "share2");
    unit_path(s->sibling, dir, "share2/x");
    assert_int_equal(fs_mkdir_p(sub, 0755), 0);
    assert_int_equal(fs_mkdir_p(sibdir, 0755), 0);
    write_file(s->inside, "zip");
    write_file(s->outside, "secret");
    write_file(s->sibling, "x");
}

static void
expect_under(const char *root, const char *path, int want, const char *want_rel)
{
    char rel[FS_PATH_MAX] = "";
    int rc = fs_path_under(root, path, rel, sizeof(rel));
    if (rc != want)
        fail_msg("fs_path_under(\"%s\", \"%s\"): got %d, want %d", root, path,
                 rc, want);
    if (want == 1)
        assert_string_equal(rel, want_rel);
}

static void
test_path_under_inside_and_outside(void **state)
{
    const char *dir = *state;
    struct share s;
    char dotted[FS_PATH_MAX];

    make_share(dir, &s);
    expect_under(s.root, s.inside, 1, "jobs/demo/in.zip");
    unit_path(dotted, dir, "share/jobs/../jobs/demo/in.zip");
    expect_under(s.root, dotted, 1, "jobs/demo/in.zip");
    expect_under(s.root, s.outside, 0, NULL);
    expect_under(s.root, s.sibling, 0, NULL); /* share2 is not in share */
    unit_path(dotted, dir, "share/../secret");
    expect_under(s.root, dotted, 0, NULL);
}

static void
test_path_under_symlinks(void **state)
{
    const char *dir = *state;
    struct share s;
    char escape[FS_PATH_MAX], back[FS_PATH_MAX], rootlink[FS_PATH_MAX],
        via[FS_PATH_MAX];

    make_share(dir, &s);
    /* A link inside the share that points out of it is outside. */
    unit_path(escape, dir, "share/jobs/demo/escape.zip");
    assert_int_equal(symlink("../../../secret", escape), 0);
    expect_under(s.root, escape, 0, NULL);
    /* A link outside that points in is inside, under its real name. */
    unit_path(back, dir, "back.zip");
    assert_int_equal(symlink(s.inside, back), 0);
    expect_under(s.root, back, 1, "jobs/demo/in.zip");
    /* The root itself may be given through a link. */
    unit_path(rootlink, dir, "sharelink");
    assert_int_equal(symlink(s.root, rootlink), 0);
    expect_under(rootlink, s.inside, 1, "jobs/demo/in.zip");
    unit_path(via, dir, "sharelink/jobs/demo/in.zip");
    expect_under(s.root, via, 1, "jobs/demo/in.zip");
}

static void
test_path_under_errors(void **state)
{
    const char *dir = *state;
    struct share s;
    char missing[FS_PATH_MAX], rel[4];

    make_share(dir, &s);
    unit_path(missing, dir, "share/missing.zip");
    errno = 0;
    assert_int_equal(fs_path_under(s.root, missing, rel, sizeof(rel)), -1);
    assert_int_equal(errno, ENOENT);
    errno = 0;
    assert_int_equal(fs_path_under(s.root, s.inside, rel, sizeof(rel)), -1);
    assert_int_equal(errno, ENAMETOOLONG);
}

#define TMP_TEST(f)                                                            \
    cmocka_unit_test_setup_teardown(f, unit_tmpdir_setup, unit_tmpdir_teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_relpath_accepts),
        cmocka_unit_test(test_relpath_rejects),
        cmocka_unit_test(test_relpath_length_limit),
        TMP_TEST(test_write_atomic_replaces_and_leaves_no_temp),
        TMP_TEST(test_write_atomic_failure_leaves_no_temp),
        TMP_TEST(test_copy_atomic),
        TMP_TEST(test_link_or_copy),
        TMP_TEST(test_read_max),
        TMP_TEST(test_read_max_exactly_at_cap),
        TMP_TEST(test_read_max_missing),
        TMP_TEST(test_mkdir_p),
        TMP_TEST(test_rm_rf_does_not_follow_symlinks),
        cmocka_unit_test(test_join),
        TMP_TEST(test_path_under_inside_and_outside),
        TMP_TEST(test_path_under_symlinks),
        TMP_TEST(test_path_under_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
