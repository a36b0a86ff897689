/*
 * test_journal.c - the ambassador's journal (coordinator/journal.h), which
 * a restart after kill -9 relies on: records come back exactly and in
 * order; a crash at every byte offset leaves a file that opens, replays
 * the whole records before the cut and is truncated to them; every
 * single-bit flip is either refused with its byte offset or costs only the
 * last record; compaction; a real crash mid-append in a child process; a
 * failed write; the scanner on bytes that are not a journal. Every test
 * works in its own directory under /tmp.
 *
 * The loops over every byte keep the journal's warnings (one per torn
 * tail) out of the test log by sending stderr to a file, and report a
 * mismatch only after stderr is back.
 */
#include "tests/unit/unit.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"
#include "common/fault.h"
#include "common/fdio.h"
#include "common/hash.h"
#include "coordinator/journal.h"
#include "coordinator/journaler.h"

#define REPLAY_MAX 64    /* records one replay may collect */
#define RECORDED_N 20    /* records in the journal cut and flipped */
#define RECORDED_SPAN 90 /* their sizes run 1..RECORDED_SPAN */
#define BITS 8           /* per byte */
#define U32_BYTES 4
#define JNAME "journal"
#define QUIET_NAME "stderr.log"
#define WHY_MAX 512
#define MS_PER_S 1000.0
#define NS_PER_MS 1e6
#define SPARSE_EXTRA 1

/* Records in order: what a replay saw, or what it should see. */
struct recs {
    size_t n;
    uint8_t *rec[REPLAY_MAX];
    size_t len[REPLAY_MAX];
    size_t refuse_at; /* each() returns -1 for this record (1-based) */
};

static void
recs_add(struct recs *r, const void *rec, size_t n)
{
    assert_true(r->n < REPLAY_MAX);
    r->rec[r->n] = malloc(n);
    assert_non_null(r->rec[r->n]);
    memcpy(r->rec[r->n], rec, n);
    r->len[r->n++] = n;
}

static void
recs_clear(struct recs *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->rec[i]);
    memset(r, 0, sizeof(*r));
}

/* The replay callback: collects copies. No cmocka assertion here (it runs
 * inside journal_open): too many records make the scan fail instead. */
static int
recs_each(void *ctx, const uint8_t *rec, size_t n)
{
    struct recs *r = ctx;
    uint8_t *copy;

    if (r->n == REPLAY_MAX || (r->refuse_at != 0 && r->n + 1 == r->refuse_at))
        return -1;
    copy = malloc(n);
    if (copy == NULL)
        return -1;
    memcpy(copy, rec, n);
    r->rec[r->n] = copy;
    r->len[r->n++] = n;
    return 0;
}

/* 0 if got begins with the first count records of want; else -1 and
 * both sides in why. */
static int
recs_prefix(const struct recs *got, const struct recs *want, size_t count,
            char *why, size_t whylen)
{
    if (got->n < count) {
        errf(why, whylen, "replayed %zu records, want %zu", got->n, count);
        return -1;
    }
    for (size_t i = 0; i < count; i++) {
        if (got->len[i] != want->len[i]) {
            errf(why, whylen, "record %zu has %zu bytes, want %zu", i,
                 got->len[i], want->len[i]);
            return -1;
        }
        for (size_t b = 0; b < want->len[i]; b++)
            if (got->rec[i][b] != want->rec[i][b]) {
                errf(why, whylen,
                     "record %zu differs at byte %zu: 0x%02x, "
                     "want 0x%02x",
                     i, b, got->rec[i][b], want->rec[i][b]);
                return -1;
            }
    }
    return 0;
}

/* 0 if got holds exactly the first count records of want; else -1 and
 * both sides in why. */
static int
recs_match(const struct recs *got, const struct recs *want, size_t count,
           char *why, size_t whylen)
{
    if (got->n != count) {
        errf(why, whylen, "replayed %zu records, want %zu", got->n, count);
        return -1;
    }
    return recs_prefix(got, want, count, why, whylen);
}

static void
expect_recs(const struct recs *got, const struct recs *want, size_t count)
{
    char why[WHY_MAX];
    if (recs_match(got, want, count, why, sizeof(why)) != 0)
        fail_msg("%s", why);
}

/* A payload of n bytes for record i: a JSON object when n allows one,
 * letters otherwise; never a NUL, like the ambassador's records. */
static void
payload(struct recs *r, size_t i, size_t n)
{
    char head[WHY_MAX], *p = malloc(n);
    int hn = snprintf(head, sizeof(head), "{\"seq\":%zu,\"pad\":\"", i);

    assert_non_null(p);
    for (size_t k = 0; k < n; k++)
        p[k] = (char)('a' + (i + k) % 26);
    if (hn > 0 && (size_t)hn + 2 <= n) {
        memcpy(p, head, (size_t)hn);
        p[n - 2] = '"';
        p[n - 1] = '}';
    }
    recs_add(r, p, n);
    free(p);
}

/* A fresh file (not an old one truncated: ext4 flushes those on close). */
static void
write_bytes(const char *path, const void *buf, size_t len)
{
    int fd;

    if (unlink(path) != 0 && errno != ENOENT)
        fail_msg("%s: %s", path, strerror(errno));
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    assert_true(fd != -1);
    assert_int_equal(fdio_write_full(fd, buf, len), 0);
    assert_int_equal(close(fd), 0);
}

