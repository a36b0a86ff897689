/*
 * journal.c - see journal.h. Owned by one thread; journal_scan is pure.
 *
 * Why the scanner looks past a bad record: a crash mid-append leaves a
 * record that is cut short or whose CRC does not match, at the very end,
 * with nothing valid after it. A bad record with a valid one anywhere
 * after it cannot come from a crash of this writer (every append is
 * fsynced before the next begins), so it is corruption (a flipped bit, a
 * stray write, a lost block) and truncating there would silently drop
 * durable records: refuse instead. The search tries every later byte
 * offset, so it finds the next real record even when the bad record's
 * length field is what was damaged. A false positive needs 8 bytes
 * inside a torn tail that frame a payload with a matching CRC-32; JSON
 * payloads cannot hold one at all (a length of at most 64 KiB has a NUL
 * byte, JSON text has none), and if one ever turned up the journal would
 * be refused, never misread. The search costs at most (bytes after the
 * bad record) x JOURNAL_MAX_RECORD, in practice one CRC of the tail.
 *
 * Appends use fdatasync: it flushes the file size along with the data
 * (fdatasync(2): the size is needed to read the data back), which is all
 * a reader needs. Creation, compaction and truncation use fsync, and the
 * directory is fsynced after every rename (research/reliability.md §5).
 * After a failed write or fdatasync the file's state is unknown (a torn
 * tail, or pages the kernel dropped: "fsyncgate"), so the journal refuses
 * further appends rather than retrying; reopening truncates the tail.
 */
#include "coordinator/journal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "common/fault.h"
#include "common/fdio.h"
#include "common/fsutil.h"
#include "common/hash.h"
#include "common/log.h"

#define JOURNAL_FILE_MODE 0644
#define JOURNAL_TMP_INFIX ".tmp-" /* temp names: <path>.tmp-<pid>-XXXXXX */
#define JOURNAL_CHUNK (1u << 20)  /* compaction writes at most this at once */
#define JOURNAL_WHY_MAX 96

struct journal {
    int fd;         /* open O_RDWR, positioned at the end */
    int broken;     /* a write or sync failed: no more appends */
    int crash_torn; /* test hook: crash point journal-torn armed */
    uint64_t size;  /* bytes in the file, header included */
    uint8_t *buf;   /* framed records on their way to the file */
    size_t bufcap;
    char path[FS_PATH_MAX];
};

static uint32_t
journal_get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static void
journal_put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

/* 1 if a whole valid record starts at off: length in range, payload
 * inside buf, CRC matching. 0 if not, with the reason in why (may be
 * NULL). off < len. */
static int
journal_record_at(const uint8_t *buf, size_t len, size_t off, char *why,
                  size_t whylen)
{
    const uint8_t *payload = buf + off + JOURNAL_REC_HEADER_LEN;
    uint32_t n;

    if (len - off < JOURNAL_REC_HEADER_LEN) {
        errf(why, whylen, "record header cut short");
        return 0;
    }
    n = journal_get_le32(buf + off);
    if (n < 1 || n > JOURNAL_MAX_RECORD) {
        errf(why, whylen, "length %lu out of range", (unsigned long)n);
        return 0;
    }
    if (n > len - off - JOURNAL_REC_HEADER_LEN) {
        errf(why, whylen, "record runs past the end of the file");
        return 0;
    }
    if (hash_crc32(payload, n) !=
        journal_get_le32(buf + off + JOURNAL_REC_CRC_AT)) {
        errf(why, whylen, "CRC mismatch");
        return 0;
    }
    return 1;
}

/* The first offset at or after from where a valid record starts. 1 and
 * *at, or 0 when there is none. */
static int
journal_find_record(const uint8_t *buf, size_t len, size_t from, size_t *at)
{
    for (size_t p = from; p < len && len - p > JOURNAL_REC_HEADER_LEN; p++)
        if (journal_record_at(buf, len, p, NULL, 0)) {
            *at = p;
            return 1;
        }
    return 0;
}

