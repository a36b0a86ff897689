/*
 * nodeconn.c - see nodeconn.h.
 *
 * The breaker decides whether this node asks for work: the thread sends
 * EV_WANT while a slot is free and breaker_allow() says yes, and EV_UNWANT
 * when the breaker opens or the node turns suspect. An assign that arrives
 * after EV_UNWANT is declined back to the loop, which makes the set
 * Available again without counting a failure.
 */
#include "coordinator/nodeconn.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/jsonutil.h"
#include "common/log.h"
#include "common/manifest.h"
#include "common/proto.h"

#define NODECONN_PEER_MAX 64
#define NODECONN_MAX_EPOCH UINT32_MAX
#define NODECONN_LINGER_MS 1000 /* for the node to read our last words */
#define NODECONN_DRAIN_BUF 4096

struct nodeconn_held {
    uint32_t set;
    uint64_t epoch;
};

struct nodeconn {
    int fd;
    char peer[NODECONN_PEER_MAX];
    uint64_t session;
    const struct coord_config *cfg; /* borrowed, read-only */
    struct evq *events;             /* borrowed: the loop's inbox */
    struct evq *outbox;             /* owned: loop -> this thread */
    pthread_t thread;
    int started;

    /* Owned by the node thread from here down. */
    char name[IDENT_MAX + 1];
    int slots;
    struct breaker br;
    enum breaker_state br_reported;
    struct proto_reader rd;
    struct nodeconn_held held[CONFIG_MAX_SLOTS];
    int nheld;
    int wanted; /* EV_WANTs not yet answered by an assign */
    uint64_t last_rx_ms;
    uint64_t next_hb_ms;
    uint64_t hb_seq;
    int suspect;
    int admitted;    /* the loop took the hello (CMD_ADMIT): asks may start */
    int lease_stale; /* CMD_LEASE: its lease stopped advancing */
    int detached;    /* the node said it closes on purpose */
    int finished;    /* we sent finish (or a refusal) and close on purpose */
    int died;        /* the session ended by the node's process dying */
};

void
node_cmd_free(void *p)
{
    struct node_cmd *cmd = p;
    if (cmd == NULL)
        return;
    cJSON_Delete(cmd->msg);
    free(cmd);
}

static struct amb_event *
nodeconn_event(struct nodeconn *c, enum amb_event_type type)
{
    struct amb_event *ev = calloc(1, sizeof(*ev));
    if (ev == NULL)
        return NULL;
    ev->type = type;
    ev->session = c->session;
    snprintf(ev->name, sizeof(ev->name), "%s", c->name);
    return ev;
}

static void
nodeconn_emit(struct nodeconn *c, struct amb_event *ev)
{
    if (ev == NULL || evq_push(c->events, ev) == -1) {
        log_warn("node %s: cannot reach the ambassador's loop", c->name);
        free(ev);
    }
}

static int
nodeconn_send_msg(struct nodeconn *c, const cJSON *msg)
{
    if (proto_send(c->fd, msg) == -1) {
        log_debug("node %s: send: %s", c->name, strerror(errno));
        return -1;
    }
    return 0;
}

static int
nodeconn_send_error(struct nodeconn *c, const char *text)
{
    cJSON *m = cJSON_CreateObject();
    int rc = -1;
    if (m != NULL && cJSON_AddStringToObject(m, "type", MSG_ERROR) != NULL &&
        cJSON_AddStringToObject(m, "msg", text) != NULL)
        rc = nodeconn_send_msg(c, m);
    cJSON_Delete(m);
    return rc;
}

/* Wait for one message until deadline. 1 = *msg, 0 = timeout or closed,
 * -1 = malformed (err). */
