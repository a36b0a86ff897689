/*
 * nodeconn.h - one connected render node: its own thread and its own
 * circuit breaker. The thread owns the socket (the only reader and writer),
 * does the handshake (challenge, hello, welcome), sends and checks
 * heartbeats, asks the loop for work when a slot is free and the breaker
 * allows, forwards the node's reports, and reports its own end (EV_GONE,
 * with why: disconnected, heartbeat timeout, protocol error, finished).
 * It never touches the share, so a hung mount cannot stop heartbeats.
 *
 * Lifetime: the loop creates it on accept, pushes commands to it until it
 * sees EV_GONE, then joins and frees it.
 */
#ifndef FF_NODECONN_H
#define FF_NODECONN_H

#include <stdint.h>

#include "common/evq.h"
#include "coordinator/config.h"
#include "coordinator/events.h"

struct nodeconn;
struct nodenames;
struct service;

/* Start the thread for an accepted socket (the conn takes fd). events is
 * the loop's inbound queue; svc the service's job queue (NULL for a
 * one-job ambassador), for control clients; names the node names live
 * sessions hold (nodenames.h). NULL + errno on failure (fd
 * closed). */
struct nodeconn *nodeconn_start(int fd, const char *peer, uint64_t session,
                                const struct coord_config *cfg,
                                struct evq *events, struct service *svc,
                                struct nodenames *names);
/* Loop thread: hand a command to the node thread (it takes cmd). */
void nodeconn_send(struct nodeconn *c, struct node_cmd *cmd);
/* Loop thread: make the thread exit soon (it will still send EV_GONE). */
void nodeconn_stop(struct nodeconn *c);
/* Loop thread, after EV_GONE: join the thread and free. NULL ok. */
void nodeconn_free(struct nodeconn *c);

#endif
