/*
 * session.c - see session.h.
 */
#include "gpu-node/session.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/jsonutil.h"
#include "common/log.h"
#include "common/manifest.h"
#include "common/proto.h"
#include "common/sharepath.h"
#include "gpu-node/leasekeeper.h"
#include "gpu-node/worker.h"

#define SESSION_CONNECT_TIMEOUT_MS 3000
#define SESSION_BACKOFF_BASE_MS 250
#define SESSION_BACKOFF_CAP_MS 8000
#define SESSION_DEFAULT_HB_MS 1000
#define SESSION_DEFAULT_DEAD_MS 6000
#define SESSION_MAX_EPOCH PROTO_MAX_EPOCH
#define SESSION_IDLE_TICK_MS 100
#define SESSION_MAX_UNREPORTED (2 * NODE_MAX_SLOTS)

enum session_end {
    END_FINISHED_OK,
    END_FINISHED_FAILED,
    END_DISCONNECTED, /* reconnect */
    END_REFUSED,      /* give up: auth or protocol */
};

struct session {
    const struct node_config *cfg;
    int fd; /* -1 while disconnected */
    struct proto_reader rd;
    struct proto_key key; /* keyed: every frame after the hello is signed */
    struct evq *done;
    struct workers *workers; /* for the whole run: work survives a
                                lost connection */
    struct leasekeeper *lease;
    struct work *active[NODE_MAX_SLOTS]; /* borrowed while at a worker */
    struct work *unreported[SESSION_MAX_UNREPORTED]; /* finished while
                                                        disconnected */
    int nunreported;
    /* done sent on this connection, no result yet: a set is reported only
     * when the ambassador says so. They go back to unreported when the
     * connection ends (a done the ambassador never took, because it
     * refused this session or the link broke, is sent again). */
    struct work *awaiting[SESSION_MAX_UNREPORTED];
    int nawaiting;
    uint64_t hb_ms, dead_ms, fence_ms, grace_ms;
    uint64_t hb_seq;
    uint64_t last_rx_ms, next_hb_ms;
    uint64_t lost_ms; /* when the connection was lost; 0 when connected */
    uint64_t max_gen; /* the newest ambassador generation seen */
    int fenced;
    uint64_t rng;
};

static void session_publish_lease(struct session *s);
static int session_send_report(struct session *s, const struct work *w);

static uint64_t
session_rand(struct session *s)
{
    s->rng ^= s->rng << 13;
    s->rng ^= s->rng >> 7;
    s->rng ^= s->rng << 17;
    return s->rng;
}

static int
session_send(struct session *s, cJSON *msg)
{
    int rc = msg != NULL ? proto_send_keyed(s->fd, &s->key, msg) : -1;
    cJSON_Delete(msg);
    return rc;
}

/* Next message within timeout_ms: 1 = *msg, 0 = timeout, -1 = closed or
 * malformed. */
static int
session_recv(struct session *s, int timeout_ms, cJSON **msg)
{
    char err[ERR_MAX];
    uint64_t deadline = clock_now_ms() + (uint64_t)timeout_ms;
    for (;;) {
        int r = proto_reader_next_keyed(&s->rd, &s->key, msg, err, sizeof(err));
        struct pollfd pfd = {.fd = s->fd, .events = POLLIN};
        uint64_t now = clock_now_ms();
        if (r == -1)
            log_warnx("ambassador sent a bad frame: %s", err);
        if (r != 0)
            return r;
        if (now >= deadline)
            return 0;
        r = poll(&pfd, 1, (int)(deadline - now));
        if (r <= 0)
            continue;
        if (proto_reader_fill(&s->rd, s->fd) <= 0)
            return -1;
    }
}

static void
session_held_json(cJSON *arr, const struct work *w)
{
    cJSON *h;
    if (w == NULL || atomic_load(&w->cancel) ||
        (h = cJSON_CreateObject()) == NULL)
        return;
    json_add_u64(h, "set", w->m->set);
    json_add_u64(h, "epoch", w->epoch);
    cJSON_AddItemToArray(arr, h);
}