static uint8_t *
read_bytes(const char *path, size_t *len)
{
    char *buf = NULL;
    if (fs_read_max(path, JOURNAL_MAX_FILE, &buf, len) != 0)
        fail_msg("%s: %s", path, strerror(errno));
    return (uint8_t *)buf;
}

static uint64_t
disk_size(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        fail_msg("%s: %s", path, strerror(errno));
    return (uint64_t)st.st_size;
}

/* A record header as the format says, independently of journal.c. */
static void
put_rec_header(uint8_t *dst, uint32_t n, uint32_t crc)
{
    for (int i = 0; i < U32_BYTES; i++) {
        dst[i] = (uint8_t)(n >> (BITS * i));
        dst[JOURNAL_REC_CRC_AT + i] = (uint8_t)(crc >> (BITS * i));
    }
}

/* Frames a record into dst; returns its size. */
static size_t
frame(uint8_t *dst, const void *rec, uint32_t n)
{
    put_rec_header(dst, n, hash_crc32(rec, n));
    memcpy(dst + JOURNAL_REC_HEADER_LEN, rec, n);
    return JOURNAL_REC_HEADER_LEN + n;
}

static struct journal *
open_ok(const char *path, struct recs *got)
{
    char err[ERR_MAX] = "";
    struct journal *j = journal_open(path, got != NULL ? recs_each : NULL, got,
                                     err, sizeof(err));
    if (j == NULL)
        fail_msg("journal_open %s: %s", path, err);
    return j;
}

static void
append_ok(struct journal *j, const struct recs *r, size_t i)
{
    if (journal_append(j, r->rec[i], r->len[i]) != 0)
        fail_msg("append record %zu (%zu bytes): %s", i, r->len[i],
                 strerror(errno));
}

/* The journal of the cut and flip tests, written through journal.c; its
 * bytes, and where each record ends. */
struct recorded {
    struct recs want;
    uint8_t *bytes;
    size_t len;
    size_t end[RECORDED_N];
};

static void
record_journal(const char *dir, struct recorded *rj)
{
    char path[FS_PATH_MAX];
    struct journal *j;
    size_t off = JOURNAL_HEADER_LEN;

    memset(rj, 0, sizeof(*rj));
    unit_path(path, dir, "recorded");
    j = open_ok(path, NULL);
    for (size_t i = 0; i < RECORDED_N; i++) {
        payload(&rj->want, i, 1 + (i * 37) % RECORDED_SPAN);
        append_ok(j, &rj->want, i);
        off += JOURNAL_REC_HEADER_LEN + rj->want.len[i];
        rj->end[i] = off;
    }
    journal_close(j);
    rj->bytes = read_bytes(path, &rj->len);
    assert_int_equal(rj->len, off);
}

static void
recorded_free(struct recorded *rj)
{
    recs_clear(&rj->want);
    free(rj->bytes);
}

/* stderr into dir/QUIET_NAME until quiet_end; returns the saved fd. */
static int
quiet_begin(const char *dir)
{
    char path[FS_PATH_MAX];
    int saved, fd;

    unit_path(path, dir, QUIET_NAME);
    saved = dup(STDERR_FILENO);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    assert_true(saved != -1 && fd != -1);
    assert_true(dup2(fd, STDERR_FILENO) != -1);
    close(fd);
    return saved;
}

static void
quiet_end(int saved)
{
    assert_true(dup2(saved, STDERR_FILENO) != -1);
    close(saved);
}

/* What stderr got between quiet_begin and quiet_end (malloc'd). */
static char *
quiet_text(const char *dir)
{
    char path[FS_PATH_MAX];
    size_t len;
    unit_path(path, dir, QUIET_NAME);
    return (char *)read_bytes(path, &len);
}

static double
now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * MS_PER_S + (double)ts.tv_nsec / NS_PER_MS;
}

/* dir holds exactly the names in want (in any order). */
static void
expect_entries(const char *dir, const char *const *want, size_t n)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    size_t seen = 0;

    assert_non_null(d);
    while ((e = readdir(d)) != NULL) {
        size_t i;
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        for (i = 0; i < n && strcmp(e->d_name, want[i]) != 0; i++)
            ;
        if (i == n) {
            closedir(d);
            fail_msg("%s holds \"%s\", which it should not", dir, e->d_name);
        }
        seen++;
    }
    closedir(d);
    assert_int_equal(seen, n);
}

