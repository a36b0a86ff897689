/*
 * shareid.c - see shareid.h.
 */
#include "common/shareid.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <mntent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "common/err.h"
#include "common/fdio.h"
#include "common/fsutil.h"
#include "common/sharepath.h"

#define SHAREID_BYTES (SHAREID_HEX / 2)
#define SHAREID_FILE "share-id"
#define SHAREID_DIR_MODE 0755
#define SHAREID_FILE_MODE 0644
#define SHAREID_FSTAB "/etc/fstab"
#define SHAREID_MOUNTS "/proc/self/mounts"

int
shareid_valid(const char *s)
{
    size_t n = 0;
    for (; s[n] != '\0'; n++)
        if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
            return 0;
    return n == SHAREID_HEX;
}

static int
shareid_path(const char *share, char *out, size_t len)
{
    char dir[FS_PATH_MAX];
    if (sharepath_coord_dir(share, dir, sizeof(dir)) == -1)
        return -1;
    return fs_join(out, len, dir, SHAREID_FILE);
}

int
shareid_read(const char *share, char *id, char *err, size_t errlen)
{
    char path[FS_PATH_MAX];
    char *text = NULL;
    size_t len = 0;
    if (shareid_path(share, path, sizeof(path)) == -1) {
        errf(err, errlen, "share path too long");
        return -1;
    }
    if (fs_read_max(path, SHAREID_HEX + 1, &text, &len) == -1) {
        int e = errno;
        if (err_is_share_io(e))
            errf(err, errlen, "%s does not answer (%s: %s)", share, path,
                 strerror(e));
        else
            errf(err, errlen,
                 "%s is not a framefarm share (%s: %s): is the share "
                 "mounted, and has an ambassador run on it?",
                 share, path, strerror(e));
        errno = e;
        return -1;
    }
    while (len > 0 && text[len - 1] == '\n')
        text[--len] = '\0';
    if (!shareid_valid(text)) {
        errf(err, errlen, "%s does not hold a share id", path);
        free(text);
        errno = EINVAL;
        return -1;
    }
    memcpy(id, text, SHAREID_HEX + 1);
    free(text);
    return 0;
}

/* 1 when table (an fstab or mounts file) lists dir as a mount point. */
static int
shareid_listed(const char *table, const char *dir)
{
    struct mntent me, *m;
    char buf[4096];
    int found = 0;
    FILE *f = setmntent(table, "r");
    if (f == NULL)
        return 0;
    while (!found && (m = getmntent_r(f, &me, buf, sizeof(buf))) != NULL)
        found = strcmp(m->mnt_dir, dir) == 0;
    endmntent(f);
    return found;
}

/* A share about to get its identity: refuse a mount point that fstab
 * names and that is not mounted now (the directory underneath), so the
 * share's first ambassador never initialises the wrong directory. */
static int
shareid_mounted(const char *share, const char *fstab, const char *mounts,
                char *err, size_t errlen)
{
    char real[PATH_MAX];
    if (realpath(share, real) == NULL)
        return 0; /* made below, or refused there */
    if (shareid_listed(fstab, real) && !shareid_listed(mounts, real)) {
        errf(err, errlen,
             "%s is a mount point in %s but nothing is mounted there: "
             "mount the share first (an empty directory underneath would "
             "become a share of its own)",
             real, fstab);
        return -1;
    }
    return 0;
}

int
shareid_ensure(const char *share, char *id, char *err, size_t errlen)
{
    return shareid_ensure_in(share, SHAREID_FSTAB, SHAREID_MOUNTS, id, err,
                             errlen);
}

int
shareid_ensure_in(const char *share, const char *fstab, const char *mounts,
                  char *id, char *err, size_t errlen)
{
    char path[FS_PATH_MAX], dir[FS_PATH_MAX], text[SHAREID_HEX + 2];
    unsigned char raw[SHAREID_BYTES];
    int fd;

    if (shareid_read(share, id, err, errlen) == 0)
        return 0;
    if (shareid_mounted(share, fstab, mounts, err, errlen) == -1)
        return -1;
    if (sharepath_coord_dir(share, dir, sizeof(dir)) == -1 ||
        fs_mkdir_p(dir, SHAREID_DIR_MODE) == -1 ||
        sharepath_nodes_dir(share, dir, sizeof(dir)) == -1 ||
        fs_mkdir_p(dir, SHAREID_DIR_MODE) == -1 ||
        shareid_path(share, path, sizeof(path)) == -1) {
        errf(err, errlen, "preparing %s: %s", share, strerror(errno));
        return -1;
    }
    if (RAND_bytes(raw, sizeof(raw)) != 1) {
        errf(err, errlen, "no randomness for the share id");
        return -1;
    }
    for (size_t i = 0; i < sizeof(raw); i++)
        snprintf(text + 2 * i, 3, "%02x", raw[i]);
    text[SHAREID_HEX] = '\n';
    text[SHAREID_HEX + 1] = '\0';
    /* Exclusive: of two ambassadors creating it at once, one id wins and
     * both read it back. */
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, SHAREID_FILE_MODE);
    if (fd != -1) {
        int bad =
            fdio_write_full(fd, text, SHAREID_HEX + 1) == -1 || fsync(fd) == -1;
        close(fd);
        if (bad || fs_fsync_parent(path) == -1) {
            errf(err, errlen, "writing %s: %s", path, strerror(errno));
            unlink(path);
            return -1;
        }
    } else if (errno != EEXIST) {
        errf(err, errlen, "creating %s: %s", path, strerror(errno));
        return -1;
    }
    return shareid_read(share, id, err, errlen);
}