static cJSON *
session_hello(const struct session *s, const char *nonce)
{
    const struct node_config *c = s->cfg;
    cJSON *m = proto_msg_new(MSG_HELLO), *encs, *held;
    char mac[AUTH_MAC_HEX + 1];

    if (m == NULL)
        return NULL;
    json_add_u64(m, "proto", PROTO_VERSION);
    cJSON_AddStringToObject(m, "node", c->name);
    cJSON_AddStringToObject(m, "share_id", c->share_id);
    json_add_u64(m, "slots", (uint64_t)c->slots);
    cJSON_AddStringToObject(m, "decoder", c->decoder);
    encs = cJSON_AddArrayToObject(m, "encoders");
    for (size_t i = 0; encs != NULL && i < c->nenc; i++)
        if (c->enc[i].ok)
            cJSON_AddItemToArray(encs, cJSON_CreateString(c->enc[i].name));
    if (nonce != NULL) {
        auth_mac(&c->secret, nonce, mac);
        cJSON_AddStringToObject(m, "auth", mac);
    }
    /* Sets rendered or rendering from before a lost connection: the
     * ambassador reattaches those it still counts on us for. */
    held = cJSON_AddArrayToObject(m, "held");
    for (int i = 0; held != NULL && i < c->slots; i++)
        session_held_json(held, s->active[i]);
    for (int i = 0; held != NULL && i < s->nunreported; i++)
        session_held_json(held, s->unreported[i]);
    return m;
}

/* Challenge, hello, welcome. 0 ok; -1 retry; -2 refused for good. */
static int
session_handshake(struct session *s)
{
    cJSON *msg = NULL;
    const char *nonce = NULL;
    uint64_t v;
    int rc = -1;

    memset(&s->key, 0, sizeof(s->key)); /* a new connection: unkeyed */
    /* A live ambassador answers at once (its node thread does); one that
     * says nothing for the silence limit is frozen or gone, even though
     * its kernel accepted the connection: try again, maybe elsewhere
     * (coord/current may name a newer one by then). */
    if (s->cfg->keyed) {
        if (session_recv(s, (int)s->dead_ms, &msg) != 1 ||
            strcmp(proto_type(msg), MSG_CHALLENGE) != 0 ||
            (nonce = json_str(msg, "nonce")) == NULL) {
            log_warnx("ambassador sent no challenge (is it keyed with "
                      "--secret too?)");
            goto out;
        }
    }
    if (session_send(s, session_hello(s, nonce)) == -1)
        goto out;
    if (nonce != NULL) {
        /* From the welcome on, every frame both ways is signed. */
        unsigned char key[AUTH_KEY_LEN];
        auth_session_key(&s->cfg->secret, nonce, s->cfg->name, key);
        proto_key_start(&s->key, key, 0);
    }
    cJSON_Delete(msg);
    msg = NULL;
    if (session_recv(s, (int)s->dead_ms, &msg) != 1) {
        /* Say we leave on purpose: should the ambassador read our hello
         * later (it was frozen, or a relay held the bytes), a bare close
         * would read as our process dying and cost us our sets. */
        log_warnx("no welcome from the ambassador; detaching");
        session_send(s, proto_msg_new(MSG_DETACH));
        goto out;
    }
    if (strcmp(proto_type(msg), MSG_ERROR) == 0) {
        const char *e = json_str(msg, "msg");
        int retry = 0;
        json_bool(msg, "retry", &retry);
        log_warnx("ambassador refused us: %s%s", e != NULL ? e : "?",
                  retry ? "; trying again later" : "");
        rc = retry ? -1 : -2; /* a name still held: back off and retry */
        goto out;
    }
    if (strcmp(proto_type(msg), MSG_CHALLENGE) == 0) {
        log_warnx("the ambassador requires a shared secret and this node "
                  "has none: start it with --secret FILE (the same secret "
                  "as the ambassador's)");
        rc = -2;
        goto out;
    }
    if (strcmp(proto_type(msg), MSG_WELCOME) != 0) {
        log_warnx("expected welcome, got \"%s\"", proto_type(msg));
        goto out;
    }
    s->hb_ms = json_u64(msg, "heartbeat_ms", 600000, &v) == 0 && v > 0
                   ? v
                   : SESSION_DEFAULT_HB_MS;
    s->dead_ms = json_u64(msg, "dead_ms", 600000, &v) == 0 && v > 0
                     ? v
                     : SESSION_DEFAULT_DEAD_MS;
    /* An ambassador older than one we have seen was replaced: never take
     * its orders. */
    if (json_u64(msg, "generation", UINT32_MAX, &v) == 0) {
        if (v < s->max_gen) {
            log_warnx("ambassador generation %llu is older than %llu: "
                      "refusing it",
                      (unsigned long long)v, (unsigned long long)s->max_gen);
            goto out;
        }
        s->max_gen = v;
    }
    /* The ambassador owns the timings (one config, scaled in tests). */
    if (json_u64(msg, "fence_ms", 3600000, &v) == 0 && v > 0)
        s->fence_ms = v;
    if (json_u64(msg, "grace_ms", 3600000, &v) == 0 && v > 0)
        s->grace_ms = v;
    if (json_u64(msg, "lease_renew_ms", 3600000, &v) == 0 && v > 0)
        leasekeeper_set_period(s->lease, v);
    rc = 0;
out:
    cJSON_Delete(msg);
    return rc;
}