int
journal_scan(const uint8_t *buf, size_t len,
             int (*each)(void *ctx, const uint8_t *rec, size_t n), void *ctx,
             size_t *good_end, char *err, size_t errlen)
{
    char why[JOURNAL_WHY_MAX] = "";
    size_t off = JOURNAL_HEADER_LEN, next = 0, nrec = 0;
    int rc = -1;

    *good_end = 0;
    /* A header cut short can only be a file whose creation was cut short
     * (journal_open never leaves one: it renames a whole header into
     * place), so, like a torn tail, it holds nothing durable. */
    if (len < JOURNAL_HEADER_LEN &&
        (len == 0 || memcmp(buf, JOURNAL_MAGIC, len) == 0)) {
        rc = 0;
        goto out;
    }
    if (len < JOURNAL_HEADER_LEN ||
        memcmp(buf, JOURNAL_MAGIC, JOURNAL_HEADER_LEN) != 0) {
        errf(err, errlen,
             "not a framefarm journal (it does not begin with \"%s\")",
             JOURNAL_MAGIC);
        goto out;
    }
    *good_end = off;
    while (off < len && journal_record_at(buf, len, off, why, sizeof(why))) {
        size_t n = journal_get_le32(buf + off);
        if (each != NULL &&
            each(ctx, buf + off + JOURNAL_REC_HEADER_LEN, n) == -1) {
            errf(err, errlen,
                 "journal record %zu (at byte %zu) was refused by its reader",
                 nrec + 1, off);
            goto out;
        }
        nrec++;
        off += JOURNAL_REC_HEADER_LEN + n;
        *good_end = off;
    }
    if (off < len && journal_find_record(buf, len, off + 1, &next)) {
        errf(err, errlen,
             "journal corrupt at byte %zu (%s), with valid records after it "
             "(the next at byte %zu): refusing to start; restore the file or "
             "remove it to start the job afresh",
             off, why, next);
        goto out;
    }
    rc = 0;
out:
    return rc;
}

/* j->buf holds at least need bytes. 0, or -1 + errno. */
static int
journal_reserve(struct journal *j, size_t need)
{
    uint8_t *nb;

    if (need <= j->bufcap)
        return 0;
    nb = realloc(j->buf, need);
    if (nb == NULL)
        return -1;
    j->buf = nb;
    j->bufcap = need;
    return 0;
}

/* Frames one record into dst, which has JOURNAL_REC_HEADER_LEN + n bytes;
 * returns that size. */
static size_t
journal_frame(uint8_t *dst, const void *rec, size_t n)
{
    journal_put_le32(dst, (uint32_t)n);
    journal_put_le32(dst + JOURNAL_REC_CRC_AT, hash_crc32(rec, n));
    memcpy(dst + JOURNAL_REC_HEADER_LEN, rec, n);
    return JOURNAL_REC_HEADER_LEN + n;
}

/* The bytes n records take in the file, after checking every length:
 * -1 + EINVAL for a length out of range, EFBIG when base plus them would
 * pass JOURNAL_MAX_FILE (journal_open would refuse the file). */
static int
journal_batch_size(uint64_t base, const size_t *lens, size_t n, uint64_t *total)
{
    uint64_t t = 0;

    for (size_t i = 0; i < n; i++) {
        if (lens[i] < 1 || lens[i] > JOURNAL_MAX_RECORD) {
            errno = EINVAL;
            return -1;
        }
        t += JOURNAL_REC_HEADER_LEN + (uint64_t)lens[i];
        if (base + t > JOURNAL_MAX_FILE) {
            errno = EFBIG;
            return -1;
        }
    }
    *total = t;
    return 0;
}

/* Removes <path>.tmp-* beside path: temp files of a compaction (or a
 * creation) that a crash cut short. Only this journal's single writer
 * makes such names, and it is starting now. */
static void
journal_remove_temps(const char *path)
{
    char dir[FS_PATH_MAX], prefix[FS_PATH_MAX];
    const char *slash = strrchr(path, '/');
    const char *base = slash != NULL ? slash + 1 : path;
    size_t dirlen = slash != NULL ? (size_t)(slash - path) : 0;
    struct dirent *e;
    DIR *d = NULL;

    if (slash == NULL)
        snprintf(dir, sizeof(dir), ".");
    else if (dirlen == 0)
        snprintf(dir, sizeof(dir), "/");
    else
        snprintf(dir, sizeof(dir), "%.*s", (int)dirlen, path);
    snprintf(prefix, sizeof(prefix), "%s%s", base, JOURNAL_TMP_INFIX);
    d = opendir(dir);
    if (d == NULL)
        goto out; /* journal_open reports what is wrong with the path */
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, prefix, strlen(prefix)) != 0)
            continue;
        if (unlinkat(dirfd(d), e->d_name, 0) == -1)
            log_warn("journal %s: cannot remove %s/%s", path, dir, e->d_name);
        else
            log_warnx("journal %s: removed %s/%s, left by a compaction that "
                      "did not finish",
                      path, dir, e->d_name);
    }
out:
    if (d != NULL)
        closedir(d);
}

/* Writes a fresh journal holding recs (lengths already checked) beside
 * j->path, fsyncs it, renames it over j->path, and makes it j's file;
 * then fsyncs the directory. A failure before the rename leaves j as it
 * was; a failure after it leaves j broken. 0, or -1 + errno. */
