/*
 * ambassador.c - see ambassador.h.
 *
 * Every event is handled to completion before the next: the set table and
 * node table change only here, so there are no locks on them. A node
 * session is identified by a number that is never reused; an assignment by
 * (set, epoch). A result is counted only if the set is still in B at that
 * epoch when the done arrives and when its check comes back.
 */
#include "coordinator/ambassador.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/evq.h"
#include "common/jsonutil.h"
#include "common/log.h"
#include "common/proto.h"
#include "coordinator/checker.h"
#include "coordinator/events.h"
#include "coordinator/journaler.h"
#include "coordinator/jrec.h"
#include "coordinator/liveness.h"
#include "coordinator/nodeconn.h"
#include "coordinator/sets.h"
#include "coordinator/sharewatch.h"

#define AMB_TICK_MS 100
#define AMB_PROGRESS_MS 250
#define AMB_FINISH_GRACE_MS 3000
#define AMB_CRASH_ENV "FRAMEFARM_CRASH_AT"
#define AMB_CRASH_EXIT 97

struct amb_node {
    uint64_t session;
    struct nodeconn *conn;
    char name[IDENT_MAX + 1];
    char peer[64];
    char encoders[EV_ENCODERS_MAX];
    char breaker[16];
    int hello;
    int wants;
    int lease_stale; /* told its thread (CMD_LEASE) */
    uint64_t counted;
    struct amb_node *next;
};

/* What the loop knows of a node name across its sessions: its lease and
 * whether it can still be heard (liveness.h decides from that). */
struct amb_peer {
    char name[IDENT_MAX + 1];
    struct liveness lv;
    struct lease last; /* the last valid lease record read */
    int have_last;
    uint32_t advances_since_lost;
    struct breaker br; /* its breaker when its last session ended */
    int have_br;
    struct amb_peer *next;
};

/* An action that waits for the journal: a message to a node, the start of
 * the concat, or the end of the job. */
enum amb_def_type { DEF_SEND, DEF_CONCAT, DEF_DONE, DEF_LOG };
struct amb_deferred {
    enum amb_def_type type;
    uint64_t session;
    struct node_cmd *cmd; /* DEF_SEND, owned */
    char **paths;         /* DEF_CONCAT, owned */
    size_t npaths;
    char *text; /* DEF_LOG, owned */
    struct amb_deferred *next;
};

struct ambassador {
    const struct coord_config *cfg;
    const struct job *job;
    int lfd;
    struct evq *events;
    struct checker *checker;
    struct set_table *sets;
    uint64_t *progress; /* frames done per set, current attempt */
    char **accepted;    /* rel path of the counted result per set */
    struct vidinfo first_info;
    int have_first_info;
    struct amb_node *nodes;
    struct amb_peer *peers;
    struct journaler *journaler;
    char **batch; /* records of this loop turn, for the journaler */
    size_t nbatch, capbatch;
    struct amb_deferred *after, **after_tail; /* this turn's actions */
    uint64_t inflight;    /* batches handed to the journaler, not yet back */
    int direct;           /* sends go out at once (the job is over) */
    const char *crash_at; /* test hook: FRAMEFARM_CRASH_AT */
    struct sharewatch *watch;
    uint64_t share_ok_ms;      /* when the share probe last answered */
    int share_sick;            /* logged state */
    uint64_t share_healthy_ms; /* when the share last became healthy */
    int share_seen;            /* the probe has answered at least once */
    uint64_t next_orphan_check_ms;
    uint64_t next_session;
    uint64_t rr; /* round-robin start for dispatch */
    int concat_started;
    int finished; /* 1 done, -1 failed */
    char report[ERR_MAX * 2];
    uint64_t last_progress_ms;
    char last_progress[128];
    struct amb_stats st;
};

static struct amb_peer *amb_peer_get(struct ambassador *a, const char *name,
                                     uint64_t now);

struct ambassador *
ambassador_new(const struct coord_config *cfg, const struct job *job, int lfd,
               struct jrec_state *restored, struct journal *jr, uint64_t gen)
{
    struct ambassador *a = calloc(1, sizeof(*a));
    uint64_t now = clock_now_ms();
    if (a == NULL)
        return NULL;
    a->cfg = cfg;
    a->job = job;
    a->lfd = lfd;
    a->next_session = 1;
    a->after_tail = &a->after;
    a->crash_at = getenv(AMB_CRASH_ENV);
    a->events = evq_new();
    if (restored != NULL && restored->sets != NULL) {
        /* Resume: the replayed table and counted paths become ours. */
        a->sets = restored->sets;
        a->accepted = restored->accepted;
        restored->sets = NULL;
        restored->accepted = NULL;
    } else {
        a->sets = set_table_new(job->nsets);
        a->accepted = calloc(job->nsets, sizeof(*a->accepted));
    }
    a->progress = calloc(job->nsets, sizeof(*a->progress));
    if (a->events == NULL || a->sets == NULL || a->progress == NULL ||
        a->accepted == NULL) {
        journal_close(jr);
        ambassador_free(a);
        return NULL;
    }
    /* Sets that were Processing when the last ambassador stopped wait for
     * their nodes to come back with them, as after a lost session. */
    for (uint32_t i = 0; i < job->nsets; i++) {
        const struct set_info *si = set_table_get(a->sets, i);
        struct amb_peer *p;
        if (si->status != SET_PROCESSING)
            continue;
        p = amb_peer_get(a, si->holder_name, now);
        if (p != NULL)
            liveness_lost(&p->lv, false, now);
    }
    a->share_ok_ms = now;
    a->checker = checker_start(a->events);
    a->watch = sharewatch_start(job->share, cfg->share_poll_ms, a->events);
    a->journaler = journaler_start(jr, job->share, gen, a->events);
    if (a->journaler != NULL)
        journaler_set_compact_bytes(a->journaler, cfg->journal_compact_bytes);
    if (a->checker == NULL || a->watch == NULL || a->journaler == NULL) {
        if (a->journaler == NULL)
            journal_close(jr);
        ambassador_free(a);
        return NULL;
    }
    return a;
}

const struct amb_stats *
ambassador_stats(const struct ambassador *a)
{
    return &a->st;
}

