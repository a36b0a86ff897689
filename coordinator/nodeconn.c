/*
 * nodeconn.c - see nodeconn.h.
 *
 * A socket and heartbeat pump: it decides nothing about work. What it
 * hears (hello, reports, silence, the end) goes to the loop as events;
 * the node's circuit breaker (coordinator/nodewatch.c, in the core)
 * decides from them.
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
#include "coordinator/nodenames.h"
#include "coordinator/service.h"

#define NODECONN_PEER_MAX 64
#define NODECONN_MAX_EPOCH PROTO_MAX_EPOCH
/* For the node to read our last words (a loaded node may take a while:
 * closing with its bytes unread resets the connection and loses ours). */
#define NODECONN_LINGER_MS 3000
#define NODECONN_DRAIN_BUF 4096

struct nodeconn {
    int fd;
    char peer[NODECONN_PEER_MAX];
    uint64_t session;
    const struct coord_config *cfg; /* borrowed, read-only */
    struct evq *events;             /* borrowed: the loop's inbox */
    struct service *svc;            /* borrowed: the job queue, or NULL */
    struct nodenames *names;        /* borrowed: names live sessions hold */
    int named;                      /* this session holds c->name there */
    struct evq *outbox;             /* owned: loop -> this thread */
    pthread_t thread;
    int started;

    /* Owned by the node thread from here down. */
    char name[IDENT_MAX + 1];
    struct proto_reader rd;
    struct proto_key key; /* keyed: every frame after the hello is signed */
    uint64_t last_rx_ms;
    uint64_t next_hb_ms;
    uint64_t last_tx_ms; /* our last heartbeat */
    uint64_t hb_seq;
    int suspect;  /* told the loop it is silent past suspect_ms */
    int detached; /* the node said it closes on purpose */
    int finished; /* we sent finish (or a refusal) and close on purpose */
    int died;     /* the session ended by the node's process dying */
    int trip;     /* it lost liveness: heartbeat timeout, protocol error */
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
    if (proto_send_keyed(c->fd, &c->key, msg) == -1) {
        log_debug("node %s: send: %s", c->name, strerror(errno));
        return -1;
    }
    return 0;
}

/* An error frame; retry: the refusal may not last (a name whose old
 * session has not ended yet), so the node should try again later. */
static int
nodeconn_send_error_retry(struct nodeconn *c, const char *text, int retry)
{
    cJSON *m = cJSON_CreateObject();
    int rc = -1;
    if (m != NULL && cJSON_AddStringToObject(m, "type", MSG_ERROR) != NULL &&
        cJSON_AddStringToObject(m, "msg", text) != NULL &&
        (!retry || cJSON_AddBoolToObject(m, "retry", 1) != NULL))
        rc = nodeconn_send_msg(c, m);
    cJSON_Delete(m);
    return rc;
}

static int
nodeconn_send_error(struct nodeconn *c, const char *text)
{
    return nodeconn_send_error_retry(c, text, 0);
}

/* Wait for one message until deadline. 1 = *msg, 0 = timeout or closed,
 * -1 = malformed (err). */