static void
session_report_fail(struct session *s, uint64_t set, uint64_t epoch,
                    const char *err, int decline)
{
    cJSON *m = proto_msg_new(MSG_FAIL);
    if (m == NULL)
        return;
    json_add_u64(m, "set", set);
    json_add_u64(m, "epoch", epoch);
    cJSON_AddStringToObject(m, "error", err);
    if (decline)
        cJSON_AddBoolToObject(m, "decline", 1);
    session_send(s, m);
}

static void
session_fail_set(struct session *s, uint64_t set, uint64_t epoch,
                 const char *err)
{
    session_report_fail(s, set, epoch, err, 0);
}

/* Refused for this node's own state (no free slot, fenced): the set is
 * not at fault and costs nothing. */
static void
session_decline_set(struct session *s, uint64_t set, uint64_t epoch,
                    const char *err)
{
    session_report_fail(s, set, epoch, err, 1);
}

static int
session_free_slot(const struct session *s)
{
    for (int i = 0; i < s->cfg->slots; i++)
        if (s->active[i] == NULL)
            return i;
    return -1;
}

/* An assign: check it, pick the encoder, hand it to a worker. */
static void
session_on_assign(struct session *s, const cJSON *msg)
{
    const struct node_config *c = s->cfg;
    char err[ERR_MAX];
    struct work *w = NULL;
    uint64_t set = 0, epoch = 0;
    int slot;

    if (json_u64(msg, "set", MANIFEST_MAX_SETS, &set) == -1 ||
        json_u64(msg, "epoch", SESSION_MAX_EPOCH, &epoch) == -1) {
        log_warnx("assign without set/epoch ignored");
        return;
    }
    w = calloc(1, sizeof(*w));
    if (w == NULL) {
        session_fail_set(s, set, epoch, "out of memory");
        return;
    }
    if (manifest_from_json(cJSON_GetObjectItemCaseSensitive(msg, "manifest"),
                           &w->m, err, sizeof(err)) == -1 ||
        w->m->set != set || w->m->epoch != epoch) {
        if (w->m != NULL)
            snprintf(err, sizeof(err), "manifest does not match the assign");
        log_warnx("set %llu epoch %llu: bad manifest: %s",
                  (unsigned long long)set, (unsigned long long)epoch, err);
        session_fail_set(s, set, epoch, err);
        goto fail;
    }
    if (encsel_assign(c->sel, w, clock_now_ms(), err, sizeof(err)) == -1) {
        log_warnx("job %s set %llu epoch %llu: %s", w->m->job,
                  (unsigned long long)set, (unsigned long long)epoch, err);
        session_fail_set(s, set, epoch, err);
        goto fail;
    }
    w->epoch = epoch;
    w->threads = c->threads;
    w->share = c->share;
    w->share_id = c->share_id;
    w->decoder = c->decoder;
    w->fault_decoder = c->fault_decoder;
    if (sharepath_result(NULL, w->m->job, w->m->set, epoch, c->name, w->rel,
                         sizeof(w->rel)) == -1 ||
        fs_join(w->out, sizeof(w->out), c->share, w->rel) == -1 ||
        fs_join(w->zip, sizeof(w->zip), c->share, w->m->zip) == -1) {
        session_fail_set(s, set, epoch, "path too long");
        goto fail;
    }
    slot = session_free_slot(s);
    if (s->fenced) {
        session_decline_set(s, set, epoch,
                            "node is fenced (lease not renewed)");
        goto fail;
    }
    if (slot < 0 || workers_submit(s->workers, w) == -1) {
        session_decline_set(s, set, epoch, "no free render slot");
        goto fail;
    }
    s->active[slot] = w;
    session_publish_lease(s);
    log_info("job %s set %llu epoch %llu: rendering %zu frames with %s",
             w->m->job, (unsigned long long)set, (unsigned long long)epoch,
             w->m->count, w->encoder);
    return;
fail:
    work_free(w);
}