static struct amb_node *
amb_node_find(struct ambassador *a, uint64_t session)
{
    for (struct amb_node *n = a->nodes; n != NULL; n = n->next)
        if (n->session == session)
            return n;
    return NULL;
}

static void
amb_node_remove(struct ambassador *a, struct amb_node *node)
{
    for (struct amb_node **p = &a->nodes; *p != NULL; p = &(*p)->next) {
        if (*p == node) {
            *p = node->next;
            break;
        }
    }
    nodeconn_free(node->conn);
    free(node);
}

static struct amb_peer *
amb_peer_find(struct ambassador *a, const char *name)
{
    for (struct amb_peer *p = a->peers; p != NULL; p = p->next)
        if (strcmp(p->name, name) == 0)
            return p;
    return NULL;
}

static struct amb_peer *
amb_peer_get(struct ambassador *a, const char *name, uint64_t now)
{
    struct amb_peer *p = amb_peer_find(a, name);
    if (p != NULL)
        return p;
    p = calloc(1, sizeof(*p));
    if (p == NULL)
        return NULL;
    snprintf(p->name, sizeof(p->name), "%s", name);
    liveness_init(&p->lv, now);
    p->next = a->peers;
    a->peers = p;
    return p;
}

/* Nothing is dispatched or reclaimed by lease before the share has
 * answered once, nor after it has been silent for share_suspect_ms. */
static int
amb_share_ok(const struct ambassador *a, uint64_t now)
{
    return a->share_seen && now - a->share_ok_ms < a->cfg->share_suspect_ms;
}

static void
amb_defer(struct ambassador *a, struct amb_deferred *d)
{
    *a->after_tail = d;
    a->after_tail = &d->next;
}

/* Messages to nodes follow the journal: they go out once everything
 * decided before them in this loop turn is durable. */
static void
amb_send(struct ambassador *a, struct amb_node *node, enum node_cmd_type type,
         uint32_t set, uint64_t epoch, int ok, cJSON *msg)
{
    struct node_cmd *cmd = calloc(1, sizeof(*cmd));
    struct amb_deferred *d;
    if (cmd == NULL) {
        cJSON_Delete(msg);
        return;
    }
    cmd->type = type;
    cmd->set = set;
    cmd->epoch = epoch;
    cmd->ok = ok;
    cmd->msg = msg;
    if (a->direct) {
        nodeconn_send(node->conn, cmd);
        return;
    }
    d = calloc(1, sizeof(*d));
    if (d == NULL) {
        node_cmd_free(cmd);
        return;
    }
    d->type = DEF_SEND;
    d->session = node->session;
    d->cmd = cmd;
    amb_defer(a, d);
}

/* Add a record to this loop turn's batch. */
static void
amb_record(struct ambassador *a, const struct jrec *r)
{
    char *text = jrec_encode(r);
    if (text == NULL) {
        log_warn("journal record: out of memory");
        exit(1);
    }
    if (a->nbatch == a->capbatch) {
        size_t cap = a->capbatch ? a->capbatch * 2 : JOURNALER_MAX_BATCH;
        char **nb = realloc(a->batch, cap * sizeof(*nb));
        if (nb == NULL) {
            log_warn("journal batch: out of memory");
            exit(1);
        }
        a->batch = nb;
        a->capbatch = cap;
    }
    a->batch[a->nbatch++] = text;
}

static void
amb_record_set(struct ambassador *a, enum jrec_type type, uint32_t set,
               uint64_t epoch, const char *node, const char *why)
{
    struct jrec r;
    memset(&r, 0, sizeof(r));
    r.type = type;
    r.set = set;
    r.epoch = epoch;
    snprintf(r.node, sizeof(r.node), "%s", node);
    if (why != NULL)
        snprintf(r.text, sizeof(r.text), "%.*s", (int)sizeof(r.text) - 1, why);
    amb_record(a, &r);
}

static void amb_flush(struct ambassador *a);

/* The journal grew past its limit: hand the journaler a snapshot of the
 * state after everything already queued (this turn's records go first),
 * which replaces the file. */
static void
amb_compact(struct ambassador *a)
{
    struct jrec r;
    char **recs;
    size_t n = 0;

    amb_flush(a);
    recs = calloc((size_t)a->job->nsets + 3, sizeof(*recs));
    if (recs == NULL)
        return;
    memset(&r, 0, sizeof(r));
    r.type = JREC_JOB;
    snprintf(r.job, sizeof(r.job), "%s", a->job->id);
    r.sets = a->job->nsets;
    r.frames = a->job->frames->count;
    r.gen = a->cfg->gen;
    recs[n++] = jrec_encode(&r);
    r.type = JREC_GEN;
    recs[n++] = jrec_encode(&r);
    for (uint32_t i = 0; i < a->job->nsets; i++) {
        const struct set_info *si = set_table_get(a->sets, i);
        if (si->status == SET_AVAILABLE && si->epoch == 0)
            continue; /* untouched: the job record implies it */
        memset(&r, 0, sizeof(r));
        r.type = JREC_SET;
        r.set = i;
        r.info = *si;
        if (si->status == SET_COUNTED)
            snprintf(r.path, sizeof(r.path), "%s", a->accepted[i]);
        recs[n++] = jrec_encode(&r);
    }
    if (a->concat_started) {
        memset(&r, 0, sizeof(r));
        r.type = JREC_CONCAT;
        recs[n++] = jrec_encode(&r);
    }
    for (size_t i = 0; i < n; i++) {
        if (recs[i] == NULL) {
            for (size_t k = 0; k < n; k++)
                free(recs[k]);
            free(recs);
            return;
        }
    }
    journaler_compact(a->journaler, recs, n);
}

/* Hand this turn's records and actions to the journaler. */
static void
amb_flush(struct ambassador *a)
{
    if (a->nbatch == 0 && a->after == NULL)
        return;
    journaler_write(a->journaler, a->batch, a->nbatch, a->after);
    a->batch = NULL;
    a->nbatch = a->capbatch = 0;
    a->after = NULL;
    a->after_tail = &a->after;
    a->inflight++;
}

static void amb_run_deferred(struct ambassador *a, struct amb_deferred *d);