static int
journal_replace(struct journal *j, const void *const *recs, const size_t *lens,
                size_t n)
{
    char tmp[FS_PATH_MAX];
    uint64_t size = JOURNAL_HEADER_LEN;
    size_t fill = JOURNAL_HEADER_LEN;
    int fd = -1, old, rc = -1, saved;

    if (snprintf(tmp, sizeof(tmp), "%s%s%ld-XXXXXX", j->path, JOURNAL_TMP_INFIX,
                 (long)getpid()) >= (int)sizeof(tmp)) {
        errno = ENAMETOOLONG;
        goto out;
    }
    /* Every framed record fits in an emptied buffer. */
    if (journal_reserve(j, JOURNAL_CHUNK) == -1)
        goto out;
    fd = mkostemp(tmp, O_CLOEXEC);
    if (fd == -1)
        goto out;
    memcpy(j->buf, JOURNAL_MAGIC, JOURNAL_HEADER_LEN);
    for (size_t i = 0; i < n; i++) {
        if (fill + JOURNAL_REC_HEADER_LEN + lens[i] > j->bufcap) {
            if (fdio_write_full(fd, j->buf, fill) == -1)
                goto out;
            fill = 0;
        }
        size += journal_frame(j->buf + fill, recs[i], lens[i]);
        fill += JOURNAL_REC_HEADER_LEN + lens[i];
    }
    if (fdio_write_full(fd, j->buf, fill) == -1 ||
        fchmod(fd, JOURNAL_FILE_MODE) == -1 || fsync(fd) == -1 ||
        rename(tmp, j->path) == -1)
        goto out;
    old = j->fd;
    j->fd = fd;
    fd = -1;
    j->size = size;
    if (old != -1)
        close(old);
    if (fs_fsync_parent(j->path) == -1) {
        j->broken = 1;
        goto out;
    }
    rc = 0;
out:
    saved = errno;
    if (fd != -1) {
        close(fd);
        unlink(tmp);
    }
    errno = saved;
    return rc;
}

/* Reads the whole file behind fd into a malloc'd *data. 0, or -1 + errno
 * (EFBIG over JOURNAL_MAX_FILE). */
static int
journal_read_all(int fd, uint8_t **data, size_t *len)
{
    struct stat st;
    uint8_t *buf = NULL;
    size_t size, got = 0;
    int rc = -1, saved;

    if (fstat(fd, &st) == -1)
        goto out;
    if (st.st_size < 0 || (uint64_t)st.st_size > JOURNAL_MAX_FILE) {
        errno = EFBIG;
        goto out;
    }
    size = (size_t)st.st_size;
    buf = malloc(size > 0 ? size : 1);
    if (buf == NULL)
        goto out;
    /* Only this writer changes the file, so its size holds still. */
    while (got < size) {
        ssize_t r = fdio_read_some(fd, buf + got, size - got);
        if (r == -1)
            goto out;
        if (r == 0)
            break;
        got += (size_t)r;
    }
    *data = buf;
    *len = got;
    buf = NULL;
    rc = 0;
out:
    saved = errno;
    free(buf);
    errno = saved;
    return rc;
}

struct journal *
journal_open(const char *path,
             int (*each)(void *ctx, const uint8_t *rec, size_t n), void *ctx,
             char *err, size_t errlen)
{
    char why[ERR_MAX];
    struct journal *j = NULL, *ret = NULL;
    uint8_t *data = NULL;
    size_t len = 0, good_end = 0;
    int saved;

    if (strlen(path) >= FS_PATH_MAX) {
        errno = ENAMETOOLONG;
        errf(err, errlen, "journal path too long (%zu bytes)", strlen(path));
        goto out;
    }
    j = calloc(1, sizeof(*j));
    if (j == NULL) {
        errf(err, errlen, "journal %s: %s", path, strerror(errno));
        goto out;
    }
    j->fd = -1;
    snprintf(j->path, sizeof(j->path), "%s", path);
    j->crash_torn = fault_crash_armed(FAULT_JOURNAL_TORN);
    journal_remove_temps(path);
    j->fd = open(path, O_RDWR | O_CLOEXEC);
    if (j->fd == -1 && errno != ENOENT) {
        errf(err, errlen, "journal %s: cannot open: %s", path, strerror(errno));
        goto out;
    }
    if (j->fd != -1 && journal_read_all(j->fd, &data, &len) == -1) {
        if (errno == EFBIG)
            errf(err, errlen,
                 "journal %s: larger than %llu bytes, more than a journal "
                 "may hold: not one this ambassador wrote",
                 path, (unsigned long long)JOURNAL_MAX_FILE);
        else
            errf(err, errlen, "journal %s: cannot read: %s", path,
                 strerror(errno));
        goto out;
    }
    if (j->fd != -1 &&
        journal_scan(data, len, each, ctx, &good_end, why, sizeof(why)) == -1) {
        errf(err, errlen, "journal %s: %s", path, why);
        errno = EINVAL;
        goto out;
    }
    if (good_end < JOURNAL_HEADER_LEN) {
        /* No file, an empty one, or a header cut short: nothing in it was
         * ever durable, so start an empty journal. */
        if (len > 0)
            log_warnx("journal %s: header cut short (%zu bytes): starting "
                      "an empty journal",
                      path, len);
        if (journal_replace(j, NULL, NULL, 0) == -1) {
            errf(err, errlen, "journal %s: cannot create: %s", path,
                 strerror(errno));
            goto out;
        }
    } else {
        if (good_end < len) {
            if (ftruncate(j->fd, (off_t)good_end) == -1 || fsync(j->fd) == -1) {
                errf(err, errlen,
                     "journal %s: cannot truncate its torn tail at byte "
                     "%zu: %s",
                     path, good_end, strerror(errno));
                goto out;
            }
            log_warnx("journal %s: dropped a torn tail of %zu bytes at byte "
                      "%zu (a write cut short by a crash)",
                      path, len - good_end, good_end);
        }
        if (lseek(j->fd, (off_t)good_end, SEEK_SET) == -1) {
            errf(err, errlen, "journal %s: cannot seek: %s", path,
                 strerror(errno));
            goto out;
        }
        j->size = good_end;
    }
    ret = j;
    j = NULL;
out:
    saved = errno;
    free(data);
    journal_close(j);
    errno = saved;
    return ret;
}