static void
test_round_trip(void **state)
{
    const size_t sizes[] = {
        1, 2,    17, 255, 256, 4096, JOURNAL_MAX_RECORD - 1, JOURNAL_MAX_RECORD,
        9, 1000, 3};
    const size_t nsizes = sizeof(sizes) / sizeof(sizes[0]);
    const size_t batch = 3; /* the last ones go through append_many */
    const char *dir = *state;
    char path[FS_PATH_MAX];
    struct recs want = {0}, got = {0};
    struct journal *j;
    uint64_t size = JOURNAL_HEADER_LEN;

    unit_path(path, dir, JNAME);
    j = open_ok(path, &got);
    assert_int_equal(got.n, 0);
    assert_int_equal(journal_size(j), JOURNAL_HEADER_LEN);
    assert_int_equal(disk_size(path), JOURNAL_HEADER_LEN);
    for (size_t i = 0; i < nsizes; i++)
        payload(&want, i, sizes[i]);
    for (size_t i = 0; i < nsizes - batch; i++) {
        append_ok(j, &want, i);
        size += JOURNAL_REC_HEADER_LEN + sizes[i];
        assert_int_equal(journal_size(j), size);
        assert_int_equal(disk_size(path), size);
    }
    {
        const void *recs[REPLAY_MAX];
        for (size_t i = 0; i < batch; i++) {
            recs[i] = want.rec[nsizes - batch + i];
            size += JOURNAL_REC_HEADER_LEN + sizes[nsizes - batch + i];
        }
        assert_int_equal(
            journal_append_many(j, recs, want.len + nsizes - batch, batch), 0);
        assert_int_equal(journal_append_many(j, recs, want.len, 0), 0);
    }
    assert_int_equal(journal_size(j), size);
    journal_close(j);

    j = open_ok(path, &got);
    expect_recs(&got, &want, nsizes);
    assert_int_equal(journal_size(j), size);
    assert_int_equal(disk_size(path), size);
    journal_close(j);
    journal_close(NULL);

    /* Without a callback it opens all the same. */
    j = open_ok(path, NULL);
    assert_int_equal(journal_size(j), size);
    journal_close(j);
    recs_clear(&got);
    recs_clear(&want);
}

static void
test_append_rejects_bad_lengths(void **state)
{
    const char *dir = *state;
    char path[FS_PATH_MAX];
    static uint8_t big[JOURNAL_MAX_RECORD + 1];
    struct recs got = {0};
    struct journal *j;

    unit_path(path, dir, JNAME);
    memset(big, 'z', sizeof(big));
    j = open_ok(path, NULL);
    errno = 0;
    assert_int_equal(journal_append(j, big, 0), -1);
    assert_int_equal(errno, EINVAL);
    errno = 0;
    assert_int_equal(journal_append(j, big, sizeof(big)), -1);
    assert_int_equal(errno, EINVAL);
    assert_int_equal(journal_size(j), JOURNAL_HEADER_LEN);
    assert_int_equal(disk_size(path), JOURNAL_HEADER_LEN);
    /* Still usable. */
    assert_int_equal(journal_append(j, big, JOURNAL_MAX_RECORD), 0);
    journal_close(j);
    j = open_ok(path, &got);
    assert_int_equal(got.n, 1);
    assert_int_equal(got.len[0], JOURNAL_MAX_RECORD);
    journal_close(j);
    recs_clear(&got);
}

/* One cut at byte t of the recorded journal: 0, or -1 with why. */
static int
check_cut(const char *path, const struct recorded *rj, size_t t, char *why,
          size_t whylen)
{
    char err[ERR_MAX] = "";
    struct recs got = {0};
    struct journal *j = NULL;
    size_t whole = 0, want_end = JOURNAL_HEADER_LEN;
    const char after[] = "{\"after\":true}";
    int rc = -1;

    while (whole < RECORDED_N && rj->end[whole] <= t)
        whole++;
    if (whole > 0)
        want_end = rj->end[whole - 1];
    write_bytes(path, rj->bytes, t);
    j = journal_open(path, recs_each, &got, err, sizeof(err));
    if (j == NULL) {
        errf(why, whylen, "cut at %zu: journal_open: %s", t, err);
        goto out;
    }
    if (recs_match(&got, &rj->want, whole, err, sizeof(err)) != 0) {
        errf(why, whylen, "cut at %zu: %s", t, err);
        goto out;
    }
    if (journal_size(j) != want_end || disk_size(path) != want_end) {
        errf(why, whylen,
             "cut at %zu: journal_size %llu, on disk %llu, want %zu", t,
             (unsigned long long)journal_size(j),
             (unsigned long long)disk_size(path), want_end);
        goto out;
    }
    if (journal_append(j, after, sizeof(after) - 1) != 0) {
        errf(why, whylen, "cut at %zu: append: %s", t, strerror(errno));
        goto out;
    }
    journal_close(j);
    recs_clear(&got);
    j = journal_open(path, recs_each, &got, err, sizeof(err));
    if (j == NULL) {
        errf(why, whylen, "cut at %zu, reopened: %s", t, err);
        goto out;
    }
    if (recs_prefix(&got, &rj->want, whole, err, sizeof(err)) != 0 ||
        got.n != whole + 1 || got.len[whole] != sizeof(after) - 1 ||
        memcmp(got.rec[whole], after, sizeof(after) - 1) != 0) {
        errf(why, whylen,
             "cut at %zu, reopened: replayed %zu records, want %zu whole "
             "ones and the appended one",
             t, got.n, whole);
        goto out;
    }
    rc = 0;
out:
    journal_close(j);
    recs_clear(&got);
    return rc;
}

static void
test_crash_at_every_byte(void **state)
{
    const char *dir = *state;
    const char *const left[] = {"recorded", JNAME, QUIET_NAME};
    char path[FS_PATH_MAX], why[WHY_MAX] = "";
    struct recorded rj;
    double t0 = now_ms();
    int saved, failed = 0;

    record_journal(dir, &rj);
    unit_path(path, dir, JNAME);
    saved = quiet_begin(dir);
    for (size_t t = 0; t <= rj.len && !failed; t++)
        failed = check_cut(path, &rj, t, why, sizeof(why)) != 0;
    quiet_end(saved);
    if (failed)
        fail_msg("%s", why);
    print_message("crash at every byte: %zu cuts of a %zu-byte journal of "
                  "%d records in %.0f ms\n",
                  rj.len + 1, rj.len, RECORDED_N, now_ms() - t0);
    expect_entries(dir, left, sizeof(left) / sizeof(left[0]));
    recorded_free(&rj);
}