static int
nodeconn_recv_until(struct nodeconn *c, uint64_t deadline, cJSON **msg,
                    char *err, size_t errlen)
{
    for (;;) {
        int r = proto_reader_next(&c->rd, msg, err, errlen);
        uint64_t now = clock_now_ms();
        struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
        if (r != 0)
            return r;
        if (now >= deadline) {
            errf(err, errlen, "no hello within %llu ms",
                 (unsigned long long)c->cfg->hello_ms);
            return 0;
        }
        r = poll(&pfd, 1, (int)(deadline - now));
        if (r == -1 && errno != EINTR)
            return 0;
        if (r <= 0)
            continue;
        long n = proto_reader_fill(&c->rd, c->fd);
        if (n <= 0) {
            errf(err, errlen, "closed before hello");
            return 0;
        }
    }
}

static int
nodeconn_encoders(const cJSON *arr, char *out, size_t cap)
{
    const cJSON *e;
    size_t n = 0;
    out[0] = '\0';
    if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) > EV_ENCODER_LIST_MAX)
        return -1;
    cJSON_ArrayForEach(e, arr)
    {
        if (!cJSON_IsString(e) || !ident_is_valid(e->valuestring))
            return -1;
        int w = snprintf(out + n, cap - n, "%s%s", n > 0 ? "," : "",
                         e->valuestring);
        if (w < 0 || (size_t)w >= cap - n)
            return -1;
        n += (size_t)w;
    }
    return 0;
}

/* The sets a reconnecting node still has in hand: they count against its
 * slots until the loop reattaches or cancels them. */
static void
nodeconn_hello_held(struct nodeconn *c, const cJSON *arr, struct amb_event *ev)
{
    const cJSON *h;
    if (!cJSON_IsArray(arr))
        return;
    cJSON_ArrayForEach(h, arr)
    {
        uint64_t set, epoch;
        if (c->nheld >= CONFIG_MAX_SLOTS || c->nheld >= LEASE_MAX_HELD ||
            json_u64(h, "set", MANIFEST_MAX_SETS, &set) == -1 ||
            json_u64(h, "epoch", NODECONN_MAX_EPOCH, &epoch) == -1)
            continue;
        c->held[c->nheld].set = (uint32_t)set;
        c->held[c->nheld].epoch = epoch;
        if (ev != NULL) {
            ev->lease.held[ev->lease.nheld].set = (uint32_t)set;
            ev->lease.held[ev->lease.nheld].epoch = epoch;
            ev->lease.nheld++;
        }
        c->nheld++;
    }
}