/* Test hook (fault_journal_eio): 1 for the append that must fail. */
static int
journal_fault_eio(void)
{
    static atomic_long appends;
    long n = fault_journal_eio();
    return n > 0 && atomic_fetch_add(&appends, 1) + 1 == n;
}

/* Writes j->buf[0..len) at the end of the file and fdatasyncs it. A
 * write refused for want of space (ENOSPC, EDQUOT) is taken back, so the
 * same append can be tried again once there is space; any other failure,
 * and any failed sync, breaks j. 0, or -1 + errno. */
static int
journal_write_sync(struct journal *j, size_t len)
{
    if (j->crash_torn) {
        /* Crash test: a process killed in the middle of this write. */
        (void)fdio_write_full(j->fd, j->buf, len / 2);
        _exit(FAULT_TORN_EXIT);
    }
    if (journal_fault_eio()) {
        /* Test hook: the share went away in the middle of this write. */
        (void)fdio_write_full(j->fd, j->buf, len / 2);
        j->broken = 1;
        errno = EIO;
        return -1;
    }
    if (fdio_write_full(j->fd, j->buf, len) == -1) {
        int e = errno;
        if ((e == ENOSPC || e == EDQUOT) &&
            ftruncate(j->fd, (off_t)j->size) == 0 &&
            lseek(j->fd, (off_t)j->size, SEEK_SET) == (off_t)j->size) {
            errno = e;
            return -1;
        }
        j->broken = 1;
        errno = e;
        return -1;
    }
    if (fdatasync(j->fd) == -1) {
        j->broken = 1;
        return -1;
    }
    j->size += len;
    return 0;
}

int
journal_append_many(struct journal *j, const void *const *recs,
                    const size_t *lens, size_t n)
{
    uint64_t total = 0;
    size_t fill = 0;

    if (j->broken) {
        errno = EIO;
        return -1;
    }
    if (journal_batch_size(j->size, lens, n, &total) == -1)
        return -1;
    if (n == 0)
        return 0;
    if (journal_reserve(j, (size_t)total) == -1)
        return -1;
    for (size_t i = 0; i < n; i++)
        fill += journal_frame(j->buf + fill, recs[i], lens[i]);
    return journal_write_sync(j, fill);
}

int
journal_append(struct journal *j, const void *rec, size_t n)
{
    return journal_append_many(j, &rec, &n, 1);
}

int
journal_compact(struct journal *j, const void *const *recs, const size_t *lens,
                size_t n)
{
    uint64_t total = 0;

    if (j->broken) {
        errno = EIO;
        return -1;
    }
    if (journal_batch_size(JOURNAL_HEADER_LEN, lens, n, &total) == -1)
        return -1;
    return journal_replace(j, recs, lens, n);
}

uint64_t
journal_size(const struct journal *j)
{
    return j->size;
}

const char *
journal_path(const struct journal *j)
{
    return j->path;
}

uint64_t
journal_record_bytes(size_t n)
{
    return JOURNAL_REC_HEADER_LEN + (uint64_t)n;
}

void
journal_close(struct journal *j)
{
    if (j == NULL)
        return;
    /* Every record was synced when it was appended; close has nothing
     * left to report. */
    if (j->fd != -1)
        close(j->fd);
    free(j->buf);
    free(j);
}
