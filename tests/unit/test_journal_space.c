/*
 * test_journal_space.c - a journal on a share with no space left: an
 * append refused with ENOSPC is taken back whole, the journal stays
 * usable, and the same append succeeds once there is space; a restart
 * replays exactly the records that were written (DESIGN I6: a full share
 * pauses the ambassador, it never ends it). On a real tmpfs of 64 KiB,
 * mounted in a private mount namespace of this process, so it goes away
 * with the process on every exit path. Needs root; skipped otherwise.
 */
#include "tests/unit/unit.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "coordinator/journal.h"

#define FS_SIZE "size=64k"
#define REC_LEN 200
#define FILLER_CHUNK 4096
#define RECS_MAX 4096

struct replay {
    size_t n;
    size_t len[RECS_MAX];
};

static char dir[] = "/tmp/ff-journal-space-XXXXXX";

static int
count_rec(void *ctx, const uint8_t *rec, size_t n)
{
    struct replay *r = ctx;
    (void)rec;
    if (r->n < RECS_MAX)
        r->len[r->n] = n;
    r->n++;
    return 0;
}

/* Fill the file system with a filler file until it is full. */
static void
fill(const char *path)
{
    char chunk[FILLER_CHUNK];
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    assert_true(fd != -1);
    memset(chunk, 'x', sizeof(chunk));
    for (;;) {
        ssize_t w = write(fd, chunk, sizeof(chunk));
        if (w <= 0)
            break;
    }
    fsync(fd);
    close(fd);
}

static void
test_full_then_space(void **state)
{
    char jpath[sizeof(dir) + 16], filler[sizeof(dir) + 16], err[256] = "";
    char rec[REC_LEN];
    struct replay rp = {0};
    struct stat st;
    struct journal *j;
    size_t written = 0;
    int rc = 0;
    (void)state;

    if (geteuid() != 0) {
        fprintf(stderr, "SKIP: needs root to mount a tmpfs\n");
        skip();
    }
    if (unshare(CLONE_NEWNS) == -1 ||
        mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == -1 ||
        mkdtemp(dir) == NULL ||
        mount("tmpfs", dir, "tmpfs", 0, FS_SIZE) == -1) {
        fprintf(stderr, "SKIP: cannot mount a tmpfs here: %s\n",
                strerror(errno));
        skip();
    }
    snprintf(jpath, sizeof(jpath), "%s/journal", dir);
    snprintf(filler, sizeof(filler), "%s/filler", dir);
    j = journal_open(jpath, NULL, NULL, err, sizeof(err));
    assert_non_null(j);
    fill(filler);

    /* Append until the file system refuses. */
    memset(rec, 'r', sizeof(rec));
    while ((rc = journal_append(j, rec, sizeof(rec))) == 0)
        written++;
    if (errno != ENOSPC)
        fail_msg("append failed with %s, want ENOSPC", strerror(errno));
    /* Taken back whole: the file holds the header and whole records. */
    assert_int_equal(stat(jpath, &st), 0);
    assert_int_equal((uint64_t)st.st_size, journal_size(j));
    assert_int_equal(journal_size(j),
                     JOURNAL_HEADER_LEN +
                         written * (JOURNAL_REC_HEADER_LEN + REC_LEN));
    /* Still refused while full, still not broken. */
    assert_int_equal(journal_append(j, rec, sizeof(rec)), -1);
    assert_int_equal(errno, ENOSPC);
    /* Space returns: the same append goes through. */
    assert_int_equal(unlink(filler), 0);
    assert_int_equal(journal_append(j, rec, sizeof(rec)), 0);
    written++;
    journal_close(j);

    j = journal_open(jpath, count_rec, &rp, err, sizeof(err));
    if (j == NULL)
        fail_msg("reopen: %s", err);
    journal_close(j);
    assert_int_equal(rp.n, written);
    for (size_t i = 0; i < rp.n && i < RECS_MAX; i++)
        assert_int_equal(rp.len[i], REC_LEN);
    umount2(dir, MNT_DETACH);
    rmdir(dir);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_then_space),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