/* Challenge (when keyed), hello, welcome. 0, or -1 with why. */
static int
nodeconn_handshake(struct nodeconn *c, char *why, size_t whylen)
{
    char nonce[AUTH_NONCE_HEX + 1] = "";
    char err[ERR_MAX] = "", encoders[EV_ENCODERS_MAX];
    cJSON *msg = NULL, *reply = NULL;
    uint64_t proto, slots;
    const char *name, *mac;
    const cJSON *decoder;
    struct amb_event *ev;
    int rc = -1;

    if (c->cfg->keyed) {
        if (auth_nonce(nonce) == -1) {
            errf(why, whylen, "no randomness for a nonce");
            goto out;
        }
        reply = cJSON_CreateObject();
        if (reply == NULL ||
            cJSON_AddStringToObject(reply, "type", MSG_CHALLENGE) == NULL ||
            json_add_u64(reply, "proto", PROTO_VERSION) == NULL ||
            cJSON_AddStringToObject(reply, "nonce", nonce) == NULL ||
            nodeconn_send_msg(c, reply) == -1) {
            errf(why, whylen, "cannot send the challenge");
            goto out;
        }
        cJSON_Delete(reply);
        reply = NULL;
    }
    if (nodeconn_recv_until(c, clock_now_ms() + c->cfg->hello_ms, &msg, err,
                            sizeof(err)) != 1) {
        errf(why, whylen, "handshake: %s", err[0] ? err : "no hello");
        if (err[0] != '\0')
            nodeconn_send_error(c, err);
        goto out;
    }
    if (strcmp(proto_type(msg), MSG_HELLO) != 0) {
        errf(why, whylen, "first message is \"%s\", not hello",
             proto_type(msg));
        nodeconn_send_error(c, "expected hello");
        goto out;
    }
    if (json_u64(msg, "proto", UINT32_MAX, &proto) == -1 ||
        proto != PROTO_VERSION) {
        errf(why, whylen, "protocol version mismatch (want %d)", PROTO_VERSION);
        nodeconn_send_error(c, why);
        goto out;
    }
    name = json_str(msg, "node");
    /* "decoder" is optional (nodes before it did not say). */
    decoder = cJSON_GetObjectItemCaseSensitive(msg, "decoder");
    if (decoder != NULL &&
        (!cJSON_IsString(decoder) || !ident_is_valid(decoder->valuestring) ||
         strlen(decoder->valuestring) >= EV_DECODER_MAX)) {
        errf(why, whylen, "bad hello (decoder)");
        nodeconn_send_error(c, why);
        goto out;
    }
    if (name == NULL || !ident_is_valid(name) ||
        json_u64(msg, "slots", CONFIG_MAX_SLOTS, &slots) == -1 || slots == 0 ||
        nodeconn_encoders(cJSON_GetObjectItemCaseSensitive(msg, "encoders"),
                          encoders, sizeof(encoders)) == -1) {
        errf(why, whylen, "bad hello (node name, slots or encoders)");
        nodeconn_send_error(c, why);
        goto out;
    }
    if (c->cfg->keyed) {
        mac = json_str(msg, "auth");
        if (mac == NULL || !auth_check(&c->cfg->secret, nonce, mac)) {
            errf(why, whylen, "node \"%s\" failed authentication", name);
            nodeconn_send_error(c, "authentication failed");
            goto out;
        }
    }
    snprintf(c->name, sizeof(c->name), "%s", name);
    c->slots = (int)slots;
    reply = cJSON_CreateObject();
    if (reply == NULL ||
        cJSON_AddStringToObject(reply, "type", MSG_WELCOME) == NULL ||
        json_add_u64(reply, "session", c->session) == NULL ||
        json_add_u64(reply, "generation", c->cfg->gen) == NULL ||
        json_add_u64(reply, "heartbeat_ms", c->cfg->hb_ms) == NULL ||
        json_add_u64(reply, "dead_ms", c->cfg->dead_ms) == NULL ||
        json_add_u64(reply, "fence_ms", c->cfg->fence_ms) == NULL ||
        json_add_u64(reply, "grace_ms", c->cfg->grace_ms) == NULL ||
        json_add_u64(reply, "lease_renew_ms", c->cfg->lease_renew_ms) == NULL ||
        nodeconn_send_msg(c, reply) == -1) {
        errf(why, whylen, "cannot send welcome");
        goto out;
    }
    ev = nodeconn_event(c, EV_HELLO);
    nodeconn_hello_held(c, cJSON_GetObjectItemCaseSensitive(msg, "held"), ev);
    if (ev != NULL) {
        ev->slots = c->slots;
        snprintf(ev->encoders, sizeof(ev->encoders), "%s", encoders);
        snprintf(ev->decoder, sizeof(ev->decoder), "%s",
                 decoder != NULL ? decoder->valuestring : "cpu");
        snprintf(ev->text, sizeof(ev->text), "%s", c->peer);
    }
    nodeconn_emit(c, ev);
    rc = 0;
out:
    cJSON_Delete(msg);
    cJSON_Delete(reply);
    return rc;
}

static int
nodeconn_held_remove(struct nodeconn *c, uint32_t set, uint64_t epoch)
{
    for (int i = 0; i < c->nheld; i++) {
        if (c->held[i].set == set && c->held[i].epoch == epoch) {
            c->held[i] = c->held[--c->nheld];
            return 1;
        }
    }
    return 0;
}

static void
nodeconn_breaker_changed(struct nodeconn *c)
{
    struct amb_event *ev;
    if (c->br.state == c->br_reported)
        return;
    c->br_reported = c->br.state;
    log_info("node %s: breaker %s%s%s", c->name,
             breaker_state_name(c->br.state),
             c->br.state == BREAKER_OPEN ? ": " : "",
             c->br.state == BREAKER_OPEN ? c->br.reason : "");
    ev = nodeconn_event(c, EV_BREAKER);
    if (ev != NULL)
        snprintf(ev->text, sizeof(ev->text), "%s",
                 breaker_state_name(c->br.state));
    nodeconn_emit(c, ev);
}