/* One flipped bit at byte b of the recorded journal: 0, or -1 with why.
 * The header: refused. A record with records after it: refused, naming
 * the record's offset, and the file left as it was. The last record: it
 * is a torn tail, so the others replay and the file ends before it. */
static int
check_flip(const char *path, const struct recorded *rj, uint8_t *flipped,
           size_t b, int bit, char *why, size_t whylen)
{
    char err[ERR_MAX] = "", want_err[ERR_MAX];
    struct recs got = {0};
    struct journal *j = NULL;
    uint8_t *after = NULL;
    size_t rec = 0, start = JOURNAL_HEADER_LEN, len = 0;
    int rc = -1;

    while (rec < RECORDED_N && rj->end[rec] <= b)
        rec++;
    if (rec > 0)
        start = rj->end[rec - 1];
    flipped[b] ^= (uint8_t)(1u << bit);
    write_bytes(path, flipped, rj->len);
    errno = 0;
    j = journal_open(path, recs_each, &got, err, sizeof(err));
    if (b < JOURNAL_HEADER_LEN || rec < RECORDED_N - 1) {
        if (b < JOURNAL_HEADER_LEN)
            snprintf(want_err, sizeof(want_err), "not a framefarm journal");
        else
            snprintf(want_err, sizeof(want_err),
                     "journal corrupt at byte %zu (", start);
        if (j != NULL || strstr(err, want_err) == NULL || errno != EINVAL) {
            errf(why, whylen,
                 "bit %d of byte %zu (record %zu): opened %s, errno %d, "
                 "err \"%s\"; want a refusal with EINVAL naming \"%s\"",
                 bit, b, rec, j != NULL ? "yes" : "no", errno, err, want_err);
            goto out;
        }
        after = read_bytes(path, &len);
        if (len != rj->len || memcmp(after, flipped, len) != 0) {
            errf(why, whylen,
                 "bit %d of byte %zu: the refused file was changed", bit, b);
            goto out;
        }
    } else {
        if (j == NULL) {
            errf(why, whylen, "bit %d of byte %zu (last record): %s", bit, b,
                 err);
            goto out;
        }
        if (recs_match(&got, &rj->want, RECORDED_N - 1, err, sizeof(err)) !=
                0 ||
            disk_size(path) != start) {
            errf(why, whylen,
                 "bit %d of byte %zu (last record): %s; %llu bytes on disk, "
                 "want %zu",
                 bit, b, err, (unsigned long long)disk_size(path), start);
            goto out;
        }
    }
    rc = 0;
out:
    flipped[b] ^= (uint8_t)(1u << bit);
    free(after);
    journal_close(j);
    recs_clear(&got);
    return rc;
}

static void
test_single_bit_flips(void **state)
{
    const char *dir = *state;
    char path[FS_PATH_MAX], why[WHY_MAX] = "";
    struct recorded rj;
    uint8_t *flipped;
    double t0 = now_ms();
    int saved, failed = 0;

    record_journal(dir, &rj);
    unit_path(path, dir, JNAME);
    flipped = malloc(rj.len);
    assert_non_null(flipped);
    memcpy(flipped, rj.bytes, rj.len);
    saved = quiet_begin(dir);
    for (size_t b = 0; b < rj.len && !failed; b++)
        for (int bit = 0; bit < BITS && !failed; bit++)
            failed =
                check_flip(path, &rj, flipped, b, bit, why, sizeof(why)) != 0;
    quiet_end(saved);
    if (failed)
        fail_msg("%s", why);
    print_message("single-bit flips: %zu flips of a %zu-byte journal in "
                  "%.0f ms\n",
                  rj.len * BITS, rj.len, now_ms() - t0);
    free(flipped);
    recorded_free(&rj);
}

static void
test_corruption_message(void **state)
{
    const char *dir = *state;
    char path[FS_PATH_MAX], err[ERR_MAX] = "", want[ERR_MAX];
    struct recorded rj;
    struct recs got = {0};

    record_journal(dir, &rj);
    unit_path(path, dir, JNAME);
    /* A payload byte of record 3, which starts at end[2]. */
    rj.bytes[rj.end[2] + JOURNAL_REC_HEADER_LEN] ^= 1;
    write_bytes(path, rj.bytes, rj.len);
    assert_null(journal_open(path, recs_each, &got, err, sizeof(err)));
    errf(want, sizeof(want),
         "journal %s: journal corrupt at byte %zu (CRC mismatch), with "
         "valid records after it (the next at byte %zu): refusing to "
         "start; restore the file or remove it to start the job afresh",
         path, rj.end[2], rj.end[3]);
    assert_string_equal(err, want);
    recs_clear(&got);
    recorded_free(&rj);
}

