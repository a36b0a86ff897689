/*
 * fdio.h - whole reads and writes on any descriptor: short counts and EINTR
 * are handled here once. Any thread.
 */
#ifndef FF_FDIO_H
#define FF_FDIO_H

#include <stddef.h>
#include <sys/types.h>

/* Writes all len bytes. 0, or -1 + errno. Uses send(MSG_NOSIGNAL) on
 * sockets so a closed peer gives EPIPE, never SIGPIPE. */
int fdio_write_full(int fd, const void *buf, size_t len);
/* Reads exactly len bytes. 0; -1 + errno; or -1 with errno 0 at EOF. */
int fdio_read_full(int fd, void *buf, size_t len);
/* One read, EINTR retried: bytes read, 0 at EOF, -1 + errno. */
ssize_t fdio_read_some(int fd, void *buf, size_t len);

#endif
