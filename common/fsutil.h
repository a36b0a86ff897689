/*
 * fsutil.h - files on the share: replaced, never edited in place; paths from
 * untrusted sources validated before use. Any thread, but see STYLE: threads
 * that keep time must not call these (a hung mount would stop them).
 */
#ifndef FF_FSUTIL_H
#define FF_FSUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#define FS_PATH_MAX 4096

/* Replace path atomically: temp file in the same directory, write, fsync,
 * close (checked), rename, fsync the directory. 0, or -1 + errno. */
int fs_write_atomic(const char *path, const void *data, size_t len);
/* Copy src to dst atomically (as fs_write_atomic). 0, or -1 + errno. */
int fs_copy_atomic(const char *src, const char *dst);
/* Put src at dst as a hard link (atomically: a temporary name, then
 * rename) when both are on one filesystem, else as fs_copy_atomic. 1 when
 * linked, 0 when copied, -1 + errno. */
int fs_link_or_copy(const char *src, const char *dst);
/* Open a file that may come from an untrusted writer, to read it: no
 * symlink followed, no FIFO waited on, a regular file only (EINVAL
 * otherwise); its fstat into *st. The descriptor (CLOEXEC,
 * O_NONBLOCK: no effect on a regular file), or -1 + errno. */
int fs_open_regular(const char *path, struct stat *st);
/* Read a whole file of at most max bytes into a NUL-terminated malloc'd
 * buffer. 0, or -1 + errno (EFBIG when larger than max). */
int fs_read_max(const char *path, size_t max, char **buf, size_t *len);
/* mkdir -p with the given mode. 0, or -1 + errno. */
int fs_mkdir_p(const char *path, unsigned mode);
/* Open path, fsync it, close it. 0, or -1 + errno. */
int fs_fsync_path(const char *path);
/* fsync the directory that holds path. 0, or -1 + errno. */
int fs_fsync_parent(const char *path);
/* Remove a directory tree (no symlinks followed). 0, or -1 + errno. */
int fs_rm_rf(const char *path);
/* A relative path we may join under a root: not empty, not absolute, no ".."
 * or "." component, no empty component, no control characters, and shorter
 * than FS_PATH_MAX. 1 if safe, else 0. */
int fs_relpath_is_safe(const char *rel);
/* snprintf into out; -1 + ENAMETOOLONG when it does not fit. */
int fs_join(char *out, size_t outlen, const char *a, const char *b);
/* If path lies inside root (both resolved with realpath), write the part
 * below root into rel and return 1; 0 if outside; -1 + errno on error. */
int fs_path_under(const char *root, const char *path, char *rel, size_t rellen);
/* May a job write its final video at output, reading input, on share?
 * Refuses, before any work: an output that is the input file itself
 * (the same inode, so through a hard or symbolic link too), a directory,
 * an output whose directory does not exist, and one inside the share's
 * job tree (jobs/), where jobs keep their own files. 0, or -1 with err. */
int fs_output_check(const char *output, const char *input, const char *share,
                    char *err, size_t errlen);

#endif