static void
test_compact(void **state)
{
    const char *dir = *state;
    const char *const left[] = {JNAME};
    const size_t snap_sizes[] = {40, JOURNAL_MAX_RECORD, 1};
    const size_t nsnap = sizeof(snap_sizes) / sizeof(snap_sizes[0]);
    char path[FS_PATH_MAX];
    struct recs before = {0}, snap = {0}, after = {0}, got = {0};
    const void *recs[REPLAY_MAX];
    struct journal *j;
    uint8_t *want_bytes, *bytes;
    size_t want_len = JOURNAL_HEADER_LEN, len;
    size_t zero = 0;

    unit_path(path, dir, JNAME);
    j = open_ok(path, NULL);
    for (size_t i = 0; i < 5; i++) {
        payload(&before, i, 30 + i);
        append_ok(j, &before, i);
    }
    want_bytes = malloc(JOURNAL_HEADER_LEN + nsnap * JOURNAL_REC_HEADER_LEN +
                        JOURNAL_MAX_RECORD + 64);
    assert_non_null(want_bytes);
    memcpy(want_bytes, JOURNAL_MAGIC, JOURNAL_HEADER_LEN);
    for (size_t i = 0; i < nsnap; i++) {
        payload(&snap, 100 + i, snap_sizes[i]);
        recs[i] = snap.rec[i];
        want_len +=
            frame(want_bytes + want_len, snap.rec[i], (uint32_t)snap.len[i]);
    }

    /* A bad length changes nothing. */
    {
        const void *one[] = {snap.rec[0]};
        errno = 0;
        assert_int_equal(journal_compact(j, one, &zero, 1), -1);
        assert_int_equal(errno, EINVAL);
    }

    assert_int_equal(journal_compact(j, recs, snap.len, nsnap), 0);
    assert_int_equal(journal_size(j), want_len);
    bytes = read_bytes(path, &len);
    assert_int_equal(len, want_len);
    assert_memory_equal(bytes, want_bytes, want_len);
    free(bytes);
    expect_entries(dir, left, 1);

    for (size_t i = 0; i < 2; i++) {
        payload(&after, 200 + i, 50);
        append_ok(j, &after, i);
        recs_add(&snap, after.rec[i], after.len[i]);
    }
    journal_close(j);
    j = open_ok(path, &got);
    expect_recs(&got, &snap, nsnap + 2);
    recs_clear(&got);

    /* An empty snapshot leaves the header alone. */
    assert_int_equal(journal_compact(j, recs, snap.len, 0), 0);
    assert_int_equal(journal_size(j), JOURNAL_HEADER_LEN);
    assert_int_equal(disk_size(path), JOURNAL_HEADER_LEN);
    append_ok(j, &after, 0);
    journal_close(j);
    j = open_ok(path, &got);
    expect_recs(&got, &after, 1);
    journal_close(j);
    expect_entries(dir, left, 1);

    free(want_bytes);
    recs_clear(&got);
    recs_clear(&before);
    recs_clear(&snap);
    recs_clear(&after);
}

/* A batch or a snapshot that would make the file larger than journal_open
 * reads is refused before anything is written (one buffer, listed many
 * times: nothing is copied before the check). */
static void
test_over_file_cap_refused(void **state)
{
    const char *dir = *state;
    const char *const left[] = {JNAME};
    const size_t n =
        JOURNAL_MAX_FILE / (JOURNAL_REC_HEADER_LEN + JOURNAL_MAX_RECORD) + 1;
    char path[FS_PATH_MAX];
    const void **recs = calloc(n, sizeof(*recs));
    size_t *lens = calloc(n, sizeof(*lens));
    uint8_t *rec = malloc(JOURNAL_MAX_RECORD);
    struct recs got = {0};
    struct journal *j;

    assert_true(recs != NULL && lens != NULL && rec != NULL);
    memset(rec, 'r', JOURNAL_MAX_RECORD);
    for (size_t i = 0; i < n; i++) {
        recs[i] = rec;
        lens[i] = JOURNAL_MAX_RECORD;
    }
    unit_path(path, dir, JNAME);
    j = open_ok(path, NULL);
    assert_int_equal(journal_append(j, "x", 1), 0);
    errno = 0;
    assert_int_equal(journal_append_many(j, recs, lens, n), -1);
    assert_int_equal(errno, EFBIG);
    errno = 0;
    assert_int_equal(journal_compact(j, recs, lens, n), -1);
    assert_int_equal(errno, EFBIG);
    /* One fewer fits a fresh file, but not after the record already in. */
    assert_int_equal(journal_append_many(j, recs, lens, n - 1), -1);
    assert_int_equal(errno, EFBIG);
    assert_int_equal(journal_size(j),
                     JOURNAL_HEADER_LEN + JOURNAL_REC_HEADER_LEN + 1);
    assert_int_equal(disk_size(path), journal_size(j));
    expect_entries(dir, left, 1);
    /* Still usable. */
    assert_int_equal(journal_append(j, "y", 1), 0);
    journal_close(j);
    j = open_ok(path, &got);
    assert_int_equal(got.n, 2);
    journal_close(j);
    recs_clear(&got);
    free(recs);
    free(lens);
    free(rec);
}