static int
nodeconn_recv_until(struct nodeconn *c, uint64_t deadline, cJSON **msg,
                    char *err, size_t errlen)
{
    for (;;) {
        int r = proto_reader_next_keyed(&c->rd, &c->key, msg, err, errlen);
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

/* The sets a reconnecting node still has in hand: the loop reattaches or
 * cancels them, and they count against its slots until then. */
static void
nodeconn_hello_held(const cJSON *arr, struct ev_hello *h)
{
    const cJSON *e;
    if (!cJSON_IsArray(arr))
        return;
    cJSON_ArrayForEach(e, arr)
    {
        uint64_t set, epoch;
        if (h->nheld >= CONFIG_MAX_SLOTS || h->nheld >= LEASE_MAX_HELD ||
            json_u64(e, "set", MANIFEST_MAX_SETS, &set) == -1 ||
            json_u64(e, "epoch", NODECONN_MAX_EPOCH, &epoch) == -1)
            continue;
        h->held[h->nheld].set = (uint32_t)set;
        h->held[h->nheld].epoch = epoch;
        h->nheld++;
    }
}

/* A control client (framefarm submit/status/cancel/wait, or another
 * ambassador's ping): authenticated like a node, one request, its reply
 * (a wait sends heartbeats until the job ends), then close. */
static void
nodeconn_control(struct nodeconn *c, const cJSON *msg, const char *nonce)
{
    const char *op = json_str(msg, "op"), *id = json_str(msg, "job");
    unsigned char key[AUTH_KEY_LEN];
    cJSON *reply = NULL;

    snprintf(c->name, sizeof(c->name), "(control %.48s)", c->peer);
    c->finished = 1; /* our reply is the last word: linger */
    if (c->cfg->keyed) {
        const char *mac = json_str(msg, "auth");
        if (mac == NULL || !auth_check(&c->cfg->secret, nonce, mac)) {
            log_warnx("control client from %s failed authentication", c->peer);
            nodeconn_send_error(c, "authentication failed: this ambassador "
                                   "requires its shared secret (--secret)");
            return;
        }
        auth_session_key(&c->cfg->secret, nonce, MSG_CONTROL, key);
        proto_key_start(&c->key, key, 1);
    }
    nodeconn_emit(c, nodeconn_event(c, EV_CONTROL));
    if (op == NULL)
        op = "";
    if (strcmp(op, "ping") == 0) {
        reply = cJSON_CreateObject();
        if (reply != NULL) {
            cJSON_AddStringToObject(reply, "type", "reply");
            cJSON_AddBoolToObject(reply, "ok", 1);
            json_add_u64(reply, "generation", c->cfg->gen);
            cJSON_AddBoolToObject(reply, "service", c->svc != NULL);
            cJSON_AddStringToObject(reply, "share_id", c->cfg->share_id);
        }
    } else if (c->svc == NULL) {
        reply = cJSON_CreateObject();
        if (reply != NULL) {
            cJSON_AddStringToObject(reply, "type", "reply");
            cJSON_AddBoolToObject(reply, "ok", 0);
            cJSON_AddNumberToObject(reply, "exit", 2);
            cJSON_AddStringToObject(reply, "error",
                                    "this ambassador runs a single job "
                                    "(started with --input); it takes no "
                                    "requests");
        }
    } else if (strcmp(op, "submit") == 0) {
        reply = service_submit(c->svc, msg);
    } else if (strcmp(op, "cancel") == 0) {
        reply = service_cancel(c->svc, id);
    } else if (strcmp(op, "status") == 0) {
        reply = service_status(c->svc, id);
    } else if (strcmp(op, "wait") == 0) {
        cJSON *hb = cJSON_CreateObject();
        if (hb == NULL ||
            cJSON_AddStringToObject(hb, "type", MSG_HEARTBEAT) == NULL) {
            cJSON_Delete(hb);
            return;
        }
        while (service_wait(c->svc, id, c->cfg->hb_ms, &reply) == 0)
            if (nodeconn_send_msg(c, hb) == -1)
                break; /* the client went away */
        cJSON_Delete(hb);
    } else {
        nodeconn_send_error(c, "unknown control operation");
        return;
    }
    if (reply != NULL)
        nodeconn_send_msg(c, reply);
    cJSON_Delete(reply);
}

/* Challenge (when keyed), hello, welcome. 0, or -1 with why. */
static int
nodeconn_handshake(struct nodeconn *c, char *why, size_t whylen)
{
    char nonce[AUTH_NONCE_HEX + 1] = "";
    unsigned char key[AUTH_KEY_LEN];
    char err[ERR_MAX] = "", encoders[EV_ENCODERS_MAX];
    cJSON *msg = NULL, *reply = NULL;
    uint64_t proto, slots;
    const char *name, *mac, *sid;
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
    if (strcmp(proto_type(msg), MSG_CONTROL) == 0) {
        nodeconn_control(c, msg, nonce);
        errf(why, whylen, "control");
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
    sid = json_str(msg, "share_id");
    if (sid == NULL || strcmp(sid, c->cfg->share_id) != 0) {
        errf(why, whylen,
             "node \"%s\" is not on this ambassador's share: its --share "
             "has %s%s, the ambassador's has %s (check --share and that the "
             "share is mounted there)",
             name, sid != NULL ? "share id " : "no share id",
             sid != NULL ? sid : "", c->cfg->share_id);
        log_warnx("%s; refused", why);
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
        /* From the welcome on, every frame both ways is signed. */
        auth_session_key(&c->cfg->secret, nonce, name, key);
        proto_key_start(&c->key, key, 1);
    }
    /* A name a live session holds is refused here, before any welcome:
     * an impostor learns nothing, and a node whose old session has not
     * ended yet backs off and tries again. */
    {
        char holder[NODECONN_PEER_MAX];
        if (nodenames_claim(c->names, name, c->session, c->peer, holder,
                            sizeof(holder)) == -1) {
            errf(why, whylen,
                 "node name \"%s\" is in use by the session "
                 "from %s",
                 name, holder[0] != '\0' ? holder : "(out of memory)");
            log_warnx("node %s: refused: %s", name, why);
            nodeconn_send_error_retry(c, why, 1);
            c->finished = 1;
            goto out;
        }
        c->named = 1;
    }
    snprintf(c->name, sizeof(c->name), "%s", name);
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
    if (ev != NULL) {
        struct ev_hello *h = &ev->u.hello;
        nodeconn_hello_held(cJSON_GetObjectItemCaseSensitive(msg, "held"), h);
        h->slots = (int)slots;
        snprintf(h->encoders, sizeof(h->encoders), "%s", encoders);
        snprintf(h->decoder, sizeof(h->decoder), "%s",
                 decoder != NULL ? decoder->valuestring : "cpu");
        snprintf(h->peer, sizeof(h->peer), "%s", c->peer);
    }
    nodeconn_emit(c, ev);
    rc = 0;
out:
    cJSON_Delete(msg);
    cJSON_Delete(reply);
    return rc;
}

/* One message from the node, after the handshake. 0, or -1 with why when
 * the session must end. */
static int
nodeconn_handle(struct nodeconn *c, const cJSON *msg, char *why, size_t whylen)
{
    const char *type = proto_type(msg);
    struct amb_event *ev;
    struct ev_result *r;
    uint64_t set, epoch, v;

    if (strcmp(type, MSG_HEARTBEAT) == 0) {
        if (json_u64(msg, "set", MANIFEST_MAX_SETS, &set) == 0 &&
            json_u64(msg, "frames", MANIFEST_MAX_FRAMES, &v) == 0 &&
            json_u64(msg, "epoch", NODECONN_MAX_EPOCH, &epoch) == 0) {
            ev = nodeconn_event(c, EV_PROGRESS);
            if (ev != NULL) {
                ev->u.set.set = (uint32_t)set;
                ev->u.set.epoch = epoch;
                ev->u.set.frames = v;
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
    if (strcmp(type, MSG_FAIL) == 0) {
        const char *e = json_str(msg, "error");
        ev = nodeconn_event(c, EV_FAIL);
        if (ev != NULL) {
            ev->u.set.set = (uint32_t)set;
            ev->u.set.epoch = epoch;
            snprintf(ev->u.set.text, sizeof(ev->u.set.text), "node error: %s",
                     e != NULL ? e : "(no reason given)");
            ev->u.set.nospace =
                cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(msg, "nospace"));
            ev->u.set.decline =
                cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(msg, "decline"));
            ev->u.set.share_io =
                cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(msg, "share_io"));
        }
        nodeconn_emit(c, ev);
        return 0;
    }
    ev = nodeconn_event(c, EV_DONE);
    if (ev == NULL)
        return 0;
    r = &ev->u.result;
    r->set = (uint32_t)set;
    r->epoch = epoch;
    if (json_strcpy(msg, "path", r->path, sizeof(r->path)) == -1 ||
        json_strcpy(msg, "sha256", r->sha256, sizeof(r->sha256)) == -1 ||
        json_u64(msg, "bytes", UINT64_MAX >> 11, &r->bytes) == -1 ||
        json_u64(msg, "frames", MANIFEST_MAX_FRAMES, &r->frames) == -1) {
        free(ev);
        errf(why, whylen,
             "protocol error: done without path, sha256, "
             "bytes or frames");
        return -1;
    }
    json_strcpy(msg, "encoder", r->encoder, sizeof(r->encoder));
    json_strcpy(msg, "preset", r->preset, sizeof(r->preset));
    json_strcpy(msg, "fallback", r->fallback, sizeof(r->fallback));
    if (json_u64(msg, "damaged", r->frames, &r->damaged) == -1)
        r->damaged = 0; /* absent (older nodes), or more than its frames */
    nodeconn_emit(c, ev);
    return 0;
}

/* Carry out one command from the loop. 1 = keep going, 0 = finish, -1 =
 * the connection broke. */
static int
nodeconn_command(struct nodeconn *c, struct node_cmd *cmd)
{
    int rc = 1;
    switch (cmd->type) {
    case CMD_SEND:
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

/* Tell the loop when the node turns silent past suspect_ms (no new work
 * for it) and when it is heard again. */
static void
nodeconn_check_suspect(struct nodeconn *c, uint64_t now)
{
    int suspect = now - c->last_rx_ms >= c->cfg->suspect_ms;
    struct amb_event *ev;
    if (suspect == c->suspect)
        return;
    c->suspect = suspect;
    ev = nodeconn_event(c, EV_SUSPECT);
    if (ev != NULL) {
        ev->u.suspect.on = suspect;
        ev->u.suspect.silent_ms = now - c->last_rx_ms;
    }
    nodeconn_emit(c, ev);
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
            c->trip = 1;
            return;
        }
        if (now >= c->next_hb_ms) {
            if (nodeconn_heartbeat(c) == -1) {
                errf(why, whylen, "disconnected (send failed: %s)",
                     strerror(errno));
                return;
            }
            c->next_hb_ms = now + c->cfg->hb_ms;
            c->last_tx_ms = now;
        }
        nodeconn_check_suspect(c, now);

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
            while ((r = proto_reader_next_keyed(&c->rd, &c->key, &msg, err,
                                                sizeof(err))) == 1) {
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
                c->trip = 1;
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
            /* Answer what the node sends (its heartbeat) with our
             * heartbeat once half a period has passed since our last, and
             * push our own timer a quarter period past the node's next
             * heartbeat: one wake-up a period for both directions instead
             * of two. The timer fires only for a node gone quiet, at most
             * 1.75 periods after our last heartbeat. */
            if (c->last_rx_ms - c->last_tx_ms >= c->cfg->hb_ms / 2) {
                if (nodeconn_heartbeat(c) == -1) {
                    errf(why, whylen, "disconnected (send failed: %s)",
                         strerror(errno));
                    return;
                }
                c->last_tx_ms = c->last_rx_ms;
            }
            c->next_hb_ms = c->last_rx_ms + c->cfg->hb_ms + c->cfg->hb_ms / 4;
            nodeconn_check_suspect(c, clock_now_ms());
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
        snprintf(ev->u.gone.text, sizeof(ev->u.gone.text), "%s", why);
        ev->u.gone.died = c->died;
        ev->u.gone.trip = c->trip;
    }
    nodeconn_emit(c, ev);
    /* After the loop has the session's end in its queue: a new session
     * of this name then reaches the core after it. */
    if (c->named)
        nodenames_release(c->names, c->name, c->session);
    return NULL;
}

struct nodeconn *
nodeconn_start(int fd, const char *peer, uint64_t session,
               const struct coord_config *cfg, struct evq *events,
               struct service *svc, struct nodenames *names)
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
    c->svc = svc;
    c->names = names;
    snprintf(c->peer, sizeof(c->peer), "%s", peer);
    proto_reader_init(&c->rd);
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
