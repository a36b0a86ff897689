/*
 * fdio.c - see fdio.h.
 */
#include "common/fdio.h"

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

int
fdio_write_full(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    int is_socket = 1;

    while (len > 0) {
        ssize_t n;
        if (is_socket) {
            n = send(fd, p, len, MSG_NOSIGNAL);
            if (n == -1 && errno == ENOTSOCK) {
                is_socket = 0;
                continue;
            }
        } else {
            n = write(fd, p, len);
        }
        if (n == -1) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int
fdio_read_full(int fd, void *buf, size_t len)
{
    char *p = buf;
    while (len > 0) {
        ssize_t n = read(fd, p, len);
        if (n == -1) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (n == 0) {
            errno = 0;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

ssize_t
fdio_read_some(int fd, void *buf, size_t len)
{
    ssize_t n;
    do {
        n = read(fd, buf, len);
    } while (n == -1 && errno == EINTR);
    return n;
}