/* One message from the node, after the handshake. 0, or -1 with why when
 * the session must end. */
static int
nodeconn_handle(struct nodeconn *c, const cJSON *msg, char *why, size_t whylen)
{
    const char *type = proto_type(msg);
    struct amb_event *ev;
    uint64_t set, epoch, v;

    if (strcmp(type, MSG_HEARTBEAT) == 0) {
        if (json_u64(msg, "set", MANIFEST_MAX_SETS, &set) == 0 &&
            json_u64(msg, "frames", MANIFEST_MAX_FRAMES, &v) == 0 &&
            json_u64(msg, "epoch", NODECONN_MAX_EPOCH, &epoch) == 0) {
            ev = nodeconn_event(c, EV_PROGRESS);
            if (ev != NULL) {
                ev->set = (uint32_t)set;
                ev->epoch = epoch;
                ev->frames = v;
            }
            nodeconn_emit(c, ev);
        }
        return 0;
    }
    if (strcmp(type, MSG_DETACH) == 0) {
        c->detached = 1;
        return 0;
    }
    if (strcmp(type, MSG_DONE) != 0 && strcmp(type, MSG_FAIL) != 0) {
        errf(why, whylen, "protocol error: unexpected \"%.32s\" message", type);
        return -1;
    }
    if (json_u64(msg, "set", MANIFEST_MAX_SETS, &set) == -1 ||
        json_u64(msg, "epoch", NODECONN_MAX_EPOCH, &epoch) == -1) {
        errf(why, whylen, "protocol error: %s without set and epoch", type);
        return -1;
    }
    nodeconn_held_remove(c, (uint32_t)set, epoch);
    if (strcmp(type, MSG_FAIL) == 0) {
        const char *e = json_str(msg, "error");
        ev = nodeconn_event(c, EV_FAIL);
        if (ev != NULL) {
            ev->set = (uint32_t)set;
            ev->epoch = epoch;
            snprintf(ev->text, sizeof(ev->text), "node error: %s",
                     e != NULL ? e : "(no reason given)");
        }
        breaker_record(&c->br, false, clock_now_ms(), "the node failed a set");
        nodeconn_emit(c, ev);
        return 0;
    }
    ev = nodeconn_event(c, EV_DONE);
    if (ev == NULL)
        return 0;
    ev->set = (uint32_t)set;
    ev->epoch = epoch;
    if (json_strcpy(msg, "path", ev->path, sizeof(ev->path)) == -1 ||
        json_strcpy(msg, "sha256", ev->sha256, sizeof(ev->sha256)) == -1 ||
        json_u64(msg, "bytes", UINT64_MAX >> 11, &ev->bytes) == -1 ||
        json_u64(msg, "frames", MANIFEST_MAX_FRAMES, &ev->frames) == -1) {
        free(ev);
        errf(why, whylen,
             "protocol error: done without path, sha256, "
             "bytes or frames");
        return -1;
    }
    json_strcpy(msg, "encoder", ev->encoder, sizeof(ev->encoder));
    json_strcpy(msg, "preset", ev->preset, sizeof(ev->preset));
    json_strcpy(msg, "fallback", ev->fallback, sizeof(ev->fallback));
    nodeconn_emit(c, ev);
    return 0;
}

/* Apply one command from the loop. 1 = keep going, 0 = finish, -1 = the
 * connection broke. */
