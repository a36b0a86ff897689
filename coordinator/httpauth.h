/*
 * httpauth.h - who may act through the ambassador's HTTP API (cancel a
 * job, requeue a set, drain a node). Reading is open; acting needs:
 *
 *  - With --secret: every action request carries
 *      Authorization: Framefarm TS MAC
 *    TS the client's Unix time in seconds, MAC the lowercase hex
 *    HMAC-SHA256(secret, "framefarm-http\n" TS "\n" METHOD "\n" PATH),
 *    PATH the URL's path (no query). It is refused when TS is more than
 *    HTTPAUTH_SKEW_S away from the ambassador's clock, or when the same
 *    MAC was already used (each request is its own: a captured one cannot
 *    be replayed), and when more than HTTPAUTH_SEEN actions came within
 *    twice that window. The secret never crosses the network.
 *  - Without --secret: only a client on this machine may act: its
 *    address is loopback and so is the Host it asked for (a web page
 *    that rebinds its own name to 127.0.0.1 still says its own name).
 *
 * Either way an action is a POST with the header X-Framefarm-Action: 1
 * (httpd.c checks it): a page from elsewhere cannot send that header
 * without the CORS preflight this server never answers.
 *
 * Pure but for the seen-list it is given (its caller holds a lock).
 */
#ifndef FF_HTTPAUTH_H
#define FF_HTTPAUTH_H

#include <stddef.h>
#include <stdint.h>

#include "common/auth.h"

#define HTTPAUTH_SCHEME "Framefarm"
#define HTTPAUTH_LABEL "framefarm-http"
#define HTTPAUTH_SKEW_S 60
#define HTTPAUTH_SEEN 64

/* The MACs of the last HTTPAUTH_SEEN actions (zeroed to start). */
struct httpauth_seen {
    char mac[HTTPAUTH_SEEN][AUTH_MAC_HEX + 1];
    int64_t ts[HTTPAUTH_SEEN];
    size_t next, n;
};

struct httpauth_req {
    const char *method, *path;
    const char *authorization; /* the header, or NULL */
    const char *host;          /* the Host header, or NULL */
    int peer_loopback;         /* the client's address is loopback */
};

enum httpauth_verdict {
    HTTPAUTH_OK,
    HTTPAUTH_MISSING, /* no Authorization, a secret is needed */
    HTTPAUTH_MALFORMED,
    HTTPAUTH_BAD_MAC,
    HTTPAUTH_EXPIRED,  /* TS too far from now */
    HTTPAUTH_REPLAYED, /* that MAC was used already */
    HTTPAUTH_BUSY,     /* too many actions lately */
    HTTPAUTH_REMOTE,   /* no secret, and not from this machine */
};

/* The MAC of a request, as hex (AUTH_MAC_HEX + 1 bytes). */
void httpauth_mac(const struct auth_secret *s, int64_t ts, const char *method,
                  const char *path, char *hex);
/* May r act? s NULL: the ambassador has no secret. now_s: Unix seconds. */
enum httpauth_verdict httpauth_check(const struct auth_secret *s,
                                     const struct httpauth_req *r,
                                     int64_t now_s, struct httpauth_seen *seen);
/* A sentence for the verdict (the response's error). */
const char *httpauth_why(enum httpauth_verdict v);
/* Is this Host header (name[:port]) loopback: localhost, 127.x.y.z, [::1]? */
int httpauth_host_loopback(const char *host);

#endif