/* Tell the lease keeper what we hold: rendering or rendered, unreported. */
static void
session_publish_lease(struct session *s)
{
    struct lease_held held[LEASE_MAX_HELD];
    uint32_t n = 0;
    for (int i = 0; i < s->cfg->slots && n < LEASE_MAX_HELD; i++) {
        if (s->active[i] == NULL || atomic_load(&s->active[i]->cancel))
            continue;
        held[n].set = s->active[i]->m->set;
        held[n++].epoch = s->active[i]->epoch;
    }
    for (int i = 0; i < s->nunreported && n < LEASE_MAX_HELD; i++) {
        held[n].set = s->unreported[i]->m->set;
        held[n++].epoch = s->unreported[i]->epoch;
    }
    for (int i = 0; i < s->nawaiting && n < LEASE_MAX_HELD; i++) {
        held[n].set = s->awaiting[i]->m->set;
        held[n++].epoch = s->awaiting[i]->epoch;
    }
    leasekeeper_set(s->lease, held, n,
                    s->fenced ? LEASE_FENCED : LEASE_RUNNING);
}

static void
session_forget(struct session *s, const struct work *w)
{
    for (int i = 0; i < s->cfg->slots; i++)
        if (s->active[i] == w)
            s->active[i] = NULL;
}

/* Report a finished work, which is ours (it is freed, or kept awaiting
 * its result). 0, or -1 when the send failed. */
static int
session_report(struct session *s, struct work *w)
{
    int rc = session_send_report(s, w);
    if (rc == 0 && w->ok && s->nawaiting < SESSION_MAX_UNREPORTED)
        s->awaiting[s->nawaiting++] = w;
    else if (rc == -1 && w->ok && s->nunreported < SESSION_MAX_UNREPORTED)
        s->unreported[s->nunreported++] = w; /* the next session sends it */
    else
        work_free(w);
    return rc;
}

/* The done or fail message for w. 0, or -1 when the send failed. */
static int
session_send_report(struct session *s, const struct work *w)
{
    cJSON *m;
    if (!w->ok) {
        m = proto_msg_new(MSG_FAIL);
        if (m != NULL) {
            json_add_u64(m, "set", w->m->set);
            json_add_u64(m, "epoch", w->epoch);
            cJSON_AddStringToObject(m, "error", w->err);
            /* The share is full: the environment refused, not the set. */
            if (err_is_nospace(w->err))
                cJSON_AddBoolToObject(m, "nospace", 1);
            /* Its share was gone: this node's trouble, not the set's. */
            if (w->decline)
                cJSON_AddBoolToObject(m, "decline", 1);
            /* The share failed under the render: a loss, not a failure. */
            else if (w->share_io)
                cJSON_AddBoolToObject(m, "share_io", 1);
        }
        return session_send(s, m);
    }
    m = proto_msg_new(MSG_DONE);
    if (m != NULL) {
        json_add_u64(m, "set", w->m->set);
        json_add_u64(m, "epoch", w->epoch);
        cJSON_AddStringToObject(m, "path", w->rel);
        json_add_u64(m, "bytes", w->res.bytes);
        cJSON_AddStringToObject(m, "sha256", w->res.sha256);
        json_add_u64(m, "frames", w->res.frames);
        cJSON_AddStringToObject(m, "encoder", w->res.encoder);
        cJSON_AddStringToObject(m, "preset", w->m->enc.preset);
        if (w->fallback[0] != '\0')
            cJSON_AddStringToObject(m, "fallback", w->fallback);
        if (w->res.damaged > 0)
            json_add_u64(m, "damaged", w->res.damaged);
    }
    return session_send(s, m);
}

/* Collect what the workers finished: report it now when connected, keep
 * it for the next connection otherwise; drop what was cancelled. Returns
 * -1 when a report could not be sent (the connection broke). */
