/*
 * tcpproxy.c - test tool: relays TCP connections from 127.0.0.1:LISTEN to
 * 127.0.0.1:TARGET, one thread pair per connection. Stopping it (SIGSTOP)
 * cuts the control link between a node and the ambassador the way a pulled
 * cable does on the TCP path only (no FIN, no RST, bytes just stop), while
 * the share keeps working; SIGCONT heals it. Prints the port it listens
 * on. Usage: tcpproxy TARGET_PORT
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/fdio.h"
#include "common/netio.h"

#define TCPPROXY_CHUNK 65536
#define TCPPROXY_CONNECT_MS 2000

struct pump {
    int from, to;
};

static void *
pump_main(void *arg)
{
    struct pump *p = arg;
    char buf[TCPPROXY_CHUNK];
    for (;;) {
        ssize_t n = fdio_read_some(p->from, buf, sizeof(buf));
        if (n <= 0 || fdio_write_full(p->to, buf, (size_t)n) == -1)
            break;
    }
    shutdown(p->to, SHUT_WR);
    shutdown(p->from, SHUT_RD);
    free(p);
    return NULL;
}

static int
pump_start(int from, int to)
{
    pthread_t t;
    struct pump *p = malloc(sizeof(*p));
    if (p == NULL)
        return -1;
    p->from = from;
    p->to = to;
    if (pthread_create(&t, NULL, pump_main, p) != 0) {
        free(p);
        return -1;
    }
    pthread_detach(t);
    return 0;
}

int
main(int argc, char **argv)
{
    int target, port = 0, lfd;

    if (argc != 2 || (target = atoi(argv[1])) <= 0) {
        fprintf(stderr, "usage: tcpproxy TARGET_PORT\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    lfd = net_listen("127.0.0.1", 0, &port, NULL, 0);
    if (lfd == -1) {
        perror("tcpproxy: listen");
        return 1;
    }
    printf("%d\n", port);
    fflush(stdout);
    for (;;) {
        int c = net_accept(lfd, NULL, 0), s;
        if (c == -1) {
            if (errno == EINTR)
                continue;
            return 1;
        }
        s = net_connect("127.0.0.1", target, TCPPROXY_CONNECT_MS, NULL, 0);
        if (s == -1 || pump_start(c, s) == -1 || pump_start(s, c) == -1) {
            close(c);
            if (s != -1)
                close(s);
        }
    }
}