static void
amb_deferred_free_one(struct amb_deferred *d)
{
    node_cmd_free(d->cmd);
    free(d->text);
    for (size_t i = 0; i < d->npaths; i++)
        free(d->paths[i]);
    free(d->paths);
    free(d);
}

static void
amb_deferred_free(struct amb_deferred *d)
{
    while (d != NULL) {
        struct amb_deferred *next = d->next;
        amb_deferred_free_one(d);
        d = next;
    }
}

static void
amb_event_free(void *p)
{
    struct amb_event *ev = p;
    if (ev != NULL && ev->type == EV_JOURNALED)
        amb_deferred_free(ev->ptr);
    free(ev);
}

static void
amb_send_result(struct ambassador *a, struct amb_node *node, uint32_t set,
                uint64_t epoch, int ok, const char *reason)
{
    cJSON *m;
    if (node == NULL)
        return;
    m = cJSON_CreateObject();
    if (m == NULL)
        return;
    cJSON_AddStringToObject(m, "type", MSG_RESULT);
    json_add_u64(m, "set", set);
    json_add_u64(m, "epoch", epoch);
    cJSON_AddBoolToObject(m, "accepted", ok);
    if (reason != NULL)
        cJSON_AddStringToObject(m, "reason", reason);
    amb_send(a, node, CMD_RESULT, set, epoch, ok, m);
}

static void
amb_fail_job(struct ambassador *a, uint32_t set)
{
    const struct set_info *s = set_table_get(a->sets, set);
    uint64_t first, count;
    char nodes[256] = "";
    size_t n = 0;

    job_set_range(a->job, set, &first, &count);
    for (uint32_t i = 0; i < s->nfailed_on && n < sizeof(nodes); i++) {
        int w = snprintf(nodes + n, sizeof(nodes) - n, "%s%s", i ? ", " : "",
                         s->failed_on[i]);
        if (w < 0)
            break;
        n += (size_t)w;
    }
    snprintf(a->report, sizeof(a->report),
             "set %u (frames %llu..%llu: %s .. %s) failed %u times on %u "
             "node(s) (%s) and was lost with its node %u times; last error: "
             "%s",
             set, (unsigned long long)first,
             (unsigned long long)(first + count - 1),
             a->job->frames->frames[first].name,
             a->job->frames->frames[first + count - 1].name, s->failures,
             s->nfailed_on, nodes, s->reclaims, s->last_error);
    log_warnx("job %s: stopping: %s", a->job->id, a->report);
    a->finished = -1;
}

/* A set's attempt failed (node error, rejected result) or was lost with
 * its node. The job stops when the set has failed on max_nodes_per_set
 * distinct nodes, or max_failures_per_set times in all either way (a set
 * that breaks every node must not cycle forever on a small farm). */
static void
amb_after_failure(struct ambassador *a, uint32_t set)
{
    const struct set_info *s = set_table_get(a->sets, set);
    a->st.failures++;
    a->progress[set] = 0;
    if (a->finished != 0)
        return;
    if (s->nfailed_on >= a->cfg->max_nodes_per_set ||
        s->failures >= a->cfg->max_failures_per_set ||
        s->reclaims >= a->cfg->max_failures_per_set)
        amb_fail_job(a, set);
}

static void
amb_on_hello(struct ambassador *a, struct amb_node *node,
             const struct amb_event *ev)
{
    uint64_t now = clock_now_ms();
    struct amb_peer *peer;
    struct node_cmd *cmd;

    for (struct amb_node *o = a->nodes; o != NULL; o = o->next) {
        if (o != node && o->hello && strcmp(o->name, ev->name) == 0) {
            char why[ERR_MAX];
            cJSON *m = cJSON_CreateObject();
            snprintf(why, sizeof(why),
                     "node name \"%s\" is in use by the session from %s",
                     ev->name, o->peer);
            log_warnx("node %s: refused: %s", ev->name, why);
            if (m != NULL) {
                cJSON_AddStringToObject(m, "type", MSG_ERROR);
                cJSON_AddStringToObject(m, "msg", why);
            }
            amb_send(a, node, CMD_FINISH, 0, 0, 0, m);
            return;
        }
    }
    node->hello = 1;
    snprintf(node->name, sizeof(node->name), "%s", ev->name);
    snprintf(node->encoders, sizeof(node->encoders), "%s", ev->encoders);
    snprintf(node->breaker, sizeof(node->breaker), "closed");
    log_info("node %s: connected from %s, encoders %s, JPEG decoding on %s, "
             "%d slot(s), %u set(s) in hand",
             node->name, node->peer, node->encoders, ev->decoder, ev->slots,
             ev->lease.nheld);
    peer = amb_peer_get(a, node->name, now);
    if (peer != NULL)
        liveness_connected(&peer->lv, now);
    /* Admit it, with the breaker its name ended its last session with:
     * its thread asks for work only from here. */
    cmd = calloc(1, sizeof(*cmd));
    if (cmd == NULL) {
        log_warnx("node %s: out of memory admitting it; closing", node->name);
        amb_send(a, node, CMD_FINISH, 0, 0, 0, NULL);
        return;
    }
    cmd->type = CMD_ADMIT;
    if (peer != NULL && peer->have_br && peer->br.state != BREAKER_CLOSED) {
        cmd->ok = 1;
        cmd->br = peer->br;
    }
    nodeconn_send(node->conn, cmd);
    /* A node back from a lost connection still has sets in hand: reattach
     * those we still count on it for (same set, same epoch, held by its
     * ended session); cancel the others. */
    for (uint32_t i = 0; i < ev->lease.nheld; i++) {
        uint32_t set = ev->lease.held[i].set;
        uint64_t epoch = ev->lease.held[i].epoch;
        const struct set_info *si = set_table_get(a->sets, set);
        cJSON *m;
        if (si != NULL && strcmp(si->holder_name, node->name) == 0 &&
            amb_node_find(a, si->holder) == NULL &&
            set_table_reattach(a->sets, set, epoch, node->session) == 0) {
            log_info("job %s set %u epoch %llu: reattached to node %s",
                     a->job->id, set, (unsigned long long)epoch, node->name);
            continue;
        }
        log_info("job %s set %u epoch %llu: node %s still has it, but it is "
                 "no longer its; cancelling",
                 a->job->id, set, (unsigned long long)epoch, node->name);
        m = cJSON_CreateObject();
        if (m != NULL) {
            cJSON_AddStringToObject(m, "type", MSG_CANCEL);
            json_add_u64(m, "set", set);
            json_add_u64(m, "epoch", epoch);
        }
        amb_send(a, node, CMD_CANCEL, set, epoch, 0, m);
    }
}