static int
session_collect(struct session *s)
{
    struct work *w;
    int rc = 0;
    while ((w = evq_pop(s->done)) != NULL) {
        session_forget(s, w);
        if (atomic_load(&w->cancel)) {
            work_free(w); /* fenced, abandoned or cancelled: never sent */
            continue;
        }
        if (w->ok && w->res.hw_error[0] != '\0')
            log_warnx("job %s set %u epoch %llu: %s decoded %llu of %llu "
                      "pictures, the CPU the rest; first failure: %s",
                      w->m->job, w->m->set, (unsigned long long)w->epoch,
                      s->cfg->decoder, (unsigned long long)w->res.hw_decoded,
                      (unsigned long long)w->res.frames, w->res.hw_error);
        if (w->ok) {
            char dec[ERR_MAX] = "";
            if (strcmp(s->cfg->decoder, DECPROBE_CPU) != 0)
                snprintf(
                    dec, sizeof(dec),
                    " (JPEGs: %llu on %s, %llu on the "
                    "CPU)",
                    (unsigned long long)w->res.hw_decoded, s->cfg->decoder,
                    (unsigned long long)(w->res.frames - w->res.hw_decoded));
            log_info("job %s set %u epoch %llu: rendered %llu frames, %llu "
                     "bytes with %s%s",
                     w->m->job, w->m->set, (unsigned long long)w->epoch,
                     (unsigned long long)w->res.frames,
                     (unsigned long long)w->res.bytes, w->res.encoder, dec);
        } else
            log_warnx("job %s set %u epoch %llu: render failed: %s", w->m->job,
                      w->m->set, (unsigned long long)w->epoch, w->err);
        if (s->fd != -1 && rc == 0) {
            rc = session_report(s, w);
        } else if (s->nunreported < SESSION_MAX_UNREPORTED) {
            s->unreported[s->nunreported++] = w;
        } else {
            work_free(w);
        }
    }
    session_publish_lease(s);
    return rc;
}

/* Cancel everything in hand (fenced, abandoned, or the job is over). */
static void
session_drop_all(struct session *s, const char *why)
{
    int n = s->nunreported;
    for (int i = 0; i < s->cfg->slots; i++) {
        if (s->active[i] != NULL) {
            atomic_store(&s->active[i]->cancel, 1);
            n++;
        }
    }
    for (int i = 0; i < s->nunreported; i++)
        work_free(s->unreported[i]);
    s->nunreported = 0;
    n += s->nawaiting;
    for (int i = 0; i < s->nawaiting; i++)
        work_free(s->awaiting[i]);
    s->nawaiting = 0;
    if (n > 0 && why != NULL)
        log_warnx("%s: dropping %d set(s); they will not be published", why, n);
    session_publish_lease(s);
}

/* Fence ourselves when the lease could not be renewed for fence_ms: the
 * ambassador may reclaim our sets after its own, longer, deadline, so we
 * must have stopped first. Touches no file. */
static void
session_check_fence(struct session *s)
{
    uint64_t age = clock_now_ms() - leasekeeper_last_ok(s->lease);
    int lost = leasekeeper_share_lost(s->lease);
    if (!s->fenced && (age >= s->fence_ms || lost)) {
        char why[96];
        if (lost)
            snprintf(why, sizeof(why), "fenced: the share is gone");
        else
            snprintf(why, sizeof(why), "fenced: lease not renewed for %llu ms",
                     (unsigned long long)age);
        s->fenced = 1;
        session_drop_all(s, why);
    } else if (s->fenced && age < s->fence_ms && !lost) {
        s->fenced = 0;
        log_info("lease renewed again; taking work again");
        session_publish_lease(s);
    }
}

/* While disconnected: give up the work after grace_ms. */
static void
session_check_grace(struct session *s)
{
    if (s->lost_ms == 0 || clock_now_ms() - s->lost_ms < s->grace_ms)
        return;
    session_drop_all(s, "ambassador unreachable past the grace period");
    s->lost_ms = clock_now_ms(); /* nothing left to drop until new work */
}

/* After welcome: report what finished while we were away. */
static int
session_flush_unreported(struct session *s)
{
    struct work *todo[SESSION_MAX_UNREPORTED];
    int n = s->nunreported, rc = 0;
    memcpy(todo, s->unreported, sizeof(todo[0]) * (size_t)n);
    s->nunreported = 0;
    for (int i = 0; i < n; i++) {
        if (rc == 0)
            rc = session_report(s, todo[i]); /* keeps it, or frees it */
        else if (s->nunreported < SESSION_MAX_UNREPORTED)
            s->unreported[s->nunreported++] = todo[i];
        else
            work_free(todo[i]);
    }
    session_publish_lease(s);
    return rc;
}