static void
test_crash_torn_in_child(void **state)
{
    const char *dir = *state;
    const size_t torn_len = 1000;
    char path[FS_PATH_MAX], want_log[ERR_MAX];
    struct recs want = {0}, got = {0};
    struct journal *j;
    uint64_t before;
    pid_t pid;
    int status = 0, saved;
    char *log;

    unit_path(path, dir, JNAME);
    j = open_ok(path, NULL);
    for (size_t i = 0; i < 3; i++) {
        payload(&want, i, 20 + i);
        append_ok(j, &want, i);
    }
    journal_close(j);
    before = disk_size(path);
    payload(&want, 3, torn_len);

    pid = fork();
    assert_true(pid != -1);
    if (pid == 0) {
        /* No cmocka here: exit codes only. */
        setenv(fault_env(FAULT_HOOK_CRASH_AT), FAULT_JOURNAL_TORN, 1);
        j = journal_open(path, NULL, NULL, NULL, 0);
        if (j == NULL)
            _exit(2);
        journal_append(j, want.rec[3], want.len[3]);
        _exit(3); /* the crash point did not fire */
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != FAULT_TORN_EXIT)
        fail_msg("child: status 0x%x, want exit %d", (unsigned)status,
                 FAULT_TORN_EXIT);
    assert_int_equal(disk_size(path),
                     before + (JOURNAL_REC_HEADER_LEN + torn_len) / 2);

    saved = quiet_begin(dir);
    j = journal_open(path, recs_each, &got, NULL, 0);
    quiet_end(saved);
    assert_non_null(j);
    expect_recs(&got, &want, 3);
    assert_int_equal(disk_size(path), before);
    assert_int_equal(journal_size(j), before);
    log = quiet_text(dir);
    errf(want_log, sizeof(want_log),
         "journal %s: dropped a torn tail of %zu bytes at byte %llu", path,
         (JOURNAL_REC_HEADER_LEN + torn_len) / 2, (unsigned long long)before);
    assert_contains(log, want_log);
    free(log);

    append_ok(j, &want, 3);
    journal_close(j);
    recs_clear(&got);
    j = open_ok(path, &got);
    expect_recs(&got, &want, 4);
    journal_close(j);
    recs_clear(&got);
    recs_clear(&want);
}

/* A write cut short by the file size limit (EFBIG after a short write):
 * the journal refuses every later append, and a reopen truncates the
 * partial record. */
static void
test_failed_write_breaks_journal(void **state)
{
    const char *dir = *state;
    const size_t room = 100, big = 1000;
    char path[FS_PATH_MAX];
    struct recs want = {0}, got = {0};
    struct journal *j;
    struct rlimit old, lim;
    struct sigaction ign = {0}, old_sa;
    uint64_t before;
    int rc_big, errno_big, rc_small, errno_small, saved;
    char want_log[ERR_MAX], *log;

    unit_path(path, dir, JNAME);
    j = open_ok(path, NULL);
    for (size_t i = 0; i < 2; i++) {
        payload(&want, i, 10);
        append_ok(j, &want, i);
    }
    payload(&want, 2, big);
    before = journal_size(j);

    ign.sa_handler = SIG_IGN;
    assert_int_equal(sigaction(SIGXFSZ, &ign, &old_sa), 0);
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = (rlim_t)(before + room);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    errno = 0;
    rc_big = journal_append(j, want.rec[2], want.len[2]);
    errno_big = errno;
    errno = 0;
    rc_small = journal_append(j, want.rec[0], want.len[0]);
    errno_small = errno;
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    assert_int_equal(sigaction(SIGXFSZ, &old_sa, NULL), 0);

    assert_int_equal(rc_big, -1);
    assert_int_equal(errno_big, EFBIG);
    assert_int_equal(rc_small, -1);
    assert_int_equal(errno_small, EIO);
    assert_int_equal(journal_size(j), before);
    assert_int_equal(disk_size(path), before + room);
    journal_close(j);

    saved = quiet_begin(dir);
    j = open_ok(path, &got);
    quiet_end(saved);
    expect_recs(&got, &want, 2);
    assert_int_equal(disk_size(path), before);
    log = quiet_text(dir);
    errf(want_log, sizeof(want_log), "dropped a torn tail of %zu bytes", room);
    assert_contains(log, want_log);
    free(log);
    journal_close(j);
    recs_clear(&got);
    recs_clear(&want);
}

/* A scan of buf that must succeed with good_end and nrec records. */
static void
expect_scan_ok(const uint8_t *buf, size_t len, size_t want_end, size_t want_n)
{
    char err[ERR_MAX] = "";
    struct recs got = {0};
    size_t good_end = (size_t)-1;

    if (journal_scan(buf, len, recs_each, &got, &good_end, err, sizeof(err)) !=
        0)
        fail_msg("scan of %zu bytes: %s", len, err);
    if (good_end != want_end || got.n != want_n)
        fail_msg("scan of %zu bytes: good_end %zu, %zu records; want %zu, %zu",
                 len, good_end, got.n, want_end, want_n);
    recs_clear(&got);
}

static void
expect_scan_fails(const uint8_t *buf, size_t len, const char *want_err)
{
    char err[ERR_MAX] = "";
    size_t good_end;

    if (journal_scan(buf, len, NULL, NULL, &good_end, err, sizeof(err)) != -1)
        fail_msg("scan of %zu bytes succeeded, want \"%s\"", len, want_err);
    assert_contains(err, want_err);
}