static int
nodeconn_command(struct nodeconn *c, struct node_cmd *cmd)
{
    struct amb_event *ev;
    int rc = 1;

    switch (cmd->type) {
    case CMD_ASSIGN:
        /* An assign that crossed EV_UNWANT, or that arrives after a result
         * in the same batch opened the breaker, goes back untouched. */
        if (c->wanted == 0 || c->nheld >= CONFIG_MAX_SLOTS ||
            c->br.state == BREAKER_OPEN || c->suspect || c->lease_stale) {
            ev = nodeconn_event(c, EV_DECLINE);
            if (ev != NULL) {
                ev->set = cmd->set;
                ev->epoch = cmd->epoch;
            }
            nodeconn_emit(c, ev);
            if (c->wanted > 0) {
                c->wanted--; /* the loop spent one of our asks on it */
                breaker_release_probe(&c->br);
            }
            break;
        }
        c->wanted--;
        c->held[c->nheld].set = cmd->set;
        c->held[c->nheld].epoch = cmd->epoch;
        c->nheld++;
        if (nodeconn_send_msg(c, cmd->msg) == -1)
            rc = -1;
        break;
    case CMD_RESULT:
        breaker_record(&c->br, cmd->ok != 0, clock_now_ms(),
                       "a result failed its check");
        if (nodeconn_send_msg(c, cmd->msg) == -1)
            rc = -1;
        break;
    case CMD_LEASE:
        /* The breaker watches the lease as well as the heartbeats: a node
         * whose lease stopped advancing has fenced itself, or writes where
         * we cannot see; it gets no work until the lease moves again. */
        if (!cmd->ok && !c->lease_stale) {
            breaker_trip(&c->br, clock_now_ms(), "its lease stopped advancing");
            nodeconn_breaker_changed(c);
        }
        c->lease_stale = !cmd->ok;
        break;
    case CMD_ADMIT:
        /* The node's name had a breaker in an earlier session: a node
         * that lost liveness or kept failing does not start afresh just
         * by reconnecting. It applies before the first ask, so no work is
         * handed out under a fresh breaker and then declined. */
        c->admitted = 1;
        if (cmd->ok) {
            c->br = cmd->br;
            /* A half-open probe that the last session asked for ended
             * with it: this session probes afresh (a reattached set's
             * result still counts when it comes). */
            breaker_release_probe(&c->br);
            log_info("node %s: breaker %s, carried over from its last session",
                     c->name, breaker_state_name(c->br.state));
            c->br_reported = c->br.state;
        }
        break;
    case CMD_CANCEL:
        nodeconn_held_remove(c, cmd->set, cmd->epoch);
        if (nodeconn_send_msg(c, cmd->msg) == -1)
            rc = -1;
        break;
    case CMD_FINISH:
        if (cmd->msg != NULL)
            nodeconn_send_msg(c, cmd->msg);
        rc = 0;
        break;
    }
    node_cmd_free(cmd);
    return rc;
}

static int
nodeconn_heartbeat(struct nodeconn *c)
{
    cJSON *m = cJSON_CreateObject();
    int rc = -1;
    if (m != NULL &&
        cJSON_AddStringToObject(m, "type", MSG_HEARTBEAT) != NULL &&
        json_add_u64(m, "seq", ++c->hb_seq) != NULL)
        rc = nodeconn_send_msg(c, m);
    cJSON_Delete(m);
    return rc;
}

/* Ask for work or withdraw the asks, as the breaker and liveness say. */
static void
nodeconn_update_wants(struct nodeconn *c, uint64_t now)
{
    int was_suspect = c->suspect;
    c->suspect = now - c->last_rx_ms >= c->cfg->suspect_ms;
    if (c->suspect && !was_suspect)
        log_warnx("node %s: suspect: silent for %llu ms", c->name,
                  (unsigned long long)(now - c->last_rx_ms));
    if ((c->suspect || c->lease_stale || c->br.state == BREAKER_OPEN) &&
        c->wanted > 0) {
        c->wanted = 0;
        /* A half-open probe asked for but not handed out is not spent. */
        breaker_release_probe(&c->br);
        nodeconn_emit(c, nodeconn_event(c, EV_UNWANT));
        return;
    }
    while (c->admitted && !c->suspect && !c->lease_stale &&
           c->nheld + c->wanted < c->slots && breaker_allow(&c->br, now)) {
        c->wanted++;
        nodeconn_emit(c, nodeconn_event(c, EV_WANT));
        if (c->br.state == BREAKER_HALF_OPEN)
            break; /* one probe only */
    }
}