/* Forget (set, epoch) in list[0..*n): cancelled, or its result came. */
static void
session_settle(struct work **list, int *n, uint64_t set, uint64_t epoch)
{
    for (int i = 0; i < *n; i++) {
        struct work *w = list[i];
        if (w->m->set == set && w->epoch == epoch) {
            work_free(w);
            list[i] = list[--*n];
            i--;
        }
    }
}

/* The connection ended: what we sent and heard nothing about is sent
 * again on the next one (and listed as held in its hello). */
static void
session_requeue(struct session *s)
{
    for (int i = 0; i < s->nawaiting; i++) {
        if (s->nunreported < SESSION_MAX_UNREPORTED)
            s->unreported[s->nunreported++] = s->awaiting[i];
        else
            work_free(s->awaiting[i]);
    }
    s->nawaiting = 0;
    session_publish_lease(s);
}

static void
session_on_cancel(struct session *s, const cJSON *msg)
{
    uint64_t set, epoch;
    if (json_u64(msg, "set", MANIFEST_MAX_SETS, &set) == -1 ||
        json_u64(msg, "epoch", SESSION_MAX_EPOCH, &epoch) == -1)
        return;
    for (int i = 0; i < s->cfg->slots; i++) {
        struct work *w = s->active[i];
        if (w != NULL && w->m->set == set && w->epoch == epoch) {
            atomic_store(&w->cancel, 1);
            log_info("set %llu epoch %llu: cancelled by the ambassador",
                     (unsigned long long)set, (unsigned long long)epoch);
        }
    }
    session_settle(s->unreported, &s->nunreported, set, epoch);
    session_settle(s->awaiting, &s->nawaiting, set, epoch);
    session_publish_lease(s);
}

static int
session_heartbeat(struct session *s)
{
    cJSON *m = proto_msg_new(MSG_HEARTBEAT);
    if (m == NULL)
        return -1;
    json_add_u64(m, "seq", ++s->hb_seq);
    for (int i = 0; i < s->cfg->slots; i++) {
        struct work *w = s->active[i];
        if (w == NULL)
            continue;
        json_add_u64(m, "set", w->m->set);
        json_add_u64(m, "epoch", w->epoch);
        json_add_u64(m, "frames", atomic_load(&w->progress));
        break;
    }
    return session_send(s, m);
}

/* One message from the ambassador. END_* when the session ends, else -1. */
static int
session_handle(struct session *s, const cJSON *msg)
{
    const char *type = proto_type(msg);
    int ok;

    if (strcmp(type, MSG_HEARTBEAT) == 0)
        return -1;
    if (strcmp(type, MSG_ASSIGN) == 0) {
        session_on_assign(s, msg);
        return -1;
    }
    if (strcmp(type, MSG_CANCEL) == 0) {
        session_on_cancel(s, msg);
        return -1;
    }
    if (strcmp(type, MSG_RESULT) == 0) {
        uint64_t set = 0, epoch = 0;
        if (json_u64(msg, "set", MANIFEST_MAX_SETS, &set) == 0 &&
            json_u64(msg, "epoch", SESSION_MAX_EPOCH, &epoch) == 0) {
            session_settle(s->awaiting, &s->nawaiting, set, epoch);
            session_publish_lease(s);
        }
        if (json_bool(msg, "accepted", &ok) == 0 && !ok) {
            const char *r = json_str(msg, "reason");
            log_warnx("set %llu epoch %llu: result rejected: %s",
                      (unsigned long long)set, (unsigned long long)epoch,
                      r != NULL ? r : "?");
        }
        return -1;
    }
    if (strcmp(type, MSG_FINISH) == 0) {
        ok = 0;
        json_bool(msg, "ok", &ok);
        if (!ok) {
            const char *e = json_str(msg, "error");
            log_warnx("the job failed: %s", e != NULL ? e : "?");
        }
        return ok ? END_FINISHED_OK : END_FINISHED_FAILED;
    }
    if (strcmp(type, MSG_JOBEND) == 0) {
        const char *job = json_str(msg, "job");
        ok = 0;
        json_bool(msg, "ok", &ok);
        log_info("job %s is over (%s)%s", job != NULL ? job : "?",
                 ok ? "done" : "failed",
                 s->cfg->once ? "; --once: exiting"
                              : "; waiting for the next one");
        if (s->cfg->once)
            return ok ? END_FINISHED_OK : END_FINISHED_FAILED;
        return -1;
    }
    if (strcmp(type, MSG_ERROR) == 0) {
        const char *e = json_str(msg, "msg");
        log_warnx("ambassador error: %s", e != NULL ? e : "?");
        return END_DISCONNECTED;
    }
    log_warnx("ignoring unknown message \"%.32s\"", type);
    return -1;
}