static void
amb_reclaim(struct ambassador *a, uint32_t set, const char *node,
            const char *why)
{
    uint64_t epoch = set_table_get(a->sets, set)->epoch;
    char reason[ERR_MAX];
    snprintf(reason, sizeof(reason), "node %s: %s", node, why);
    if (set_table_reclaim(a->sets, set, epoch, reason) == -1)
        return;
    amb_record_set(a, JREC_RECLAIM, set, epoch, node, why);
    a->st.reclaimed++;
    log_info("job %s set %u epoch %llu: reclaimed from node %s (%s); "
             "Available again",
             a->job->id, set, (unsigned long long)epoch, node, why);
    amb_after_failure(a, set);
}

static void
amb_on_gone(struct ambassador *a, struct amb_node *node,
            const struct amb_event *ev)
{
    uint32_t held[CONFIG_MAX_SLOTS];
    const char *why = ev->text[0] ? ev->text : "closed";
    uint64_t now = clock_now_ms();
    struct amb_peer *peer;
    size_t n;

    if (!node->hello) {
        log_warnx("connection from %s dropped before hello: %s", node->peer,
                  why);
        amb_node_remove(a, node);
        return;
    }
    n = set_table_held(a->sets, node->session, held, CONFIG_MAX_SLOTS);
    peer = amb_peer_get(a, node->name, now);
    if (peer != NULL) {
        liveness_lost(&peer->lv, ev->died, now);
        peer->advances_since_lost = 0;
        /* A session that ended before it applied its admission never ran
         * the name's breaker: keep that one rather than its fresh one
         * (a stale handshake must not reset an open breaker). */
        if (ev->admitted || !peer->have_br) {
            peer->br = ev->br;
            peer->have_br = 1;
        }
    }
    if (!ev->died && peer != NULL) {
        /* Alive, maybe: its sets wait for its lease or its return. */
        log_info("node %s: session ended: %s; its %zu set(s) wait for it "
                 "(reclaimed %llu ms after its lease stops advancing)",
                 node->name, why, n, (unsigned long long)a->cfg->reclaim_ms);
        amb_node_remove(a, node);
        return;
    }
    log_info("node %s: session ended: %s (process gone)", node->name, why);
    /* Reclaim in batches until the session holds nothing. */
    while ((n = set_table_held(a->sets, node->session, held,
                               CONFIG_MAX_SLOTS)) > 0) {
        if (n > CONFIG_MAX_SLOTS)
            n = CONFIG_MAX_SLOTS;
        for (size_t i = 0; i < n; i++)
            amb_reclaim(a, held[i], node->name, why);
    }
    amb_node_remove(a, node);
}

/* Sets held by sessions that ended: take them back when the node's
 * liveness says so (liveness.h), or when its lease, renewed since we lost
 * it, no longer lists them. */
static void
amb_check_orphans(struct ambassador *a, uint64_t now)
{
    int share_ok = amb_share_ok(a, now);
    if (now < a->next_orphan_check_ms)
        return;
    a->next_orphan_check_ms = now + AMB_TICK_MS;
    for (uint32_t i = 0; i < a->job->nsets; i++) {
        const struct set_info *s = set_table_get(a->sets, i);
        const struct amb_peer *p;
        char why[ERR_MAX];
        if (s->status != SET_PROCESSING || s->checking ||
            amb_node_find(a, s->holder) != NULL)
            continue;
        p = amb_peer_find(a, s->holder_name);
        if (p == NULL) {
            amb_reclaim(a, i, s->holder_name, "no session");
            continue;
        }
        if (p->lv.connected) {
            amb_reclaim(a, i, s->holder_name, "the node came back without it");
            continue;
        }
        if (liveness_judge(&p->lv, a->cfg->reclaim_ms, share_ok, now) ==
            LIVENESS_RECLAIM) {
            snprintf(why, sizeof(why),
                     "silent; lease last advanced %llu ms ago",
                     (unsigned long long)(now - (p->lv.have_lease
                                                     ? p->lv.lease_seen_ms
                                                     : p->lv.lost_ms)));
            amb_reclaim(a, i, s->holder_name, why);
            continue;
        }
        if (share_ok && p->have_last && p->advances_since_lost >= 2 &&
            (p->last.state == LEASE_FENCED ||
             !lease_holds(&p->last, i, s->epoch)))
            amb_reclaim(a, i, s->holder_name,
                        "its lease no longer lists the set");
    }
}

static void
amb_on_lease(struct ambassador *a, const struct amb_event *ev)
{
    uint64_t now = clock_now_ms();
    struct amb_peer *p = amb_peer_get(a, ev->lease.node, now);
    if (p == NULL)
        return;
    if (!liveness_lease(&p->lv, ev->lease.counter, now))
        return; /* not newer than what we have: a stale read */
    if (!p->lv.connected)
        p->advances_since_lost++;
    p->last = ev->lease;
    p->have_last = 1;
}

static void
amb_on_share(struct ambassador *a, const struct amb_event *ev)
{
    if (ev->epoch > a->cfg->gen) {
        log_warnx("replaced by ambassador generation %llu (this is %llu): "
                  "exiting without writing",
                  (unsigned long long)ev->epoch,
                  (unsigned long long)a->cfg->gen);
        _exit(JOURNALER_EXIT_REPLACED);
    }
    if (ev->ok) {
        a->share_ok_ms = clock_now_ms();
        a->share_seen = 1;
        if (a->share_sick) {
            log_info("share answers again; dispatch and lease-based reclaim "
                     "resume");
            a->share_sick = 0;
            a->share_healthy_ms = a->share_ok_ms;
        }
    } else {
        log_warnx("share probe failed: %s", ev->text);
    }
}

/* The share is sick when its probe has not answered for share_suspect_ms
 * (a hung mount answers nothing at all). */
