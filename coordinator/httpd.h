/*
 * httpd.h - the ambassador's HTTP server (libmicrohttpd): the dashboard
 * page, the JSON API, /metrics and the live stream /events, all read
 * from the board the loop publishes (board.h); and the actions (cancel,
 * requeue, drain), which go to the loop as events or to the service,
 * never into the loop's state. docs/protocol.md "HTTP" is the reference.
 *
 * Threads: libmicrohttpd's own, one per connection (an /events stream
 * waits on the board without holding up anyone else), at most
 * HTTPD_CONN_MAX at once and HTTPD_CONN_PER_IP from one address. No
 * handler takes a lock but the board's (to take a reference) and the
 * seen-list's; none touches the share.
 */
#ifndef FF_HTTPD_H
#define FF_HTTPD_H

#include <stddef.h>

#include "common/evq.h"
#include "coordinator/board.h"
#include "coordinator/config.h"

#define HTTPD_DEFAULT_PORT 7780
#define HTTPD_CONN_MAX 64
#define HTTPD_CONN_PER_IP 16

struct httpd;
struct service;

/* Serve on lfd (listening; the server takes it). cfg's secret decides
 * who may act (httpauth.h); loop is the loop's inbox; svc the service
 * (NULL: one job). NULL with err. */
struct httpd *httpd_start(int lfd, const struct coord_config *cfg,
                          struct board *board, struct evq *loop,
                          struct service *svc, char *err, size_t errlen);
/* Ends the streams (closing the board), then every connection. NULL ok. */
void httpd_stop(struct httpd *h);

#endif