static int
session_serve(struct session *s)
{
    char err[ERR_MAX];
    s->last_rx_ms = clock_now_ms();
    s->next_hb_ms = s->last_rx_ms;
    s->lost_ms = 0;
    if (session_flush_unreported(s) == -1)
        return END_DISCONNECTED;

    for (;;) {
        uint64_t now = clock_now_ms();
        struct pollfd pfd[2] = {{.fd = s->fd, .events = POLLIN},
                                {.fd = evq_fd(s->done), .events = POLLIN}};
        cJSON *msg;
        int r, timeout;

        session_check_fence(s);
        if (s->fenced) {
            /* No work may be taken or kept: leave the session (the
             * ambassador reclaims what we held by our lease) and come back
             * once the lease renews. */
            log_warnx("detaching while fenced");
            session_send(s, proto_msg_new(MSG_DETACH));
            return END_DISCONNECTED;
        }
        if (now - s->last_rx_ms >= s->dead_ms) {
            log_warnx("ambassador silent for %llu ms; detaching and "
                      "reconnecting (work in hand goes on)",
                      (unsigned long long)(now - s->last_rx_ms));
            session_send(s, proto_msg_new(MSG_DETACH));
            return END_DISCONNECTED;
        }
        if (now >= s->next_hb_ms) {
            if (session_heartbeat(s) == -1)
                return END_DISCONNECTED;
            s->next_hb_ms = now + s->hb_ms;
        }
        /* Handle what is already read before waiting for more: the read
         * that brought the welcome often brought the first assign with
         * it, and poll() would sit on it until the next heartbeat. */
        while ((r = proto_reader_next_keyed(&s->rd, &s->key, &msg, err,
                                            sizeof(err))) == 1) {
            int end = session_handle(s, msg);
            cJSON_Delete(msg);
            if (end >= 0)
                return end;
        }
        if (r == -1) {
            log_warnx("ambassador sent a bad frame: %s", err);
            return END_DISCONNECTED;
        }
        timeout = (int)(s->next_hb_ms - now);
        r = poll(pfd, 2, timeout);
        if (r == -1 && errno != EINTR)
            return END_DISCONNECTED;
        if (session_collect(s) == -1)
            return END_DISCONNECTED;
        if (pfd[0].revents == 0)
            continue;
        if (proto_reader_fill(&s->rd, s->fd) <= 0) {
            log_warnx("connection to the ambassador lost; work in hand goes "
                      "on for up to %llu s",
                      (unsigned long long)(s->grace_ms / 1000));
            return END_DISCONNECTED;
        }
        s->last_rx_ms = clock_now_ms();
    }
}

/* Wait up to ms while keeping the node's duties: collect finished work,
 * fence, and give up work past the grace period. */
static void
session_idle(struct session *s, uint64_t ms)
{
    uint64_t end = clock_now_ms() + ms;
    for (;;) {
        uint64_t now = clock_now_ms();
        struct pollfd pfd = {.fd = evq_fd(s->done), .events = POLLIN};
        session_collect(s);
        session_check_fence(s);
        session_check_grace(s);
        if (now >= end)
            return;
        poll(&pfd, 1,
             (int)(end - now < SESSION_IDLE_TICK_MS ? end - now
                                                    : SESSION_IDLE_TICK_MS));
    }
}

/* Connect, retrying with capped exponential backoff and full jitter,
 * until deadline. The fd, or -1. */