static void
amb_check_share(struct ambassador *a, uint64_t now)
{
    if (now - a->share_ok_ms >= a->cfg->share_suspect_ms && !a->share_sick) {
        log_warnx("share has not answered for %llu ms: pausing dispatch and "
                  "lease-based reclaim",
                  (unsigned long long)(now - a->share_ok_ms));
        a->share_sick = 1;
    }
}

/* Each connected node's breaker watches its lease: tell its thread when
 * the lease has not advanced for longer than the node may work without
 * renewing it (fence_ms, plus the lag of our view) while the share
 * answers, and when it moves again. */
static void
amb_check_leases(struct ambassador *a, uint64_t now)
{
    if (!amb_share_ok(a, now))
        return; /* every lease looks still while the share is sick */
    for (struct amb_node *n = a->nodes; n != NULL; n = n->next) {
        const struct amb_peer *p;
        struct node_cmd *cmd;
        uint64_t age;
        int stale;
        if (!n->hello || (p = amb_peer_find(a, n->name)) == NULL)
            continue;
        /* Past fence_ms after its last renewal the node has stopped; our
         * view lags a renewal period and a poll behind. */
        age = liveness_lease_age(&p->lv, a->share_healthy_ms, now);
        stale = age >= a->cfg->fence_ms + a->cfg->lease_renew_ms +
                           a->cfg->share_poll_ms;
        if (stale == n->lease_stale)
            continue;
        cmd = calloc(1, sizeof(*cmd));
        if (cmd == NULL)
            continue; /* tried again next tick */
        n->lease_stale = stale;
        cmd->type = CMD_LEASE;
        cmd->ok = !stale;
        if (stale)
            log_warnx("node %s: connected, but its lease has not advanced for "
                      "%llu ms: no new work for it",
                      n->name, (unsigned long long)age);
        else
            log_info("node %s: its lease advances again", n->name);
        nodeconn_send(n->conn, cmd);
    }
}

static void
amb_on_done(struct ambassador *a, struct amb_node *node,
            const struct amb_event *ev)
{
    char rel[FS_PATH_MAX], abs[FS_PATH_MAX];
    const struct set_info *s = set_table_get(a->sets, ev->set);
    uint64_t first, count;

    if (s == NULL ||
        job_result_rel(a->job, ev->set, ev->epoch, ev->name, rel,
                       sizeof(rel)) == -1 ||
        fs_join(abs, sizeof(abs), a->job->share, rel) == -1) {
        log_warnx("node %s: done for set %u epoch %llu that cannot be "
                  "placed; rejected",
                  ev->name, ev->set, (unsigned long long)ev->epoch);
        if (s != NULL && s->holder == ev->session &&
            set_table_fail(a->sets, ev->set, ev->epoch, "bad result path",
                           NULL) == 0 &&
            (amb_record_set(a, JREC_FAIL, ev->set, ev->epoch, ev->name,
                            "bad result path"),
             1))
            amb_after_failure(a, ev->set);
        amb_send_result(a, node, ev->set, ev->epoch, 0, "bad result");
        return;
    }
    /* Only the session that holds the set at this epoch may report it, and
     * only once. */
    if (s->holder != ev->session ||
        set_table_begin_check(a->sets, ev->set, ev->epoch) == -1) {
        /* A second report of a result already counted or under check must
         * not remove the file being counted. */
        int dup = (a->accepted[ev->set] != NULL &&
                   strcmp(a->accepted[ev->set], rel) == 0) ||
                  (s->status == SET_PROCESSING && s->epoch == ev->epoch);
        if (dup) {
            a->st.duplicates++;
            log_warnx("job %s set %u epoch %llu: duplicate done from node %s "
                      "ignored",
                      a->job->id, ev->set, (unsigned long long)ev->epoch,
                      ev->name);
        } else {
            a->st.stale_results++;
            log_warnx("job %s set %u epoch %llu: stale result from node %s "
                      "rejected (set is %c at epoch %llu)",
                      a->job->id, ev->set, (unsigned long long)ev->epoch,
                      ev->name, s->status, (unsigned long long)s->epoch);
            checker_remove(a->checker, abs);
        }
        amb_send_result(a, node, ev->set, ev->epoch, 0,
                        dup ? "duplicate" : "stale epoch");
        return;
    }
    job_set_range(a->job, ev->set, &first, &count);
    if (strcmp(ev->path, rel) != 0 || ev->frames != count) {
        char why[ERR_MAX];
        snprintf(why, sizeof(why),
                 "node %s reported %.200s with %llu frames; expected %.200s "
                 "with %llu",
                 ev->name, ev->path, (unsigned long long)ev->frames, rel,
                 (unsigned long long)count);
        set_table_reject(a->sets, ev->set, ev->epoch, why, NULL);
        amb_record_set(a, JREC_REJECT, ev->set, ev->epoch, ev->name, why);
        a->st.rejected_results++;
        log_warnx("job %s set %u epoch %llu: result rejected: %s", a->job->id,
                  ev->set, (unsigned long long)ev->epoch, why);
        amb_send_result(a, node, ev->set, ev->epoch, 0, why);
        amb_after_failure(a, ev->set);
        return;
    }
    checker_check(a->checker, ev->session, ev->set, ev->epoch, abs, rel,
                  ev->bytes, ev->sha256, count, &a->job->enc, ev->encoder,
                  ev->preset, ev->fallback);
}