static void
test_scan_not_a_journal(void **state)
{
    const char garbage[] = "hello, this is not a journal at all";
    const char wrong[] = "FFJRNL02\x01\0\0\0\0\0\0\0x";
    (void)state;

    expect_scan_ok(NULL, 0, 0, 0);
    expect_scan_ok((const uint8_t *)JOURNAL_MAGIC, JOURNAL_HEADER_LEN,
                   JOURNAL_HEADER_LEN, 0);
    /* A header cut short holds nothing: like a torn tail. */
    expect_scan_ok((const uint8_t *)JOURNAL_MAGIC, 3, 0, 0);
    expect_scan_fails((const uint8_t *)garbage, sizeof(garbage) - 1,
                      "not a framefarm journal");
    expect_scan_fails((const uint8_t *)wrong, sizeof(wrong) - 1,
                      "not a framefarm journal");
    expect_scan_fails((const uint8_t *)"FFX", 3, "not a framefarm journal");
    expect_scan_fails((const uint8_t *)"ffjrnl01", JOURNAL_HEADER_LEN,
                      "not a framefarm journal");
}

/* header | a | bad | b, and header | a | bad, where bad is a record
 * header with length n and the CRC of the PAD bytes after it. */
static void
check_bad_length(uint32_t n, const char *want_why)
{
    const char a[] = "{\"a\":1}", b[] = "{\"b\":2}", pad[] = "zzzz";
    const size_t padlen = sizeof(pad) - 1;
    uint8_t buf[WHY_MAX];
    size_t len = JOURNAL_HEADER_LEN, a_end, bad_end;
    char want[ERR_MAX];

    memcpy(buf, JOURNAL_MAGIC, JOURNAL_HEADER_LEN);
    len += frame(buf + len, a, sizeof(a) - 1);
    a_end = len;
    put_rec_header(buf + len, n, hash_crc32(pad, padlen));
    len += JOURNAL_REC_HEADER_LEN;
    memcpy(buf + len, pad, padlen);
    len += padlen;
    bad_end = len;
    len += frame(buf + len, b, sizeof(b) - 1);

    errf(want, sizeof(want), "journal corrupt at byte %zu (%s", a_end,
         want_why);
    expect_scan_fails(buf, len, want);
    errf(want, sizeof(want), "(the next at byte %zu)", bad_end);
    expect_scan_fails(buf, len, want);
    /* The same bad record at the end is a torn tail. */
    expect_scan_ok(buf, bad_end, a_end, 1);
}

static void
test_scan_zero_length_record(void **state)
{
    uint8_t zeros[JOURNAL_HEADER_LEN + 64] = {0};
    (void)state;

    check_bad_length(0, "length 0 out of range");
    /* Zeros after the header (an extended file whose data never came):
     * a torn tail. */
    memcpy(zeros, JOURNAL_MAGIC, JOURNAL_HEADER_LEN);
    expect_scan_ok(zeros, sizeof(zeros), JOURNAL_HEADER_LEN, 0);
}

static void
test_scan_huge_length(void **state)
{
    char want[ERR_MAX];
    (void)state;

    check_bad_length(UINT32_MAX, "length 4294967295 out of range");
    errf(want, sizeof(want), "length %u out of range", JOURNAL_MAX_RECORD + 1);
    check_bad_length(JOURNAL_MAX_RECORD + 1, want);
    /* In range but longer than what follows: a torn tail at the end,
     * corruption when a valid record lies inside its claimed bytes. */
    check_bad_length(JOURNAL_MAX_RECORD, "record runs past the end");
    /* In range and present, wrong CRC. */
    check_bad_length(3, "CRC mismatch");
}

static void
test_reader_refusal_fails_open(void **state)
{
    const char *dir = *state;
    char path[FS_PATH_MAX], err[ERR_MAX] = "";
    struct recs want = {0}, got = {0};
    struct journal *j;

    unit_path(path, dir, JNAME);
    j = open_ok(path, NULL);
    for (size_t i = 0; i < 3; i++) {
        payload(&want, i, 12);
        append_ok(j, &want, i);
    }
    journal_close(j);
    got.refuse_at = 2;
    assert_null(journal_open(path, recs_each, &got, err, sizeof(err)));
    assert_contains(err, "journal record 2 (at byte 28) was refused");
    assert_int_equal(got.n, 1);
    recs_clear(&got);
    recs_clear(&want);
}

static void
test_open_refuses_huge_file(void **state)
{
    const char *dir = *state;
    char path[FS_PATH_MAX], err[ERR_MAX] = "";
    int fd;

    unit_path(path, dir, JNAME);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    assert_true(fd != -1);
    assert_int_equal(fdio_write_full(fd, JOURNAL_MAGIC, JOURNAL_HEADER_LEN), 0);
    /* Sparse: costs no disk. */
    assert_int_equal(ftruncate(fd, (off_t)(JOURNAL_MAX_FILE + SPARSE_EXTRA)),
                     0);
    close(fd);
    errno = 0;
    assert_null(journal_open(path, NULL, NULL, err, sizeof(err)));
    assert_int_equal(errno, EFBIG);
    assert_contains(err, "larger than 1073741824 bytes");
}

static void
test_open_errors(void **state)
{
    const char *dir = *state;
    char path[FS_PATH_MAX], err[ERR_MAX] = "";

    unit_path(path, dir, "missing/" JNAME);
    assert_null(journal_open(path, NULL, NULL, err, sizeof(err)));
    assert_contains(err, "cannot create");
    assert_contains(err, strerror(ENOENT));

    unit_path(path, dir, "adir");
    assert_int_equal(mkdir(path, 0755), 0);
    assert_null(journal_open(path, NULL, NULL, err, sizeof(err)));
    assert_contains(err, "cannot open");
}

