/*
 * fsutil.c - see fsutil.h.
 */
#include "common/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "common/fdio.h"
#include "common/sharepath.h"

#define FS_COPY_CHUNK (1u << 20)

int
fs_join(char *out, size_t outlen, const char *a, const char *b)
{
    int n = snprintf(out, outlen, "%s/%s", a, b);
    if (n < 0 || (size_t)n >= outlen) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return 0;
}

int
fs_fsync_path(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    int rc, saved;

    if (fd == -1)
        return -1;
    rc = fsync(fd);
    saved = errno;
    close(fd);
    errno = saved;
    return rc;
}

int
fs_fsync_parent(const char *path)
{
    char dir[FS_PATH_MAX];
    const char *slash = strrchr(path, '/');
    int fd, rc;

    if (slash == NULL) {
        snprintf(dir, sizeof(dir), ".");
    } else if (slash == path) {
        snprintf(dir, sizeof(dir), "/");
    } else {
        size_t n = (size_t)(slash - path);
        if (n >= sizeof(dir)) {
            errno = ENAMETOOLONG;
            return -1;
        }
        memcpy(dir, path, n);
        dir[n] = '\0';
    }
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd == -1)
        return -1;
    rc = fsync(fd);
    /* Some filesystems refuse fsync on a directory; the rename is still
     * ordered after the file's fsync, which is what we rely on. */
    if (rc == -1 && (errno == EINVAL || errno == EBADF))
        rc = 0;
    close(fd);
    return rc;
}

/* Open a fresh temp file beside path; fills tmp. */
static int
fs_open_temp(const char *path, char *tmp, size_t tmplen)
{
    int n = snprintf(tmp, tmplen, "%s.tmp-%ld-XXXXXX", path, (long)getpid());
    if (n < 0 || (size_t)n >= tmplen) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return mkostemp(tmp, O_CLOEXEC);
}

/* fsync, close and rename tmp onto path; unlinks tmp on failure. */
static int
fs_commit_temp(int fd, const char *tmp, const char *path)
{
    int saved;
    if (fchmod(fd, 0644) == -1 || fsync(fd) == -1)
        goto fail;
    if (close(fd) == -1) {
        fd = -1;
        goto fail;
    }
    fd = -1;
    if (rename(tmp, path) == -1)
        goto fail;
    return fs_fsync_parent(path);
fail:
    saved = errno;
    if (fd != -1)
        close(fd);
    unlink(tmp);
    errno = saved;
    return -1;
}

int
fs_write_atomic(const char *path, const void *data, size_t len)
{
    char tmp[FS_PATH_MAX];
    int fd = fs_open_temp(path, tmp, sizeof(tmp));
    if (fd == -1)
        return -1;
    if (fdio_write_full(fd, data, len) == -1) {
        int saved = errno;
        close(fd);
        unlink(tmp);
        errno = saved;
        return -1;
    }
    return fs_commit_temp(fd, tmp, path);
}

int
fs_link_or_copy(const char *src, const char *dst)
{
    char tmp[FS_PATH_MAX];
    int n = snprintf(tmp, sizeof(tmp), "%s.link-%ld", dst, (long)getpid());
    if (n < 0 || (size_t)n >= sizeof(tmp)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    unlink(tmp);
    if (link(src, tmp) == 0) {
        if (rename(tmp, dst) == 0 && fs_fsync_parent(dst) == 0)
            return 1;
        unlink(tmp);
    }
    /* Another filesystem (EXDEV), or one without hard links: copy. */
    return fs_copy_atomic(src, dst);
}

int
fs_copy_atomic(const char *src, const char *dst)
{
    char tmp[FS_PATH_MAX];
    char *buf = NULL;
    int in = -1, out = -1, rc = -1, saved = 0;

    in = open(src, O_RDONLY | O_CLOEXEC);
    if (in == -1)
        return -1;
    buf = malloc(FS_COPY_CHUNK);
    if (buf == NULL)
        goto out;
    out = fs_open_temp(dst, tmp, sizeof(tmp));
    if (out == -1)
        goto out;
    for (;;) {
        ssize_t n = fdio_read_some(in, buf, FS_COPY_CHUNK);
        if (n == -1)
            goto fail_tmp;
        if (n == 0)
            break;
        if (fdio_write_full(out, buf, (size_t)n) == -1)
            goto fail_tmp;
    }
    rc = fs_commit_temp(out, tmp, dst);
    out = -1;
    goto out;
fail_tmp:
    saved = errno;
    close(out);
    out = -1;
    unlink(tmp);
    errno = saved;
out:
    saved = errno;
    free(buf);
    close(in);
    errno = saved;
    return rc;
}

int
fs_open_regular(const char *path, struct stat *st)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    int saved;

    if (fd == -1)
        return -1;
    if (fstat(fd, st) == -1)
        saved = errno;
    else if (!S_ISREG(st->st_mode))
        saved = EINVAL;
    else
        return fd;
    close(fd);
    errno = saved;
    return -1;
}