static void
amb_on_checked(struct ambassador *a, const struct amb_event *ev)
{
    struct amb_node *node = amb_node_find(a, ev->session);
    const char *name = set_table_get(a->sets, ev->set)->holder_name;

    if (!ev->ok) {
        if (set_table_reject(a->sets, ev->set, ev->epoch, ev->text, NULL) ==
            0) {
            amb_record_set(a, JREC_REJECT, ev->set, ev->epoch, name, ev->text);
            a->st.rejected_results++;
            log_warnx("job %s set %u epoch %llu: result from node %s "
                      "rejected: %s; Available again",
                      a->job->id, ev->set, (unsigned long long)ev->epoch, name,
                      ev->text);
            amb_after_failure(a, ev->set);
        }
        amb_send_result(a, node, ev->set, ev->epoch, 0, ev->text);
        return;
    }
    if (set_table_accept(a->sets, ev->set, ev->epoch) == 0) {
        struct jrec r;
        memset(&r, 0, sizeof(r));
        r.type = JREC_ACCEPT;
        r.set = ev->set;
        r.epoch = ev->epoch;
        r.bytes = ev->bytes;
        snprintf(r.node, sizeof(r.node), "%s", name);
        snprintf(r.path, sizeof(r.path), "%s", ev->path);
        snprintf(r.sha256, sizeof(r.sha256), "%s", ev->sha256);
        amb_record(a, &r);
    } else {
        log_warnx("job %s set %u epoch %llu: check passed but the set moved "
                  "on; not counted",
                  a->job->id, ev->set, (unsigned long long)ev->epoch);
        return;
    }
    free(a->accepted[ev->set]);
    a->accepted[ev->set] = strdup(ev->path);
    if (!a->have_first_info) {
        a->first_info = ev->info;
        a->have_first_info = 1;
    } else if (!vidinfo_compatible(&a->first_info, &ev->info)) {
        log_warnx("job %s set %u: stream parameters differ from set 0's "
                  "(%s %s profile %d level %d)",
                  a->job->id, ev->set, ev->info.codec, ev->info.pix_fmt,
                  ev->info.profile, ev->info.level);
    }
    a->st.counted++;
    if (node != NULL)
        node->counted++;
    /* Say "counted" once the accept is durable, like every other act that
     * others can see: an ambassador stopped before its journal caught up
     * must not have claimed a set its successor will count. */
    {
        struct amb_deferred *d = calloc(1, sizeof(*d));
        char line[ERR_MAX * 2];
        snprintf(line, sizeof(line),
                 "job %s set %u epoch %llu: counted (node %s, %llu frames, "
                 "%s %s%s%.120s, %.300s)",
                 a->job->id, ev->set, (unsigned long long)ev->epoch, name,
                 (unsigned long long)ev->info.frames, ev->encoder, ev->preset,
                 ev->fallback[0] != '\0' ? ", fallback: " : "", ev->fallback,
                 ev->path);
        if (d != NULL && (d->text = strdup(line)) != NULL) {
            d->type = DEF_LOG;
            amb_defer(a, d);
        } else {
            free(d);
            log_info("%s", line);
        }
    }
    amb_send_result(a, node, ev->set, ev->epoch, 1, NULL);
}

static void
amb_on_fail(struct ambassador *a, const struct amb_event *ev)
{
    if (set_table_fail(a->sets, ev->set, ev->epoch, ev->text, NULL) == 0) {
        amb_record_set(a, JREC_FAIL, ev->set, ev->epoch, ev->name, ev->text);
    } else {
        log_debug("node %s: fail for set %u epoch %llu ignored (stale)",
                  ev->name, ev->set, (unsigned long long)ev->epoch);
        return;
    }
    log_warnx("job %s set %u epoch %llu: failed on node %s: %s; Available "
              "again",
              a->job->id, ev->set, (unsigned long long)ev->epoch, ev->name,
              ev->text);
    amb_after_failure(a, ev->set);
}

static void
amb_on_concated(struct ambassador *a, const struct amb_event *ev)
{
    if (!ev->ok) {
        snprintf(a->report, sizeof(a->report), "concat failed: %s", ev->text);
        log_warnx("job %s: %s", a->job->id, a->report);
        a->finished = -1;
        return;
    }
    log_info("job %s: wrote %s: %llu frames, verified", a->job->id,
             a->cfg->output, (unsigned long long)ev->frames);
    {
        struct jrec r;
        struct amb_deferred *d = calloc(1, sizeof(*d));
        memset(&r, 0, sizeof(r));
        r.type = JREC_CONCAT;
        r.done = 1;
        r.frames = ev->frames;
        amb_record(a, &r);
        if (d == NULL) {
            a->finished = 1;
            return;
        }
        d->type = DEF_DONE;
        amb_defer(a, d);
    }
}

static void
amb_handle(struct ambassador *a, struct amb_event *ev)
{
    struct amb_node *node = amb_node_find(a, ev->session);

    switch (ev->type) {
    case EV_CHECKED:
        amb_on_checked(a, ev);
        return;
    case EV_CONCATED:
        amb_on_concated(a, ev);
        return;
    case EV_SHARE:
        amb_on_share(a, ev);
        return;
    case EV_LEASE:
        amb_on_lease(a, ev);
        return;
    case EV_JOURNALED:
        a->inflight--;
        amb_run_deferred(a, ev->ptr);
        if (ev->ok)
            amb_compact(a);
        return;
    default:
        break;
    }
    if (node == NULL)
        return;
    switch (ev->type) {
    case EV_HELLO:
        amb_on_hello(a, node, ev);
        break;
    case EV_WANT:
        node->wants++;
        break;
    case EV_UNWANT:
        node->wants = 0;
        break;
    case EV_DECLINE:
        if (set_table_unassign(a->sets, ev->set, ev->epoch) == 0 &&
            (amb_record_set(a, JREC_UNASSIGN, ev->set, ev->epoch, ev->name,
                            NULL),
             1))
            a->st.declined++;
        break;
    case EV_PROGRESS:
        if (ev->set < a->job->nsets &&
            set_table_get(a->sets, ev->set)->epoch == ev->epoch)
            a->progress[ev->set] = ev->frames;
        break;
    case EV_DONE:
        amb_on_done(a, node, ev);
        break;
    case EV_FAIL:
        amb_on_fail(a, ev);
        break;
    case EV_BREAKER:
        snprintf(node->breaker, sizeof(node->breaker), "%.15s", ev->text);
        break;
    case EV_GONE:
        amb_on_gone(a, node, ev);
        break;
    case EV_CHECKED:
    case EV_CONCATED:
    case EV_SHARE:
    case EV_LEASE:
    case EV_JOURNALED:
        break;
    }
}