static void
test_open_removes_compaction_temps(void **state)
{
    const char *dir = *state;
    const char *const left[] = {JNAME, JNAME ".old", "other.tmp-1-abcdef"};
    const char *const made[] = {JNAME ".tmp-123-abcdef", JNAME ".tmp-9-x",
                                JNAME ".old", "other.tmp-1-abcdef"};
    char path[FS_PATH_MAX], other[FS_PATH_MAX];
    struct journal *j;
    int saved;

    unit_path(path, dir, JNAME);
    j = open_ok(path, NULL);
    journal_close(j);
    for (size_t i = 0; i < sizeof(made) / sizeof(made[0]); i++) {
        unit_path(other, dir, made[i]);
        write_bytes(other, "x", 1);
    }
    saved = quiet_begin(dir);
    j = open_ok(path, NULL);
    quiet_end(saved);
    journal_close(j);
    unit_path(other, dir, QUIET_NAME);
    assert_int_equal(unlink(other), 0);
    expect_entries(dir, left, sizeof(left) / sizeof(left[0]));
}

/* A header cut short on disk (not something journal_open writes) opens
 * as an empty journal. */
static void
test_open_short_header(void **state)
{
    const char *dir = *state;
    char path[FS_PATH_MAX];
    struct recs got = {0};
    struct journal *j;
    int saved;

    unit_path(path, dir, JNAME);
    write_bytes(path, JOURNAL_MAGIC, 5);
    saved = quiet_begin(dir);
    j = open_ok(path, &got);
    quiet_end(saved);
    assert_int_equal(got.n, 0);
    assert_int_equal(disk_size(path), JOURNAL_HEADER_LEN);
    assert_int_equal(journal_append(j, "x", 1), 0);
    journal_close(j);
    j = open_ok(path, &got);
    assert_int_equal(got.n, 1);
    journal_close(j);
    recs_clear(&got);
}

/* The compaction trigger (journaler_compact_due): a floor of 0 never
 * compacts; before the first compaction the floor alone decides; after
 * one, the journal must pass the floor plus RATIO times the snapshot. */
static void
test_compact_due_policy(void **state)
{
    const uint64_t floor = 1024, snap = 10000;
    (void)state;
    assert_false(journaler_compact_due(UINT64_MAX / 2, 0, 0));
    assert_false(journaler_compact_due(floor, 0, floor));
    assert_true(journaler_compact_due(floor + 1, 0, floor));
    assert_false(journaler_compact_due(floor + JOURNALER_COMPACT_RATIO * snap,
                                       snap, floor));
    assert_true(journaler_compact_due(
        floor + JOURNALER_COMPACT_RATIO * snap + 1, snap, floor));
    /* A snapshot so large the threshold would wrap: never due. */
    assert_false(journaler_compact_due(UINT64_MAX, UINT64_MAX / 2, floor));
}

/* A job whose snapshot grows with its table (SNAP_PER_SET bytes a set)
 * while batches of records are appended: what the compactions rewrite
 * stays within a constant factor of what was appended, at any number of
 * sets (with a fixed threshold it grew with the square of the sets). */
#define POLICY_SETS 100000
#define POLICY_SNAP_PER_SET 150
#define POLICY_BATCH_BYTES 2000 /* one batch: an assign and an accept */
static void
test_compact_due_linear(void **state)
{
    uint64_t size = JOURNAL_HEADER_LEN, snapshot = 0, appended = 0;
    uint64_t rewritten = 0, compactions = 0;
    (void)state;
    for (uint64_t sets = 1; sets <= POLICY_SETS; sets++) {
        size += POLICY_BATCH_BYTES / 10;
        appended += POLICY_BATCH_BYTES / 10;
        if (journaler_compact_due(size, snapshot, 1u << 20)) {
            snapshot = sets * POLICY_SNAP_PER_SET;
            size = snapshot;
            rewritten += snapshot;
            compactions++;
        }
    }
    assert_true(compactions > 0);
    assert_true(rewritten <= appended);
}

#define TMP_TEST(f)                                                            \
    cmocka_unit_test_setup_teardown(f, unit_tmpdir_setup, unit_tmpdir_teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        TMP_TEST(test_round_trip),
        TMP_TEST(test_append_rejects_bad_lengths),
        TMP_TEST(test_crash_at_every_byte),
        TMP_TEST(test_single_bit_flips),
        TMP_TEST(test_corruption_message),
        TMP_TEST(test_compact),
        cmocka_unit_test(test_compact_due_policy),
        cmocka_unit_test(test_compact_due_linear),
        TMP_TEST(test_over_file_cap_refused),
        TMP_TEST(test_crash_torn_in_child),
        TMP_TEST(test_failed_write_breaks_journal),
        cmocka_unit_test(test_scan_not_a_journal),
        cmocka_unit_test(test_scan_zero_length_record),
        cmocka_unit_test(test_scan_huge_length),
        TMP_TEST(test_reader_refusal_fails_open),
        TMP_TEST(test_open_refuses_huge_file),
        TMP_TEST(test_open_errors),
        TMP_TEST(test_open_removes_compaction_temps),
        TMP_TEST(test_open_short_header),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