static int
nodeconn_timeout(const struct nodeconn *c, uint64_t now)
{
    uint64_t t = c->next_hb_ms;
    uint64_t dead = c->last_rx_ms + c->cfg->dead_ms;
    uint64_t suspect = c->last_rx_ms + c->cfg->suspect_ms;
    if (dead < t)
        t = dead;
    if (!c->suspect && suspect < t)
        t = suspect;
    /* Wake for the end of a cool-down only while it is ahead: once it has
     * passed, breaker_allow runs when a slot frees (no busy wait). */
    if (c->br.state == BREAKER_OPEN && c->br.reopen_ms > now &&
        c->br.reopen_ms < t)
        t = c->br.reopen_ms;
    return t <= now ? 0 : (int)(t - now);
}

static void
nodeconn_loop(struct nodeconn *c, char *why, size_t whylen)
{
    char err[ERR_MAX];
    c->last_rx_ms = clock_now_ms();
    c->next_hb_ms = c->last_rx_ms;

    for (;;) {
        uint64_t now = clock_now_ms();
        struct pollfd pfd[2] = {{.fd = c->fd, .events = POLLIN},
                                {.fd = evq_fd(c->outbox), .events = POLLIN}};
        struct node_cmd *cmd;
        cJSON *msg;
        int r;

        if (now - c->last_rx_ms >= c->cfg->dead_ms) {
            errf(why, whylen, "heartbeat timeout: silent for %llu ms",
                 (unsigned long long)(now - c->last_rx_ms));
            breaker_trip(&c->br, now, why);
            nodeconn_breaker_changed(c);
            return;
        }
        if (now >= c->next_hb_ms) {
            if (nodeconn_heartbeat(c) == -1) {
                errf(why, whylen, "disconnected (send failed: %s)",
                     strerror(errno));
                return;
            }
            c->next_hb_ms = now + c->cfg->hb_ms;
        }
        nodeconn_update_wants(c, now);
        nodeconn_breaker_changed(c);

        r = poll(pfd, 2, nodeconn_timeout(c, now));
        if (r == -1 && errno != EINTR) {
            errf(why, whylen, "poll: %s", strerror(errno));
            return;
        }
        if (pfd[0].revents != 0) {
            long n = proto_reader_fill(&c->rd, c->fd);
            int closed =
                n == 0 || (n == -1 && errno != EINTR && errno != EAGAIN);
            int rerr = n == 0 ? 0 : errno;
            if (!closed)
                c->last_rx_ms = clock_now_ms();
            /* What arrived before a close counts first: a node that gives
             * up on a handshake sends detach and closes, and both may sit
             * in the buffer (read with its hello) by the time we look. */
            while ((r = proto_reader_next(&c->rd, &msg, err, sizeof(err))) ==
                   1) {
                r = nodeconn_handle(c, msg, why, whylen);
                cJSON_Delete(msg);
                if (r == -1)
                    break;
            }
            if (r == -1) {
                if (why[0] == '\0')
                    errf(why, whylen, "protocol error: %s", err);
                nodeconn_send_error(c, why);
                /* We cut it off: nothing it holds will be reattached. */
                c->died = 1;
                breaker_trip(&c->br, clock_now_ms(), why);
                nodeconn_breaker_changed(c);
                return;
            }
            if (closed) {
                /* A close or reset the node did not announce with detach
                 * is its process dying: the kernel closed the socket. */
                c->died = !c->detached && (rerr == 0 || rerr == ECONNRESET);
                errf(why, whylen, "%s (%s)",
                     c->detached ? "detached" : "disconnected",
                     rerr == 0 ? "connection closed" : strerror(rerr));
                return;
            }
            nodeconn_breaker_changed(c);
        }
        while ((cmd = evq_pop(c->outbox)) != NULL) {
            r = nodeconn_command(c, cmd);
            if (r == 0) {
                errf(why, whylen, "finished");
                c->finished = 1;
                return;
            }
            if (r == -1) {
                errf(why, whylen, "disconnected (send failed)");
                return;
            }
        }
    }
}