static int
amb_assign(struct ambassador *a, struct amb_node *node, uint32_t set)
{
    struct manifest *m = NULL;
    cJSON *msg = NULL, *mj = NULL;
    uint64_t epoch;

    if (set_table_assign(a->sets, set, node->session, node->name, &epoch) == -1)
        return -1;
    amb_record_set(a, JREC_ASSIGN, set, epoch, node->name, NULL);
    m = job_manifest(a->job, set, epoch);
    mj = m != NULL ? manifest_to_json(m) : NULL;
    msg = cJSON_CreateObject();
    if (mj == NULL || msg == NULL ||
        cJSON_AddStringToObject(msg, "type", MSG_ASSIGN) == NULL ||
        json_add_u64(msg, "set", set) == NULL ||
        json_add_u64(msg, "epoch", epoch) == NULL) {
        cJSON_Delete(mj);
        cJSON_Delete(msg);
        manifest_free(m);
        set_table_unassign(a->sets, set, epoch);
        amb_record_set(a, JREC_UNASSIGN, set, epoch, node->name, NULL);
        return -1;
    }
    cJSON_AddItemToObject(msg, "manifest", mj);
    manifest_free(m);
    node->wants--;
    a->progress[set] = 0;
    a->st.assigned++;
    log_info("job %s set %u epoch %llu: assigned to node %s", a->job->id, set,
             (unsigned long long)epoch, node->name);
    amb_send(a, node, CMD_ASSIGN, set, epoch, 0, msg);
    return 0;
}

static int
amb_failed_on(const struct ambassador *a, uint32_t set, const char *name)
{
    const struct set_info *s = set_table_get(a->sets, set);
    for (uint32_t i = 0; i < s->nfailed_on; i++)
        if (strcmp(s->failed_on[i], name) == 0)
            return 1;
    return 0;
}

static int
amb_someone_else_can(const struct ambassador *a, uint32_t set,
                     const struct amb_node *self)
{
    for (const struct amb_node *n = a->nodes; n != NULL; n = n->next)
        if (n != self && n->hello && !amb_failed_on(a, set, n->name))
            return 1;
    return 0;
}

/* Give free sets to nodes that asked, round robin. */
static void
amb_dispatch(struct ambassador *a)
{
    int progress = 1;
    if (a->finished != 0 || !amb_share_ok(a, clock_now_ms()))
        return;
    while (progress) {
        progress = 0;
        for (struct amb_node *n = a->nodes; n != NULL; n = n->next) {
            int64_t set;
            /* A node whose lease stands still gets nothing, even on an
             * ask its thread sent before it heard so (CMD_LEASE). */
            if (!n->hello || n->wants <= 0 || n->lease_stale)
                continue;
            set = set_table_pick(a->sets, n->name);
            if (set < 0)
                return;
            /* A set that failed on this node goes to another node when one
             * that has not failed it is connected; back to this one only
             * when every connected node has failed it (the failure caps
             * then end the job). */
            if (amb_failed_on(a, (uint32_t)set, n->name) &&
                amb_someone_else_can(a, (uint32_t)set, n))
                continue;
            if (amb_assign(a, n, (uint32_t)set) == 0)
                progress = 1;
        }
    }
}

static void
amb_start_concat(struct ambassador *a)
{
    char **paths = calloc(a->job->nsets, sizeof(*paths));
    if (paths == NULL)
        return;
    for (uint32_t i = 0; i < a->job->nsets; i++) {
        char abs[FS_PATH_MAX];
        if (fs_join(abs, sizeof(abs), a->job->share, a->accepted[i]) == -1 ||
            (paths[i] = strdup(abs)) == NULL) {
            for (uint32_t k = 0; k < i; k++)
                free(paths[k]);
            free(paths);
            return;
        }
    }
    a->concat_started = 1;
    log_info("job %s: all %u sets counted; concatenating in set order",
             a->job->id, a->job->nsets);
    /* The concat starts once "concat begun" is durable, so a restart
     * knows to redo it; the final name only ever holds a verified file. */
    {
        struct jrec r;
        struct amb_deferred *d = calloc(1, sizeof(*d));
        memset(&r, 0, sizeof(r));
        r.type = JREC_CONCAT;
        amb_record(a, &r);
        if (d == NULL) {
            log_warn("out of memory");
            exit(1);
        }
        d->type = DEF_CONCAT;
        d->paths = paths;
        d->npaths = a->job->nsets;
        amb_defer(a, d);
    }
}

/* Test hook: die at a named step, as kill -9 would, to prove a restart
 * from the journal finishes the job without rendering a counted set
 * again. */
static void
amb_crash_point(const struct ambassador *a, const char *point)
{
    if (a->crash_at != NULL && strcmp(a->crash_at, point) == 0) {
        log_warnx("crash point %s: exiting now", point);
        _exit(AMB_CRASH_EXIT);
    }
}

static void
amb_run_deferred(struct ambassador *a, struct amb_deferred *d)
{
    while (d != NULL) {
        struct amb_deferred *next = d->next;
        struct amb_node *n;
        switch (d->type) {
        case DEF_SEND:
            if (d->cmd->type == CMD_ASSIGN)
                amb_crash_point(a, "after-assign-journaled");
            if (d->cmd->type == CMD_RESULT && d->cmd->ok)
                amb_crash_point(a, "after-accept-journaled");
            n = amb_node_find(a, d->session);
            if (n != NULL)
                nodeconn_send(n->conn, d->cmd);
            else
                node_cmd_free(d->cmd); /* gone: its sets are handled */
            d->cmd = NULL;
            break;
        case DEF_CONCAT:
            amb_crash_point(a, "after-concat-begun");
            checker_concat(a->checker, d->paths, a->job->nsets, a->cfg->output,
                           a->job->frames->count, &a->job->enc);
            d->paths = NULL; /* the checker took them */
            d->npaths = 0;
            break;
        case DEF_DONE:
            a->finished = 1;
            break;
        case DEF_LOG:
            log_info("%s", d->text);
            break;
        }
        free(d->text);
        free(d);
        d = next;
    }
}

static void
amb_progress(struct ambassador *a, uint64_t now, int force)
{
    char line[128];
    uint64_t frames = 0;
    uint32_t counted = set_table_count(a->sets, SET_COUNTED);

    if (!a->cfg->progress ||
        (!force && now - a->last_progress_ms < AMB_PROGRESS_MS))
        return;
    a->last_progress_ms = now;
    for (uint32_t i = 0; i < a->job->nsets; i++) {
        uint64_t first, count;
        job_set_range(a->job, i, &first, &count);
        frames += set_table_get(a->sets, i)->status == SET_COUNTED
                      ? count
                      : a->progress[i];
    }
    snprintf(line, sizeof(line), "progress %u %u %llu %zu\n", counted,
             a->job->nsets, (unsigned long long)frames, a->job->frames->count);
    if (strcmp(line, a->last_progress) == 0)
        return;
    snprintf(a->last_progress, sizeof(a->last_progress), "%s", line);
    fputs(line, stdout);
    fflush(stdout);
}

