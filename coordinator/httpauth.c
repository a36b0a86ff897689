/*
 * httpauth.c - see httpauth.h.
 */
#include "coordinator/httpauth.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#define HTTPAUTH_MSG_MAX 1024
#define HTTPAUTH_TS_DIGITS_MAX 18 /* no overflow */
#define HTTPAUTH_HOST_MAX 256

void
httpauth_mac(const struct auth_secret *s, int64_t ts, const char *method,
             const char *path, char *hex)
{
    char msg[HTTPAUTH_MSG_MAX];
    snprintf(msg, sizeof(msg), "%s\n%lld\n%s\n%s", HTTPAUTH_LABEL,
             (long long)ts, method, path);
    auth_mac(s, msg, hex);
}

int
httpauth_host_loopback(const char *host)
{
    char name[HTTPAUTH_HOST_MAX];
    struct in_addr a4;
    struct in6_addr a6;
    const char *end;
    size_t len;

    if (host == NULL)
        return 0;
    if (host[0] == '[') {
        /* [v6]:port */
        if ((end = strchr(host, ']')) == NULL)
            return 0;
        len = (size_t)(end - host - 1);
        if (len >= sizeof(name))
            return 0;
        memcpy(name, host + 1, len);
        name[len] = '\0';
        return inet_pton(AF_INET6, name, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
    }
    end = strchr(host, ':');
    len = end != NULL ? (size_t)(end - host) : strlen(host);
    if (len >= sizeof(name))
        return 0;
    memcpy(name, host, len);
    name[len] = '\0';
    if (strcmp(name, "localhost") == 0)
        return 1;
    /* inet_pton takes dotted quads only: no "127.1", no names. */
    return inet_pton(AF_INET, name, &a4) == 1 &&
           (ntohl(a4.s_addr) >> 24) == 127;
}

/* "Framefarm TS MAC" -> ts and mac (lowercase hex). 0, or -1. */
static int
httpauth_parse(const char *h, int64_t *ts, char *mac)
{
    const char *p = h;
    size_t nd = 0;
    long long v = 0;

    if (strncmp(p, HTTPAUTH_SCHEME " ", sizeof(HTTPAUTH_SCHEME)) != 0)
        return -1;
    p += sizeof(HTTPAUTH_SCHEME);
    while (*p >= '0' && *p <= '9' && nd < HTTPAUTH_TS_DIGITS_MAX) {
        v = v * 10 + (*p++ - '0');
        nd++;
    }
    if (nd == 0 || *p++ != ' ')
        return -1;
    for (size_t i = 0; i < AUTH_MAC_HEX; i++) {
        char c = p[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return -1;
        mac[i] = c;
    }
    if (p[AUTH_MAC_HEX] != '\0')
        return -1;
    mac[AUTH_MAC_HEX] = '\0';
    *ts = v;
    return 0;
}

/* Remember mac; HTTPAUTH_REPLAYED when it was used, HTTPAUTH_BUSY when
 * the list is full of MACs still within the window. */
static enum httpauth_verdict
httpauth_remember(struct httpauth_seen *seen, const char *mac, int64_t now_s)
{
    size_t oldest;
    for (size_t i = 0; i < seen->n; i++)
        if (CRYPTO_memcmp(seen->mac[i], mac, AUTH_MAC_HEX) == 0)
            return HTTPAUTH_REPLAYED;
    oldest = seen->n < HTTPAUTH_SEEN ? seen->n : seen->next;
    if (seen->n == HTTPAUTH_SEEN &&
        now_s - seen->ts[oldest] <= 2 * HTTPAUTH_SKEW_S)
        return HTTPAUTH_BUSY;
    memcpy(seen->mac[seen->next], mac, AUTH_MAC_HEX + 1);
    seen->ts[seen->next] = now_s;
    seen->next = (seen->next + 1) % HTTPAUTH_SEEN;
    if (seen->n < HTTPAUTH_SEEN)
        seen->n++;
    return HTTPAUTH_OK;
}

enum httpauth_verdict
httpauth_check(const struct auth_secret *s, const struct httpauth_req *r,
               int64_t now_s, struct httpauth_seen *seen)
{
    char mac[AUTH_MAC_HEX + 1], want[AUTH_MAC_HEX + 1];
    int64_t ts;

    if (s == NULL)
        return r->peer_loopback && httpauth_host_loopback(r->host)
                   ? HTTPAUTH_OK
                   : HTTPAUTH_REMOTE;
    if (r->authorization == NULL)
        return HTTPAUTH_MISSING;
    if (httpauth_parse(r->authorization, &ts, mac) == -1)
        return HTTPAUTH_MALFORMED;
    httpauth_mac(s, ts, r->method, r->path, want);
    if (CRYPTO_memcmp(want, mac, AUTH_MAC_HEX) != 0)
        return HTTPAUTH_BAD_MAC;
    if (ts > now_s + HTTPAUTH_SKEW_S || ts < now_s - HTTPAUTH_SKEW_S)
        return HTTPAUTH_EXPIRED;
    return httpauth_remember(seen, mac, now_s);
}

const char *
httpauth_why(enum httpauth_verdict v)
{
    switch (v) {
    case HTTPAUTH_OK:
        return "ok";
    case HTTPAUTH_MISSING:
        return "this ambassador has a secret: send Authorization: "
               "Framefarm TS MAC (docs/protocol.md, \"HTTP\")";
    case HTTPAUTH_MALFORMED:
        return "Authorization must be \"Framefarm TS MAC\" (Unix seconds, "
               "64 lowercase hex digits)";
    case HTTPAUTH_BAD_MAC:
        return "the MAC is wrong (not made with this ambassador's secret, "
               "or for another method or path)";
    case HTTPAUTH_EXPIRED:
        return "the request's time is more than 60 s from the "
               "ambassador's clock";
    case HTTPAUTH_REPLAYED:
        return "this request was already made (each action needs a new "
               "MAC)";
    case HTTPAUTH_BUSY:
        return "too many actions in the last two minutes";
    case HTTPAUTH_REMOTE:
        return "this ambassador has no --secret: actions are taken only "
               "from this machine (127.0.0.1 or localhost)";
    }
    return "refused";
}