/* After our last message (finish, or a refusal): close so that it
 * arrives. A socket closed with unread bytes in it (the node's heartbeat,
 * say) sends a reset, and a reset can destroy what we sent before it; so
 * shut our side, read until the node closes, briefly, then close. */
static void
nodeconn_linger(struct nodeconn *c)
{
    uint64_t end = clock_now_ms() + NODECONN_LINGER_MS;
    char buf[NODECONN_DRAIN_BUF];

    if (shutdown(c->fd, SHUT_WR) == -1)
        return;
    for (uint64_t now = clock_now_ms(); now < end; now = clock_now_ms()) {
        struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
        ssize_t n;
        if (poll(&pfd, 1, (int)(end - now)) <= 0)
            return;
        n = read(c->fd, buf, sizeof(buf));
        if (n == 0 || (n == -1 && errno != EINTR && errno != EAGAIN))
            return;
    }
}

static void *
nodeconn_main(void *arg)
{
    struct nodeconn *c = arg;
    char why[ERR_MAX] = "";
    struct amb_event *ev;

    snprintf(c->name, sizeof(c->name), "(%.60s)", c->peer);
    if (nodeconn_handshake(c, why, sizeof(why)) == 0) {
        why[0] = '\0';
        nodeconn_loop(c, why, sizeof(why));
    }
    if (c->finished)
        nodeconn_linger(c);
    close(c->fd);
    c->fd = -1;
    ev = nodeconn_event(c, EV_GONE);
    if (ev != NULL) {
        snprintf(ev->text, sizeof(ev->text), "%s", why);
        ev->died = c->died;
        ev->br = c->br;
        ev->admitted = c->admitted;
    }
    nodeconn_emit(c, ev);
    return NULL;
}

struct nodeconn *
nodeconn_start(int fd, const char *peer, uint64_t session,
               const struct coord_config *cfg, struct evq *events)
{
    struct nodeconn *c = calloc(1, sizeof(*c));
    int r;

    if (c == NULL) {
        close(fd);
        return NULL;
    }
    c->fd = fd;
    c->session = session;
    c->cfg = cfg;
    c->events = events;
    snprintf(c->peer, sizeof(c->peer), "%s", peer);
    proto_reader_init(&c->rd);
    breaker_init(&c->br, &cfg->breaker, session * 0x9e3779b97f4a7c15ull);
    c->br_reported = BREAKER_CLOSED;
    net_tune(fd, &cfg->tcp);
    c->outbox = evq_new();
    if (c->outbox == NULL)
        goto fail;
    r = pthread_create(&c->thread, NULL, nodeconn_main, c);
    if (r != 0) {
        errno = r;
        goto fail;
    }
    c->started = 1;
    return c;
fail:
    r = errno;
    close(fd);
    evq_free(c->outbox, node_cmd_free);
    proto_reader_fini(&c->rd);
    free(c);
    errno = r;
    return NULL;
}

void
nodeconn_send(struct nodeconn *c, struct node_cmd *cmd)
{
    if (evq_push(c->outbox, cmd) == -1) {
        log_warn("node %s: cannot queue a command", c->name);
        node_cmd_free(cmd);
    }
}

void
nodeconn_stop(struct nodeconn *c)
{
    struct node_cmd *cmd = calloc(1, sizeof(*cmd));
    if (cmd == NULL)
        return;
    cmd->type = CMD_FINISH;
    nodeconn_send(c, cmd);
}

void
nodeconn_free(struct nodeconn *c)
{
    if (c == NULL)
        return;
    if (c->started)
        pthread_join(c->thread, NULL);
    evq_free(c->outbox, node_cmd_free);
    proto_reader_fini(&c->rd);
    free(c);
}