static int
session_connect(struct session *s, uint64_t deadline)
{
    uint64_t backoff = SESSION_BACKOFF_BASE_MS;
    int logged = 0;
    for (;;) {
        char host[NET_HOST_MAX], err[ERR_MAX];
        int port = s->cfg->port, fd;
        uint64_t gen = 0;
        /* The share names the current ambassador (after a restart on
         * another port, or a standby's takeover); else the one we were
         * told. */
        snprintf(host, sizeof(host), "%s", s->cfg->host);
        if (!leasekeeper_current(s->lease, host, sizeof(host), &port, &gen) ||
            gen < s->max_gen) {
            snprintf(host, sizeof(host), "%s", s->cfg->host);
            port = s->cfg->port;
        }
        fd = net_connect(host, port, SESSION_CONNECT_TIMEOUT_MS, err,
                         sizeof(err));
        uint64_t now = clock_now_ms();
        if (fd != -1) {
            net_tune(fd, &s->cfg->tcp);
            return fd;
        }
        if (!logged) {
            log_info("ambassador %s:%d not reachable (%s); retrying", host,
                     port, err);
            logged = 1;
        }
        if (now >= deadline)
            return -1;
        uint64_t sleep_ms = session_rand(s) % (backoff + 1);
        if (now + sleep_ms > deadline)
            sleep_ms = deadline - now;
        session_idle(s, sleep_ms);
        if (backoff < SESSION_BACKOFF_CAP_MS)
            backoff *= 2;
    }
}

int
session_run(const struct node_config *cfg)
{
    struct session s;
    uint64_t backoff = SESSION_BACKOFF_BASE_MS, give_up;
    int rc = -1;

    memset(&s, 0, sizeof(s));
    s.cfg = cfg;
    s.fd = -1;
    s.rng = clock_now_ms() ^ ((uint64_t)getpid() << 32) ^ 0x2545f4914f6cdd1dull;
    s.hb_ms = SESSION_DEFAULT_HB_MS;
    s.dead_ms = SESSION_DEFAULT_DEAD_MS;
    s.fence_ms = NODE_DEFAULT_FENCE_MS;
    s.grace_ms = NODE_DEFAULT_GRACE_MS;
    s.done = evq_new();
    s.lease = leasekeeper_start(cfg->share, cfg->share_id, cfg->name,
                                NODE_DEFAULT_LEASE_RENEW_MS);
    s.workers = s.done != NULL ? workers_start(cfg->slots, s.done) : NULL;
    if (s.done == NULL || s.lease == NULL || s.workers == NULL) {
        log_warnx("cannot start the node's threads");
        goto out;
    }
    give_up = clock_now_ms() + cfg->retry_ms;
    for (;;) {
        int end, h;
        uint64_t started;
        s.fd = session_connect(&s, give_up);
        if (s.fd == -1) {
            log_warnx("giving up: no working session with the ambassador "
                      "%s:%d for %llu s",
                      cfg->host, cfg->port,
                      (unsigned long long)(cfg->retry_ms / 1000));
            break;
        }
        started = clock_now_ms();
        proto_reader_init(&s.rd);
        h = session_handshake(&s);
        if (h == 0) {
            log_info("connected to the ambassador at %s:%d", cfg->host,
                     cfg->port);
            end = session_serve(&s);
        } else {
            end = h == -2 ? END_REFUSED : END_DISCONNECTED;
        }
        proto_reader_fini(&s.rd);
        close(s.fd);
        s.fd = -1;
        session_requeue(&s);
        if (s.lost_ms == 0)
            s.lost_ms = clock_now_ms();
        if (end == END_FINISHED_OK || end == END_FINISHED_FAILED) {
            log_info("job finished; exiting");
            rc = end == END_FINISHED_OK ? 0 : 1;
            break;
        }
        if (end == END_REFUSED)
            break;
        /* A session that lasted was healthy: start the patience and the
         * backoff afresh. One that ended at once (refused, say, because
         * our old session is still live there) backs off exponentially. */
        if (clock_now_ms() - started > 2 * s.dead_ms) {
            backoff = SESSION_BACKOFF_BASE_MS;
            give_up = clock_now_ms() + cfg->retry_ms;
        } else if (backoff < SESSION_BACKOFF_CAP_MS) {
            backoff *= 2;
        }
        if (clock_now_ms() >= give_up) {
            log_warnx("giving up: no working session with the ambassador "
                      "for %llu s",
                      (unsigned long long)(cfg->retry_ms / 1000));
            break;
        }
        session_idle(&s, session_rand(&s) % (backoff + 1));
        while (s.fenced)
            session_idle(&s, SESSION_IDLE_TICK_MS);
    }
out:
    if (s.workers != NULL) {
        session_drop_all(&s, NULL);
        workers_free(s.workers);
        session_collect(&s); /* frees what came back */
    }
    for (int i = 0; i < s.nunreported; i++)
        work_free(s.unreported[i]);
    for (int i = 0; i < s.nawaiting; i++)
        work_free(s.awaiting[i]);
    leasekeeper_free(s.lease);
    evq_free(s.done, work_free);
    return rc;
}
