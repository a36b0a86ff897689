/*
 * netio.h - TCP plumbing shared by the ambassador and the nodes: listening,
 * connecting with a deadline, and the socket options that turn a pulled
 * cable into an error within seconds instead of the kernel's ~15 minutes
 * (TCP_USER_TIMEOUT, keepalive). Every socket is CLOEXEC. Any thread.
 */
#ifndef FF_NETIO_H
#define FF_NETIO_H

#include <stddef.h>

#define NET_HOST_MAX 256
#define NET_DEFAULT_PORT 7700

struct net_timeouts {
    int user_timeout_ms; /* TCP_USER_TIMEOUT */
    int keepidle_s, keepintvl_s, keepcnt;
};
void net_timeouts_default(struct net_timeouts *t); /* 6000 ms; 5 s/1 s/3 */

/* "host:port", "[v6]:port", "host" (default port) or ":port". 0, or -1. */
int net_parse_hostport(const char *s, char *host, size_t hostlen, int *port,
                       int default_port);
/* Listen on host:port (port 0 = any); *bound gets the real port.
 * Returns the fd, or -1 + errno and why in err (NULL: not wanted). A host
 * name that does not resolve is said in the resolver's words ("cannot
 * resolve host \"h\": Name or service not known"; errno EHOSTUNREACH,
 * whose own text would mislead). */
int net_listen(const char *host, int port, int *bound, char *err,
               size_t errlen);
/* accept4 with CLOEXEC; peer address as text into peer. fd or -1. */
int net_accept(int lfd, char *peer, size_t peerlen);
/* Connect with a deadline. fd (blocking, CLOEXEC), or -1 + errno and why
 * in err, as net_listen. */
int net_connect(const char *host, int port, int timeout_ms, char *err,
                size_t errlen);
/* Does host resolve? 0, or -1 with why in err (as net_listen). */
int net_resolves(const char *host, char *err, size_t errlen);
/* TCP_NODELAY, TCP_USER_TIMEOUT and keepalive. 0, or -1 + errno. */
int net_tune(int fd, const struct net_timeouts *t);

#endif