static void
amb_accept(struct ambassador *a)
{
    char peer[64];
    struct amb_node *node;
    int fd = net_accept(a->lfd, peer, sizeof(peer));

    if (fd == -1) {
        if (errno != EAGAIN && errno != ECONNABORTED)
            log_warn("accept");
        return;
    }
    node = calloc(1, sizeof(*node));
    if (node == NULL) {
        close(fd);
        return;
    }
    node->session = a->next_session++;
    snprintf(node->peer, sizeof(node->peer), "%s", peer);
    snprintf(node->name, sizeof(node->name), "(%.60s)", peer);
    node->conn = nodeconn_start(fd, peer, node->session, a->cfg, a->events);
    if (node->conn == NULL) {
        log_warn("connection from %s: cannot start its thread", peer);
        free(node);
        return;
    }
    node->next = a->nodes;
    a->nodes = node;
}

/* Tell every node the job is over and wait (bounded) for them to go. */
static void
amb_finish_nodes(struct ambassador *a)
{
    uint64_t deadline = clock_now_ms() + AMB_FINISH_GRACE_MS;
    for (struct amb_node *n = a->nodes; n != NULL; n = n->next) {
        cJSON *m = cJSON_CreateObject();
        if (m != NULL) {
            cJSON_AddStringToObject(m, "type", MSG_FINISH);
            cJSON_AddBoolToObject(m, "ok", a->finished == 1);
            if (a->finished != 1)
                cJSON_AddStringToObject(m, "error", a->report);
        }
        amb_send(a, n, CMD_FINISH, 0, 0, 0, m);
    }
    while (a->nodes != NULL) {
        struct pollfd pfd = {.fd = evq_fd(a->events), .events = POLLIN};
        struct amb_event *ev;
        uint64_t now = clock_now_ms();
        while ((ev = evq_pop(a->events)) != NULL) {
            struct amb_node *n = amb_node_find(a, ev->session);
            if (ev->type == EV_GONE && n != NULL)
                amb_node_remove(a, n);
            free(ev);
        }
        if (a->nodes == NULL || now >= deadline)
            break;
        poll(&pfd, 1, (int)(deadline - now));
    }
    /* Nodes that did not go in time: their threads exit at the next
     * heartbeat failure; we cannot wait on them forever. */
    while (a->nodes != NULL) {
        struct amb_node *n = a->nodes;
        nodeconn_stop(n->conn);
        a->nodes = n->next;
        nodeconn_free(n->conn);
        free(n);
    }
}

/* The job is over: let every batch become durable and its actions run
 * before the nodes are told. */
static void
amb_drain_journal(struct ambassador *a)
{
    amb_flush(a);
    while (a->inflight > 0) {
        struct pollfd pfd = {.fd = evq_fd(a->events), .events = POLLIN};
        struct amb_event *ev;
        while ((ev = evq_pop(a->events)) != NULL) {
            if (ev->type == EV_JOURNALED) {
                a->inflight--;
                amb_run_deferred(a, ev->ptr);
            }
            free(ev);
        }
        if (a->inflight > 0)
            poll(&pfd, 1, AMB_TICK_MS);
    }
}

int
ambassador_run(struct ambassador *a)
{
    log_info("job %s: %u sets ready; waiting for nodes", a->job->id,
             a->job->nsets);
    while (a->finished == 0) {
        struct pollfd pfd[2] = {{.fd = a->lfd, .events = POLLIN},
                                {.fd = evq_fd(a->events), .events = POLLIN}};
        struct amb_event *ev;
        int r = poll(pfd, 2, AMB_TICK_MS);
        if (r == -1 && errno != EINTR) {
            log_warn("poll");
            return -1;
        }
        if (pfd[0].revents & POLLIN)
            amb_accept(a);
        while ((ev = evq_pop(a->events)) != NULL) {
            amb_handle(a, ev);
            free(ev);
        }
        amb_check_share(a, clock_now_ms());
        amb_check_orphans(a, clock_now_ms());
        amb_check_leases(a, clock_now_ms());
        amb_dispatch(a);
        if (set_table_done(a->sets) && !a->concat_started)
            amb_start_concat(a);
        amb_progress(a, clock_now_ms(), a->finished != 0);
        amb_flush(a);
    }
    amb_drain_journal(a);
    a->direct = 1;
    amb_finish_nodes(a);
    log_info(
        "job %s: %s; assigned %llu, counted %llu, failures %llu "
        "(reclaimed %llu), results rejected %llu, stale %llu, "
        "duplicates %llu",
        a->job->id, a->finished == 1 ? "done" : "FAILED",
        (unsigned long long)a->st.assigned, (unsigned long long)a->st.counted,
        (unsigned long long)a->st.failures, (unsigned long long)a->st.reclaimed,
        (unsigned long long)a->st.rejected_results,
        (unsigned long long)a->st.stale_results,
        (unsigned long long)a->st.duplicates);
    return a->finished == 1 ? 0 : -1;
}

void
ambassador_free(struct ambassador *a)
{
    if (a == NULL)
        return;
    while (a->nodes != NULL) {
        struct amb_node *n = a->nodes;
        a->nodes = n->next;
        nodeconn_stop(n->conn);
        nodeconn_free(n->conn);
        free(n);
    }
    sharewatch_free(a->watch);
    journaler_free(a->journaler);
    checker_free(a->checker);
    evq_free(a->events, amb_event_free);
    amb_deferred_free(a->after);
    for (size_t i = 0; i < a->nbatch; i++)
        free(a->batch[i]);
    free(a->batch);
    while (a->peers != NULL) {
        struct amb_peer *p = a->peers;
        a->peers = p->next;
        free(p);
    }
    if (a->accepted != NULL)
        for (uint32_t i = 0; i < a->job->nsets; i++)
            free(a->accepted[i]);
    free(a->accepted);
    free(a->progress);
    set_table_free(a->sets);
    free(a);
}
