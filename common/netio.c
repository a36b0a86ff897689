/*
 * netio.c - see netio.h.
 */
#include "common/netio.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/err.h"

#define NET_BACKLOG 128
#define NET_USER_TIMEOUT_MS 6000
#define NET_KEEPIDLE_S 5
#define NET_KEEPINTVL_S 1
#define NET_KEEPCNT 3
#define NET_PORT_MAX 65535

void
net_timeouts_default(struct net_timeouts *t)
{
    t->user_timeout_ms = NET_USER_TIMEOUT_MS;
    t->keepidle_s = NET_KEEPIDLE_S;
    t->keepintvl_s = NET_KEEPINTVL_S;
    t->keepcnt = NET_KEEPCNT;
}

int
net_parse_hostport(const char *s, char *host, size_t hostlen, int *port,
                   int default_port)
{
    const char *colon, *hstart = s, *hend;
    char *end;
    long p = default_port;

    if (s[0] == '[') {
        hstart = s + 1;
        hend = strchr(s, ']');
        if (hend == NULL)
            return -1;
        colon = hend[1] == ':' ? hend + 1 : NULL;
        if (hend[1] != '\0' && colon == NULL)
            return -1;
    } else {
        colon = strrchr(s, ':');
        if (colon != NULL && strchr(s, ':') != colon)
            return -1; /* bare IPv6 needs brackets */
        hend = colon != NULL ? colon : s + strlen(s);
    }
    if (colon != NULL) {
        errno = 0;
        p = strtol(colon + 1, &end, 10);
        if (colon[1] == '\0' || *end != '\0' || errno != 0 || p < 0 ||
            p > NET_PORT_MAX)
            return -1;
    }
    if ((size_t)(hend - hstart) >= hostlen)
        return -1;
    if (hend == hstart) {
        snprintf(host, hostlen, "0.0.0.0");
    } else {
        memcpy(host, hstart, (size_t)(hend - hstart));
        host[hend - hstart] = '\0';
    }
    *port = (int)p;
    return 0;
}

/* The addresses of host:port, or NULL + errno and err. No errno names a
 * name that does not resolve: EHOSTUNREACH stands for it, and err says
 * what happened in the resolver's words. */
static struct addrinfo *
net_resolve(const char *host, int port, int passive, char *err, size_t errlen)
{
    struct addrinfo hints, *res = NULL;
    char ps[16];
    int r;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = passive ? AI_PASSIVE : 0;
    snprintf(ps, sizeof(ps), "%d", port);
    r = getaddrinfo(host, ps, &hints, &res);
    if (r != 0) {
        int e = r == EAI_SYSTEM ? errno : EHOSTUNREACH;
        errf(err, errlen, "cannot resolve host \"%s\": %s", host,
             r == EAI_SYSTEM ? strerror(e) : gai_strerror(r));
        errno = e;
        return NULL;
    }
    return res;
}

int
net_resolves(const char *host, char *err, size_t errlen)
{
    struct addrinfo *res = net_resolve(host, 0, 0, err, errlen);
    if (res == NULL)
        return -1;
    freeaddrinfo(res);
    return 0;
}

int
net_listen(const char *host, int port, int *bound, char *err, size_t errlen)
{
    struct addrinfo *res = net_resolve(host, port, 1, err, errlen), *ai;
    int fd = -1, one = 1, saved = EADDRNOTAVAIL;

    if (res == NULL)
        return -1;
    for (ai = res; ai != NULL; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
                    ai->ai_protocol);
        if (fd == -1) {
            saved = errno;
            continue;
        }
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
            listen(fd, NET_BACKLOG) == 0)
            break;
        saved = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd == -1) {
        errf(err, errlen, "%s", strerror(saved));
        errno = saved;
        return -1;
    }
    if (bound != NULL) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        getsockname(fd, (struct sockaddr *)&ss, &sl);
        *bound = ntohs(ss.ss_family == AF_INET6
                           ? ((struct sockaddr_in6 *)&ss)->sin6_port
                           : ((struct sockaddr_in *)&ss)->sin_port);
    }
    return fd;
}

int
net_accept(int lfd, char *peer, size_t peerlen)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    int fd;

    do {
        fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC);
    } while (fd == -1 && errno == EINTR);
    if (fd == -1)
        return -1;
    if (peer != NULL && peerlen > 0) {
        char h[NI_MAXHOST], s[NI_MAXSERV];
        if (getnameinfo((struct sockaddr *)&ss, sl, h, sizeof(h), s, sizeof(s),
                        NI_NUMERICHOST | NI_NUMERICSERV) == 0)
            snprintf(peer, peerlen, "%s:%s", h, s);
        else
            snprintf(peer, peerlen, "?");
    }
    return fd;
}

static int
net_connect_one(const struct addrinfo *ai, int timeout_ms)
{
    int fd, flags, err = 0;
    socklen_t el = sizeof(err);
    struct pollfd pfd;

    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd == -1)
        return -1;
    flags = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == -1) {
        if (errno != EINPROGRESS)
            goto fail;
        pfd.fd = fd;
        pfd.events = POLLOUT;
        int r;
        do {
            r = poll(&pfd, 1, timeout_ms);
        } while (r == -1 && errno == EINTR);
        if (r == 0) {
            errno = ETIMEDOUT;
            goto fail;
        }
        if (r == -1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) == -1)
            goto fail;
        if (err != 0) {
            errno = err;
            goto fail;
        }
    }
    fcntl(fd, F_SETFL, flags);
    return fd;
fail:
    err = errno;
    close(fd);
    errno = err;
    return -1;
}

int
net_connect(const char *host, int port, int timeout_ms, char *err,
            size_t errlen)
{
    struct addrinfo *res = net_resolve(host, port, 0, err, errlen), *ai;
    int fd = -1, saved = ECONNREFUSED;

    if (res == NULL)
        return -1;
    for (ai = res; ai != NULL && fd == -1; ai = ai->ai_next) {
        fd = net_connect_one(ai, timeout_ms);
        if (fd == -1)
            saved = errno;
    }
    freeaddrinfo(res);
    if (fd == -1) {
        errf(err, errlen, "%s", strerror(saved));
        errno = saved;
    }
    return fd;
}

int
net_tune(int fd, const struct net_timeouts *t)
{
    int one = 1;
    unsigned ut = (unsigned)t->user_timeout_ms;
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) == -1 ||
        setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &ut, sizeof(ut)) == -1 ||
        setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one)) == -1 ||
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &t->keepidle_s,
                   sizeof(int)) == -1 ||
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &t->keepintvl_s,
                   sizeof(int)) == -1 ||
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &t->keepcnt, sizeof(int)) ==
            -1)
        return -1;
    return 0;
}