int
fs_read_max(const char *path, size_t max, char **bufp, size_t *lenp)
{
    struct stat st;
    char *buf = NULL;
    size_t len = 0, cap;
    int fd, saved;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd == -1)
        return -1;
    if (fstat(fd, &st) == -1)
        goto fail;
    if (st.st_size < 0 || (uint64_t)st.st_size > max) {
        errno = EFBIG;
        goto fail;
    }
    /* The size may change under us (NFS): read to EOF, and fail only when
     * more than max bytes turn up. */
    cap = (size_t)st.st_size + 1;
    buf = malloc(cap);
    if (buf == NULL)
        goto fail;
    for (;;) {
        ssize_t n;
        if (len + 1 >= cap) {
            size_t ncap = cap * 2;
            char *nb;
            if (ncap > max + 2)
                ncap = max + 2; /* room for max bytes, one more, and NUL */
            if (ncap <= cap) {
                errno = EFBIG;
                goto fail;
            }
            nb = realloc(buf, ncap);
            if (nb == NULL)
                goto fail;
            buf = nb;
            cap = ncap;
        }
        n = fdio_read_some(fd, buf + len, cap - 1 - len);
        if (n == -1)
            goto fail;
        if (n == 0)
            break;
        len += (size_t)n;
        if (len > max) {
            errno = EFBIG;
            goto fail;
        }
    }
    buf[len] = '\0';
    close(fd);
    *bufp = buf;
    *lenp = len;
    return 0;
fail:
    saved = errno;
    free(buf);
    close(fd);
    errno = saved;
    return -1;
}

int
fs_mkdir_p(const char *path, unsigned mode)
{
    char buf[FS_PATH_MAX];
    size_t n = strlen(path);

    if (n == 0 || n >= sizeof(buf)) {
        errno = n == 0 ? ENOENT : ENAMETOOLONG;
        return -1;
    }
    memcpy(buf, path, n + 1);
    for (char *p = buf + 1; *p != '\0'; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, (mode_t)mode) == -1 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    if (mkdir(buf, (mode_t)mode) == -1 && errno != EEXIST)
        return -1;
    return 0;
}

static int
fs_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (flag == FTW_DP)
        return rmdir(path);
    return unlink(path);
}

int
fs_rm_rf(const char *path)
{
    return nftw(path, fs_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int
fs_relpath_is_safe(const char *rel)
{
    const char *p = rel, *seg;
    size_t n = strlen(rel);

    if (n == 0 || n >= FS_PATH_MAX || rel[0] == '/')
        return 0;
    for (const char *c = rel; *c != '\0'; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f || *c == '\\')
            return 0;
    for (;;) {
        size_t len;
        seg = p;
        while (*p != '\0' && *p != '/')
            p++;
        len = (size_t)(p - seg);
        if (len == 0)
            return 0;
        if ((len == 1 && seg[0] == '.') ||
            (len == 2 && seg[0] == '.' && seg[1] == '.'))
            return 0;
        if (*p == '\0')
            return 1;
        p++;
    }
}

int
fs_path_under(const char *root, const char *path, char *rel, size_t rellen)
{
    char r[PATH_MAX], p[PATH_MAX];
    size_t rn;

    if (realpath(root, r) == NULL || realpath(path, p) == NULL)
        return -1;
    rn = strlen(r);
    if (strcmp(r, "/") == 0)
        rn = 0;
    if (strncmp(r, p, rn) != 0 || p[rn] != '/')
        return 0;
    if (strlen(p + rn + 1) >= rellen) {
        errno = ENAMETOOLONG;
        return -1;
    }
    snprintf(rel, rellen, "%s", p + rn + 1);
    return 1;
}

/* The directory part of path: "." for a bare name, "/" for "/name". */
static void
fs_dirname(const char *path, char *out, size_t outlen)
{
    const char *slash = strrchr(path, '/');
    if (slash == NULL)
        snprintf(out, outlen, ".");
    else if (slash == path)
        snprintf(out, outlen, "/");
    else
        snprintf(out, outlen, "%.*s", (int)(slash - path), path);
}

int
fs_output_check(const char *output, const char *input, const char *share,
                char *err, size_t errlen)
{
    char dir[FS_PATH_MAX], jobs[FS_PATH_MAX], rel[FS_PATH_MAX];
    struct stat so, si, sd;

    if (stat(output, &so) == 0) {
        if (S_ISDIR(so.st_mode)) {
            errf(err, errlen, "--output %s is a directory", output);
            return -1;
        }
        if (stat(input, &si) == 0 && so.st_dev == si.st_dev &&
            so.st_ino == si.st_ino) {
            errf(err, errlen,
                 "--output %s is the input %s: writing the video there "
                 "would destroy the frames",
                 output, input);
            return -1;
        }
    }
    fs_dirname(output, dir, sizeof(dir));
    if (stat(dir, &sd) == -1 || !S_ISDIR(sd.st_mode)) {
        errf(err, errlen, "--output %s: its directory %s does not exist",
             output, dir);
        return -1;
    }
    /* Found now, not after every set is rendered. */
    if (access(dir, W_OK | X_OK) == -1) {
        errf(err, errlen, "--output %s: its directory %s is not writable: %s",
             output, dir, strerror(errno));
        return -1;
    }
    /* Where the output's directory lies below the share (both resolved),
     * compared with the job tree's place there. */
    if (sharepath_jobs_dir(NULL, jobs, sizeof(jobs)) == 0 &&
        fs_path_under(share, dir, rel, sizeof(rel)) == 1 &&
        strncmp(rel, jobs, strlen(jobs)) == 0 &&
        (rel[strlen(jobs)] == '\0' || rel[strlen(jobs)] == '/')) {
        errf(err, errlen,
             "--output %s lies inside the share's job tree (%s/%s), where "
             "jobs keep their own files",
             output, share, jobs);
        return -1;
    }
    return 0;
}
