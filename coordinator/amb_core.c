/*
 * amb_core.c - see amb_core.h.
 *
 * Every event is decided to completion before the next: the set table,
 * the node table and the peer table change only here. A node session is
 * identified by a number that is never reused; an assignment by (set,
 * epoch). A result is counted only if the set is still in B at that epoch
 * when the done arrives and when its check comes back.
 */
#include "coordinator/amb_core.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/breaker.h"
#include "common/ffassert.h"
#include "common/hmap.h"
#include "common/lease.h"
#include "coordinator/liveness.h"
#include "coordinator/nodewatch.h"

#define CORE_BREAKER_NAME_MAX 16
#define CORE_SEED_MUL 0x9e3779b97f4a7c15ull /* breaker jitter per session */
#define CORE_ACTS_MIN 16
#define CORE_FAILED_NODES_MAX 256
/* Renewals after a loss that make a lease without the set news. */
#define CORE_LEASE_ADVANCES 2
#define CORE_MIB_SHIFT 20
/* A node out of space pauses dispatch until the share has room for a
 * couple of mini-videos more than then (at least CORE_NOSPACE_MARGIN: the
 * node's own partial file going away is no news), or at most this many
 * share polls (a quota may not show in statvfs). */
#define CORE_NOSPACE_POLLS 30
#define CORE_NOSPACE_MARGIN (1ull << 20)
#define CORE_NOSPACE_RESULTS 2
/* A node's mean set time weighs its last this many counted sets most. */
#define CORE_SPEED_WINDOW 8

struct core_node {
    uint64_t session;
    char name[IDENT_MAX + 1];
    char peer[EV_PEER_MAX];
    char encoders[EV_ENCODERS_MAX];
    char breaker[CORE_BREAKER_NAME_MAX];
    int hello;
    int control;        /* a control client (submit, status...): not a node */
    struct nodewatch w; /* its circuit breaker (valid after hello) */
    uint64_t counted;
    struct core_peer *known; /* its name's entry (after hello) */
    int drained;             /* no new work (its name's, by request) */
    uint64_t set_ms;         /* its mean set time (counted sets) */
    uint32_t timed;          /* sets in that mean, up to CORE_SPEED_WINDOW */
    int touched;             /* in c->touched: its breaker may have moved */
    struct core_node *next, *prev;
};

/* A speculative backup running (set, epoch, session), or the attempt that
 * lost the race and was cancelled (loser): its late done is stale, but no
 * fault of its node's. */
struct core_spec {
    uint32_t set;
    uint64_t epoch, session;
    uint64_t started;
    int loser;
};

/* A set that may get a backup, and when its attempt is expected to end. */
struct core_cand {
    uint32_t set;
    uint64_t end;
};

/* What the core knows of a node name across its sessions: its lease,
 * whether it can still be heard (liveness.h decides from that), and the
 * breaker its last session ended with. */
struct core_peer {
    char name[IDENT_MAX + 1];
    struct liveness lv;
    struct lease last; /* the last valid lease record read */
    int have_last;
    uint32_t advances_since_lost;
    struct breaker br;
    int have_br;
    int drained; /* no new work for this name, by request (EV_DRAIN) */
    struct core_peer *next;
};

struct amb_core {
    const struct coord_config *cfg;
    const struct job *job;
    struct set_table *sets;
    uint32_t *progress;  /* frames done per set, current attempt (a set's
                            frames fit: set_size is 32-bit) */
    char **accepted;     /* rel path of the counted result per set */
    char **accepted_sha; /* its sha256 (hex), or NULL when not recorded */
    uint64_t *started;   /* when each set's current attempt began */
    uint32_t *nbackups;  /* backups each set was given */
    struct core_spec *spec;
    size_t nspec, capspec;
    struct core_cand *cand; /* core_dispatch_backups' scratch */
    size_t capcand;
    uint64_t set_ms_sum, set_ms_n; /* counted sets' times, all nodes */
    struct vidinfo first_info;
    int have_first_info;
    struct core_node *nodes;
    struct core_peer *peers;
    /* Lookups that must not cost O(nodes) per event: */
    struct hmap node_by_session; /* every session */
    struct hmap node_by_name;    /* sessions that said hello, by name */
    struct hmap peer_by_name;    /* every name ever seen */
    /* Nodes whose breaker this step may have moved (logged at its end,
     * not every node at every step). */
    struct core_node **touched;
    size_t ntouched, captouched;
    uint64_t now;
    uint64_t share_ok_ms;      /* when the share probe last answered */
    int share_sick;            /* logged state */
    uint64_t share_healthy_ms; /* when the share last became healthy */
    int share_seen;            /* the probe has answered at least once */
    int share_full;            /* the probe says it is out of space */
    uint64_t share_free;       /* bytes free, as the probe last saw */
    uint64_t nospace_until;    /* a node ran out of space: no dispatch until
                                  then, or until the share has more free */
    uint64_t nospace_free;     /* ... than this (share_free then, plus room) */
    uint64_t max_result;       /* the largest mini-video counted, bytes */
    uint64_t next_orphan_check_ms;
    uint64_t next_periodic_ms; /* the lease watch, every breaker */
    int dispatch_due;  /* an event since the last dispatch may allow one */
    uint32_t *orphans; /* sets that may be held by a session that ended
                          (core_orphans_note): all the orphan rules look
                          at, never the whole table */
    size_t norphans, caporphans;
    int concat_started;
    uint64_t concat_retry_ms; /* a concat short of resources: not before */
    uint64_t concat_backoff;  /* its wait, doubling */
    int failed;
    uint32_t stop_set;
    char report[2 * ERR_MAX];
    struct amb_stats st;
    struct amb_act *acts;
    size_t nacts, capacts;
    struct jrec *snap; /* amb_core_snapshot's one record */
};

/* ---- actions ---- */

static struct amb_act *
core_act(struct amb_core *c, enum amb_act_type type, uint64_t session,
         int deferred)
{
    struct amb_act *a;
    if (c->nacts == c->capacts) {
        size_t cap = c->capacts ? 2 * c->capacts : CORE_ACTS_MIN;
        struct amb_act *na = realloc(c->acts, cap * sizeof(*na));
        FF_ASSERT(na != NULL); /* out of memory: nothing safe to do */
        c->acts = na;
        c->capacts = cap;
    }
    a = &c->acts[c->nacts++];
    a->type = type;
    a->session = session;
    a->deferred = deferred;
    return a;
}

static const char *
core_job_id(const struct amb_core *c)
{
    return c->job != NULL ? c->job->id : "-";
}

static void core_log(struct amb_core *c, enum amb_log_level level, int deferred,
                     const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
core_log(struct amb_core *c, enum amb_log_level level, int deferred,
         const char *fmt, ...)
{
    struct amb_act *a = core_act(c, ACT_LOG, 0, deferred);
    va_list ap;
    a->u.log.level = level;
    va_start(ap, fmt);
    vsnprintf(a->u.log.text, sizeof(a->u.log.text), fmt, ap);
    va_end(ap);
}

static void
core_send(struct amb_core *c, uint64_t session, enum amb_msg msg, uint32_t set,
          uint64_t epoch, int ok, const char *text)
{
    struct amb_act *a = core_act(c, ACT_SEND, session, 1);
    a->u.send.msg = msg;
    a->u.send.set = set;
    a->u.send.epoch = epoch;
    a->u.send.ok = ok;
    snprintf(a->u.send.text, sizeof(a->u.send.text), "%s",
             text != NULL ? text : "");
}

/* A journal record, its fields zeroed but for the type. */
static struct jrec *
core_record(struct amb_core *c, enum jrec_type type)
{
    struct amb_act *a = core_act(c, ACT_RECORD, 0, 0);
    struct jrec *r = &a->u.rec.r;
    r->type = type;
    r->set = 0;
    r->epoch = r->gen = r->frames = r->bytes = 0;
    r->sets = 0;
    r->done = 0;
    r->node[0] = r->job[0] = r->path[0] = r->sha256[0] = r->text[0] = '\0';
    r->input[0] = '\0';
    a->u.rec.why = AMB_RECLAIM_DIED;
    return r;
}

static struct jrec *
core_record_set(struct amb_core *c, enum jrec_type type, uint32_t set,
                uint64_t epoch, const char *node, const char *why)
{
    struct jrec *r = core_record(c, type);
    r->set = set;
    r->epoch = epoch;
    snprintf(r->node, sizeof(r->node), "%s", node);
    if (why != NULL)
        snprintf(r->text, sizeof(r->text), "%.*s", (int)sizeof(r->text) - 1,
                 why);
    return r;
}

/* ---- tables ---- */

/* A node this step may change: its breaker is looked at when the step
 * ends. */
static void
core_touch(struct amb_core *c, struct core_node *n)
{
    if (n->touched)
        return;
    if (c->ntouched == c->captouched) {
        size_t cap = c->captouched ? 2 * c->captouched : CORE_ACTS_MIN;
        struct core_node **t = realloc(c->touched, cap * sizeof(*t));
        FF_ASSERT(t != NULL); /* out of memory: nothing safe to do */
        c->touched = t;
        c->captouched = cap;
    }
    n->touched = 1;
    c->touched[c->ntouched++] = n;
}

/* The session's node, or NULL. What is found may be changed: it is
 * touched. */
static struct core_node *
core_node_find(struct amb_core *c, uint64_t session)
{
    struct core_node *n = hmap_get_u64(&c->node_by_session, session);
    if (n != NULL)
        core_touch(c, n);
    return n;
}

static void core_orphans_note(struct amb_core *c, uint64_t session);

static void
core_node_remove(struct amb_core *c, struct core_node *node)
{
    core_orphans_note(c, node->session);
    if (node->prev != NULL)
        node->prev->next = node->next;
    else
        c->nodes = node->next;
    if (node->next != NULL)
        node->next->prev = node->prev;
    hmap_del_u64(&c->node_by_session, node->session);
    if (node->hello && hmap_get_str(&c->node_by_name, node->name) == node)
        hmap_del_str(&c->node_by_name, node->name);
    /* Gone before the step ends: nothing to log for it. */
    for (size_t i = 0; i < c->ntouched; i++)
        if (c->touched[i] == node)
            c->touched[i] = c->touched[--c->ntouched];
    core_act(c, ACT_FORGET, node->session, 0);
    free(node);
}

static struct core_peer *
core_peer_find(const struct amb_core *c, const char *name)
{
    return hmap_get_str(&c->peer_by_name, name);
}

static struct core_peer *
core_peer_get(struct amb_core *c, const char *name)
{
    struct core_peer *p = core_peer_find(c, name);
    if (p != NULL)
        return p;
    p = calloc(1, sizeof(*p));
    FF_ASSERT(p != NULL);
    snprintf(p->name, sizeof(p->name), "%s", name);
    liveness_init(&p->lv, c->now);
    FF_ASSERT(hmap_put_str(&c->peer_by_name, p->name, p) == 0);
    p->next = c->peers;
    c->peers = p;
    return p;
}

/* Nothing is dispatched or reclaimed by lease before the share has
 * answered once, nor after it has been silent for share_suspect_ms. */
static int
core_share_ok(const struct amb_core *c)
{
    return c->share_seen && c->now - c->share_ok_ms < c->cfg->share_suspect_ms;
}

/* ---- the breakers ---- */

static void
core_breaker_log(struct amb_core *c, struct core_node *n)
{
    const struct breaker *b = &n->w.br;
    if (!n->hello || !nodewatch_changed(&n->w))
        return;
    snprintf(n->breaker, sizeof(n->breaker), "%s",
             breaker_state_name(b->state));
    core_log(c, AMB_LOG_INFO, 0, "node %s: breaker %s%s%s", n->name,
             breaker_state_name(b->state), b->state == BREAKER_OPEN ? ": " : "",
             b->state == BREAKER_OPEN ? b->reason : "");
}

/* A result to a node, refused or accepted: its breaker records it (a
 * refused one, stale or duplicate too, counts as a failure). */
static void
core_send_result(struct amb_core *c, uint64_t session, uint32_t set,
                 uint64_t epoch, int ok, const char *reason)
{
    struct core_node *n = core_node_find(c, session);
    if (n == NULL)
        return;
    if (n->hello)
        nodewatch_outcome(&n->w, ok != 0, c->now, "a result failed its check");
    core_send(c, session, AMB_MSG_RESULT, set, epoch, ok, reason);
}

/* ---- the stop rule ---- */

static void
core_fail_job(struct amb_core *c, uint32_t set)
{
    const struct set_info *s = set_table_get(c->sets, set);
    const struct zipf_listing *fr = c->job->frames;
    uint64_t first, count;
    char nodes[CORE_FAILED_NODES_MAX] = "";
    char name0[ZIPF_NAME_MAX], name1[ZIPF_NAME_MAX];
    size_t n = 0;

    job_set_range(c->job, set, &first, &count);
    for (uint32_t i = 0; i < s->nfailed_on && n < sizeof(nodes); i++) {
        int w = snprintf(nodes + n, sizeof(nodes) - n, "%s%s", i ? ", " : "",
                         s->hist->failed_on[i]);
        if (w < 0)
            break;
        n += (size_t)w;
    }
    snprintf(c->report, sizeof(c->report),
             "set %u (frames %llu..%llu: %s .. %s) failed %u times on %u "
             "node(s) (%s) and was lost with its node %u times; last error: "
             "%s",
             set, (unsigned long long)first,
             (unsigned long long)(first + count - 1),
             zipf_frame_name(fr, first, name0),
             zipf_frame_name(fr, first + count - 1, name1), s->failures,
             s->nfailed_on, nodes, s->reclaims, set_info_error(s));
    core_log(c, AMB_LOG_WARN, 0, "job %s: stopping: %s", c->job->id, c->report);
    c->failed = 1;
    c->stop_set = set;
}

/* A set's attempt failed (node error, rejected result) or was lost with
 * its node. The job stops when the set has failed on max_nodes_per_set
 * distinct nodes, or max_failures_per_set times in all either way (a set
 * that breaks every node must not cycle forever on a small farm). */
static void
core_after_failure(struct amb_core *c, uint32_t set)
{
    const struct set_info *s = set_table_get(c->sets, set);
    c->st.failures++;
    c->progress[set] = 0;
    if (c->failed)
        return;
    if (s->nfailed_on >= c->cfg->max_nodes_per_set ||
        s->failures >= c->cfg->max_failures_per_set ||
        s->reclaims >= c->cfg->max_reclaims_per_set)
        core_fail_job(c, set);
}

/* What became of a set whose attempt ended, for the log: a backup's
 * other attempt may still hold it. */
static const char *
core_left_to(const struct amb_core *c, uint32_t set)
{
    return set_table_get(c->sets, set)->status == SET_PROCESSING
               ? "its other attempt carries on"
               : "Available again";
}

/* Take the attempt at epoch back from node (with a backup running, the
 * other attempt keeps the set). */
static void
core_reclaim_epoch(struct amb_core *c, uint32_t set, uint64_t epoch,
                   const char *node, enum amb_reclaim_why kind, const char *why)
{
    char reason[ERR_MAX];
    snprintf(reason, sizeof(reason), "node %s: %s", node, why);
    if (set_table_reclaim(c->sets, set, epoch, reason) == -1)
        return;
    core_record_set(c, JREC_RECLAIM, set, epoch, node, why);
    c->acts[c->nacts - 1].u.rec.why = kind;
    c->st.reclaimed++;
    core_log(c, AMB_LOG_INFO, 0,
             "job %s set %u epoch %llu: reclaimed from node %s (%s); %s",
             c->job->id, set, (unsigned long long)epoch, node, why,
             core_left_to(c, set));
    core_after_failure(c, set);
}

static void
core_reclaim(struct amb_core *c, uint32_t set, const char *node,
             enum amb_reclaim_why kind, const char *why)
{
    core_reclaim_epoch(c, set, set_table_get(c->sets, set)->epoch, node, kind,
                       why);
}

/* ---- node sessions ---- */

static void
core_on_accepted(struct amb_core *c, const struct amb_event *ev)
{
    struct core_node *n = calloc(1, sizeof(*n));
    FF_ASSERT(n != NULL);
    n->session = ev->session;
    snprintf(n->peer, sizeof(n->peer), "%s", ev->u.accepted.peer);
    snprintf(n->name, sizeof(n->name), "(%.60s)", ev->u.accepted.peer);
    FF_ASSERT(hmap_put_u64(&c->node_by_session, n->session, n) == 0);
    n->next = c->nodes;
    if (c->nodes != NULL)
        c->nodes->prev = n;
    c->nodes = n;
}

/* A node back from a lost connection still has sets in hand: reattach
 * those we still count on it for (same set, same epoch, held by its ended
 * session); cancel the others. */
static void
core_reattach(struct amb_core *c, struct core_node *node,
              const struct ev_hello *h)
{
    for (uint32_t i = 0; i < h->nheld && i < LEASE_MAX_HELD; i++) {
        uint32_t set = h->held[i].set;
        uint64_t epoch = h->held[i].epoch;
        const struct set_info *si =
            c->job != NULL ? set_table_get(c->sets, set) : NULL;
        if (nodewatch_hold(&node->w, set, epoch) == -1)
            break; /* more than its slots: the thread took no more */
        if (si != NULL && strcmp(si->holder_name, node->name) == 0 &&
            core_node_find(c, si->holder) == NULL &&
            set_table_reattach(c->sets, set, epoch, node->session) == 0) {
            c->st.reattached++;
            core_log(c, AMB_LOG_INFO, 0,
                     "job %s set %u epoch %llu: reattached to node %s",
                     c->job->id, set, (unsigned long long)epoch, node->name);
            continue;
        }
        c->st.cancelled++;
        core_log(c, AMB_LOG_INFO, 0,
                 "job %s set %u epoch %llu: node %s still has it, but it is "
                 "no longer its; cancelling",
                 core_job_id(c), set, (unsigned long long)epoch, node->name);
        nodewatch_release(&node->w, set, epoch);
        core_send(c, node->session, AMB_MSG_CANCEL, set, epoch, 0, NULL);
    }
}

static void
core_on_hello(struct amb_core *c, struct core_node *node,
              const struct amb_event *ev)
{
    const struct ev_hello *h = &ev->u.hello;
    struct core_peer *peer;
    const struct core_node *o = hmap_get_str(&c->node_by_name, ev->name);

    if (o != NULL && o != node) {
        char why[ERR_MAX];
        snprintf(why, sizeof(why),
                 "node name \"%s\" is in use by the session from %s", ev->name,
                 o->peer);
        c->st.refused++;
        core_log(c, AMB_LOG_WARN, 0, "node %s: refused: %s", ev->name, why);
        core_send(c, node->session, AMB_MSG_REFUSE, 0, 0, 0, why);
        return;
    }
    node->hello = 1;
    snprintf(node->name, sizeof(node->name), "%s", ev->name);
    FF_ASSERT(hmap_put_str(&c->node_by_name, node->name, node) == 0);
    snprintf(node->encoders, sizeof(node->encoders), "%s", h->encoders);
    snprintf(node->breaker, sizeof(node->breaker), "closed");
    core_log(c, AMB_LOG_INFO, 0,
             "node %s: connected from %s, encoders %s, JPEG decoding on %s, "
             "%d slot(s), %u set(s) in hand",
             node->name, node->peer, node->encoders, h->decoder, h->slots,
             h->nheld);
    peer = core_peer_get(c, node->name);
    node->known = peer;
    node->drained = peer->drained;
    liveness_connected(&peer->lv, c->now);
    nodewatch_init(&node->w, &c->cfg->breaker, node->session * CORE_SEED_MUL,
                   h->slots);
    /* The name's breaker from its last session: a node that lost liveness
     * or kept failing does not start afresh just by reconnecting. */
    if (peer->have_br && peer->br.state != BREAKER_CLOSED) {
        nodewatch_carry(&node->w, &peer->br);
        snprintf(node->breaker, sizeof(node->breaker), "%s",
                 breaker_state_name(node->w.br.state));
        core_log(c, AMB_LOG_INFO, 0,
                 "node %s: breaker %s, carried over from its last session",
                 node->name, breaker_state_name(node->w.br.state));
    }
    core_reattach(c, node, h);
}

static void
core_on_gone(struct amb_core *c, struct core_node *node,
             const struct amb_event *ev)
{
    uint32_t held[CONFIG_MAX_SLOTS];
    const char *why = ev->u.gone.text[0] ? ev->u.gone.text : "closed";
    struct core_peer *peer;
    size_t n;

    if (!node->hello) {
        if (!node->control)
            core_log(c, AMB_LOG_WARN, 0,
                     "connection from %s dropped before hello: %s", node->peer,
                     why);
        core_node_remove(c, node);
        return;
    }
    /* Lost liveness, or its process died holding work: the breaker
     * opens, and the name carries it to its next session, so a node
     * that keeps crashing mid-set waits out a cooldown each time. */
    if (ev->u.gone.trip)
        nodewatch_trip(&node->w, c->now, why);
    else if (ev->u.gone.died && node->w.nheld > 0)
        nodewatch_trip(&node->w, c->now, "its process died holding sets");
    core_breaker_log(c, node);
    n = c->job != NULL
            ? set_table_held(c->sets, node->session, held, CONFIG_MAX_SLOTS)
            : 0;
    peer = core_peer_get(c, node->name);
    liveness_lost(&peer->lv, ev->u.gone.died, c->now);
    peer->advances_since_lost = 0;
    peer->br = node->w.br;
    peer->have_br = 1;
    if (!ev->u.gone.died) {
        /* Alive, maybe: its sets wait for its lease or its return. */
        core_log(c, AMB_LOG_INFO, 0,
                 "node %s: session ended: %s; its %zu set(s) wait for it "
                 "(reclaimed %llu ms after its lease stops advancing)",
                 node->name, why, n, (unsigned long long)c->cfg->reclaim_ms);
        core_node_remove(c, node);
        return;
    }
    core_log(c, AMB_LOG_INFO, 0, "node %s: session ended: %s (process gone)",
             node->name, why);
    /* Reclaim in batches until the session holds nothing. */
    while (c->job != NULL && (n = set_table_held(c->sets, node->session, held,
                                                 CONFIG_MAX_SLOTS)) > 0) {
        if (n > CONFIG_MAX_SLOTS)
            n = CONFIG_MAX_SLOTS;
        for (size_t i = 0; i < n; i++)
            core_reclaim(c, held[i], node->name, AMB_RECLAIM_DIED, why);
    }
    core_node_remove(c, node);
}

/* ---- the share and the leases ---- */

/* Add set to the orphan candidates. */
static void
core_orphans_add(struct amb_core *c, uint32_t set)
{
    if (c->norphans == c->caporphans) {
        size_t cap = c->caporphans ? 2 * c->caporphans : CORE_ACTS_MIN;
        uint32_t *no = realloc(c->orphans, cap * sizeof(*no));
        FF_ASSERT(no != NULL); /* out of memory: nothing safe to do */
        c->orphans = no;
        c->caporphans = cap;
    }
    c->orphans[c->norphans++] = set;
}

/* session ended: the sets it holds become orphan candidates. One pass
 * over the table per session that ends, instead of one per tick. */
static void
core_orphans_note(struct amb_core *c, uint64_t session)
{
    if (c->job == NULL)
        return;
    for (uint32_t i = 0; i < c->job->nsets; i++) {
        const struct set_info *s = set_table_get(c->sets, i);
        if (s->status == SET_PROCESSING && s->holder == session)
            core_orphans_add(c, i);
    }
}

/* Sets held by sessions that ended: take them back when the node's
 * liveness says so (liveness.h), or when its lease, renewed since we lost
 * it, no longer lists them. Only the candidates are looked at (sets held
 * when their session ended, and those Processing at a restart); one that
 * is no longer Processing, or is held by a live session again (a
 * reattach), is dropped from them. */
static void
core_check_orphans(struct amb_core *c)
{
    int share_ok = core_share_ok(c);
    size_t end, keep = 0;
    if (c->job == NULL || c->now < c->next_orphan_check_ms)
        return;
    c->next_orphan_check_ms = c->now + AMB_CORE_TICK_MS;
    /* A reclaim may end sessions, which adds candidates past end. */
    end = c->norphans;
    for (size_t k = 0; k < end; k++) {
        uint32_t i = c->orphans[k];
        const struct set_info *s = set_table_get(c->sets, i);
        const struct core_peer *p;
        char why[ERR_MAX];
        if (c->failed) {
            c->orphans[keep++] = i;
            continue;
        }
        if (s == NULL || s->status != SET_PROCESSING ||
            core_node_find(c, s->holder) != NULL)
            continue;
        if (s->checking) {
            c->orphans[keep++] = i;
            continue;
        }
        p = core_peer_find(c, s->holder_name);
        if (p == NULL) {
            core_reclaim(c, i, s->holder_name, AMB_RECLAIM_NOSESSION,
                         "no session");
            continue;
        }
        if (p->lv.connected) {
            core_reclaim(c, i, s->holder_name, AMB_RECLAIM_BACK,
                         "the node came back without it");
            continue;
        }
        if (liveness_judge(&p->lv, c->cfg->reclaim_ms, share_ok,
                           c->share_healthy_ms, c->now) == LIVENESS_RECLAIM) {
            snprintf(why, sizeof(why),
                     "silent; lease last advanced %llu ms ago",
                     (unsigned long long)(c->now - (p->lv.have_lease
                                                        ? p->lv.lease_seen_ms
                                                        : p->lv.lost_ms)));
            core_reclaim(c, i, s->holder_name, AMB_RECLAIM_SILENT, why);
            continue;
        }
        if (share_ok && p->have_last &&
            p->advances_since_lost >= CORE_LEASE_ADVANCES &&
            (p->last.state == LEASE_FENCED ||
             !lease_holds(&p->last, i, s->epoch))) {
            core_reclaim(c, i, s->holder_name, AMB_RECLAIM_LEASE,
                         "its lease no longer lists the set");
            continue;
        }
        c->orphans[keep++] = i;
    }
    /* (No list yet when nothing was ever a candidate: memmove takes no
     * null pointer, even for no bytes.) */
    if (c->norphans > end)
        memmove(c->orphans + keep, c->orphans + end,
                (c->norphans - end) * sizeof(*c->orphans));
    c->norphans = keep + (c->norphans - end);
}

static void
core_on_lease(struct amb_core *c, const struct amb_event *ev)
{
    struct core_peer *p = core_peer_get(c, ev->u.lease.node);
    if (!liveness_lease(&p->lv, ev->u.lease.counter, c->now))
        return; /* not newer than what we have: a stale read */
    if (!p->lv.connected)
        p->advances_since_lost++;
    p->last = ev->u.lease;
    p->have_last = 1;
}

static void
core_on_share(struct amb_core *c, const struct amb_event *ev)
{
    const struct ev_share *sh = &ev->u.share;
    if (sh->gen > c->cfg->gen) {
        struct amb_act *a;
        core_log(c, AMB_LOG_WARN, 0,
                 "replaced by ambassador generation %llu (this is %llu): "
                 "exiting without writing",
                 (unsigned long long)sh->gen, (unsigned long long)c->cfg->gen);
        a = core_act(c, ACT_EXIT_REPLACED, 0, 0);
        a->u.gen = sh->gen;
        return;
    }
    if (!sh->ok) {
        core_log(c, AMB_LOG_WARN, 0, "share probe failed: %s", sh->text);
        return;
    }
    c->share_free = sh->free_bytes;
    if (sh->full != c->share_full) {
        c->share_full = sh->full;
        if (sh->full)
            core_log(c, AMB_LOG_WARN, 0,
                     "share is full (%llu MiB free, %llu MiB wanted): no new "
                     "work until there is space again",
                     (unsigned long long)(sh->free_bytes >> CORE_MIB_SHIFT),
                     (unsigned long long)(c->cfg->share_min_free_bytes >>
                                          CORE_MIB_SHIFT));
        else
            core_log(c, AMB_LOG_INFO, 0,
                     "share has space again (%llu MiB free); dispatch resumes",
                     (unsigned long long)(sh->free_bytes >> CORE_MIB_SHIFT));
    }
    c->share_ok_ms = c->now;
    c->share_seen = 1;
    if (c->share_sick) {
        core_log(c, AMB_LOG_INFO, 0,
                 "share answers again; dispatch and lease-based reclaim "
                 "resume");
        c->share_sick = 0;
        c->share_healthy_ms = c->now;
    }
}

/* The share is sick when its probe has not answered for share_suspect_ms
 * (a hung mount answers nothing at all). */
static void
core_check_share(struct amb_core *c)
{
    if (c->now - c->share_ok_ms >= c->cfg->share_suspect_ms && !c->share_sick) {
        core_log(c, AMB_LOG_WARN, 0,
                 "share has not answered for %llu ms: pausing dispatch and "
                 "lease-based reclaim",
                 (unsigned long long)(c->now - c->share_ok_ms));
        c->share_sick = 1;
    }
}

/* A connected node whose lease has been still for reclaim_ms loses its
 * sets by the same rule as a silent one: it has fenced itself, or works
 * where we cannot see, and a node that never reports must not stall the
 * job. It is told to drop them (a late result carries an old epoch and is
 * refused). */
static void
core_reclaim_from_connected(struct amb_core *c, struct core_node *n,
                            uint64_t age)
{
    uint32_t held[CONFIG_MAX_SLOTS];
    char why[ERR_MAX];
    size_t k;

    snprintf(why, sizeof(why),
             "connected, but its lease last advanced %llu ms ago",
             (unsigned long long)age);
    while ((k = set_table_held(c->sets, n->session, held, CONFIG_MAX_SLOTS)) >
           0) {
        if (k > CONFIG_MAX_SLOTS)
            k = CONFIG_MAX_SLOTS;
        for (size_t i = 0; i < k; i++) {
            uint64_t epoch = set_table_get(c->sets, held[i])->epoch;
            core_reclaim(c, held[i], n->name, AMB_RECLAIM_SILENT, why);
            nodewatch_release(&n->w, held[i], epoch);
            core_send(c, n->session, AMB_MSG_CANCEL, held[i], epoch, 0, NULL);
        }
    }
}

/* Each connected node's breaker watches its lease: when the lease has not
 * advanced for longer than the node may work without renewing it
 * (fence_ms, plus the lag of our view: a renewal period and a poll) while
 * the share answers, the node gets no work until it moves again; past
 * reclaim_ms it loses the sets it holds. */
static void
core_check_leases(struct amb_core *c)
{
    if (!core_share_ok(c) || c->job == NULL)
        return; /* every lease looks still while the share is sick */
    for (struct core_node *n = c->nodes; n != NULL; n = n->next) {
        const struct core_peer *p;
        uint64_t age;
        int stale;
        if (!n->hello || (p = n->known) == NULL)
            continue;
        age = liveness_lease_age(&p->lv, c->share_healthy_ms, c->now);
        stale = age >= c->cfg->fence_ms + c->cfg->lease_renew_ms +
                           c->cfg->share_poll_ms;
        if (stale && age >= c->cfg->reclaim_ms)
            core_reclaim_from_connected(c, n, age);
        if (!nodewatch_lease(&n->w, stale, c->now))
            continue;
        if (stale)
            core_log(c, AMB_LOG_WARN, 0,
                     "node %s: connected, but its lease has not advanced for "
                     "%llu ms: no new work for it",
                     n->name, (unsigned long long)age);
        else
            core_log(c, AMB_LOG_INFO, 0, "node %s: its lease advances again",
                     n->name);
    }
}

/* ---- speculative backups: the table of them ---- */

static struct core_spec *
core_spec_add(struct amb_core *c, uint32_t set, uint64_t epoch,
              uint64_t session, int loser)
{
    struct core_spec *e;
    if (c->nspec == c->capspec) {
        size_t cap = c->capspec ? 2 * c->capspec : CORE_ACTS_MIN;
        struct core_spec *ns = realloc(c->spec, cap * sizeof(*ns));
        FF_ASSERT(ns != NULL); /* out of memory: nothing safe to do */
        c->spec = ns;
        c->capspec = cap;
    }
    e = &c->spec[c->nspec++];
    e->set = set;
    e->epoch = epoch;
    e->session = session;
    e->started = c->now;
    e->loser = loser;
    return e;
}

/* The entry for (set, epoch), or NULL. */
static struct core_spec *
core_spec_find(struct amb_core *c, uint32_t set, uint64_t epoch, int loser)
{
    for (size_t i = 0; i < c->nspec; i++)
        if (c->spec[i].set == set && c->spec[i].epoch == epoch &&
            c->spec[i].loser == loser)
            return &c->spec[i];
    return NULL;
}

static void
core_spec_del(struct amb_core *c, struct core_spec *e)
{
    *e = c->spec[--c->nspec];
}

/* The node that runs the attempt of set at epoch (a backup's included). */
static const char *
core_attempt_name(const struct set_info *s, uint64_t epoch)
{
    if (s->alt_name[0] != '\0' && s->alt_epoch == epoch)
        return s->alt_name;
    return s->holder_name;
}

/* n's mean set time, else the farm's; 0 when no set was timed yet. */
static uint64_t
core_set_ms(const struct amb_core *c, const struct core_node *n)
{
    if (n != NULL && n->timed > 0)
        return n->set_ms;
    return c->set_ms_n > 0 ? c->set_ms_sum / c->set_ms_n : 0;
}

static void
core_time_set(struct amb_core *c, struct core_node *n, uint64_t ms)
{
    c->set_ms_sum += ms;
    c->set_ms_n++;
    if (n == NULL)
        return;
    if (n->timed < CORE_SPEED_WINDOW)
        n->timed++;
    n->set_ms = (n->set_ms * (n->timed - 1) + ms) / n->timed;
}

/* A set was counted at epoch: time it, and cancel the attempt that lost
 * the race, if a backup ran. s as it was before the accept. */
static void
core_count_race(struct amb_core *c, const struct set_info *s, uint32_t set,
                uint64_t epoch, struct core_node *winner)
{
    struct core_spec *e = core_spec_find(c, set, epoch, 0);
    uint64_t started = e != NULL ? e->started : c->started[set];
    int alt = s->alt_name[0] != '\0', won = alt && s->alt_epoch == epoch;
    uint64_t lsession = won ? s->holder : s->alt_holder;
    uint64_t lepoch = won ? s->epoch : s->alt_epoch;
    struct core_node *loser;

    core_time_set(c, winner, c->now >= started ? c->now - started : 0);
    if (e != NULL)
        core_spec_del(c, e);
    if (!alt)
        return;
    if ((e = core_spec_find(c, set, s->alt_epoch, 0)) != NULL)
        core_spec_del(c, e);
    if (won)
        c->st.backups_won++;
    core_log(c, AMB_LOG_INFO, 0,
             "job %s set %u: the %s on node %s was counted first; cancelling "
             "epoch %llu on node %s",
             c->job->id, set, won ? "backup" : "first attempt",
             won ? s->alt_name : s->holder_name, (unsigned long long)lepoch,
             won ? s->holder_name : s->alt_name);
    core_spec_add(c, set, lepoch, lsession, 1);
    loser = core_node_find(c, lsession);
    if (loser != NULL && loser->hello) {
        nodewatch_release(&loser->w, set, lepoch);
        /* Its worker stops the render at its next frame: nothing new for
         * a heartbeat's time, or the assign would find no free slot. */
        nodewatch_decline(&loser->w, c->now + c->cfg->hb_ms);
        core_send(c, lsession, AMB_MSG_CANCEL, set, lepoch, 0, NULL);
    }
}

/* A done from the attempt that lost the race (cancelled, but it had
 * finished first) or that lost it while the other was being checked:
 * stale, its file removed, no fault of its node's. 1 when it was one. */
static int
core_race_lost(struct amb_core *c, struct core_node *node,
               const struct ev_result *res, const char *rel)
{
    const struct set_info *s = set_table_get(c->sets, res->set);
    struct core_spec *e = core_spec_find(c, res->set, res->epoch, 1);
    struct amb_act *a;

    if (e != NULL) {
        core_spec_del(c, e);
    } else if (s->status == SET_PROCESSING &&
               set_table_holds(c->sets, res->set, node->session, res->epoch) &&
               !(res->epoch == s->epoch ? s->checking : s->alt_checking)) {
        /* The other attempt's result is being checked: this one ends. */
        if (set_table_unassign(c->sets, res->set, res->epoch) == -1)
            return 0;
        core_record_set(c, JREC_UNASSIGN, res->set, res->epoch, node->name,
                        NULL);
    } else {
        return 0;
    }
    core_log(c, AMB_LOG_INFO, 0,
             "job %s set %u epoch %llu: node %s lost the race to the other "
             "attempt; its result removed",
             c->job->id, res->set, (unsigned long long)res->epoch, node->name);
    a = core_act(c, ACT_REMOVE, node->session, 0);
    snprintf(a->u.path, sizeof(a->u.path), "%s", rel);
    core_send(c, node->session, AMB_MSG_RESULT, res->set, res->epoch, 0,
              "stale epoch (another attempt was counted first)");
    return 1;
}

/* Backups whose node's session ended are dropped (the first attempt still
 * holds the set), and a first attempt whose session ended leaves the set
 * to its backup; a backup left alone becomes the set's attempt. */
static void
core_check_backups(struct amb_core *c)
{
    for (size_t i = 0; c->job != NULL && i < c->nspec;) {
        struct core_spec *e = &c->spec[i];
        const struct set_info *s = set_table_get(c->sets, e->set);
        uint32_t set = e->set;
        char name[IDENT_MAX + 1];
        if (e->loser) {
            i++;
            continue;
        }
        if (!set_table_holds(c->sets, set, e->session, e->epoch)) {
            core_spec_del(c, e);
            continue;
        }
        if (s->alt_name[0] == '\0' || s->alt_epoch != e->epoch) {
            c->started[set] = e->started; /* the set's attempt now */
            core_spec_del(c, e);
            continue;
        }
        if (core_node_find(c, e->session) == NULL && !s->alt_checking) {
            snprintf(name, sizeof(name), "%s", s->alt_name);
            core_spec_del(c, e);
            core_reclaim_epoch(c, set, s->alt_epoch, name, AMB_RECLAIM_DIED,
                               "its backup's session ended");
            continue;
        }
        if (core_node_find(c, s->holder) == NULL && !s->checking) {
            snprintf(name, sizeof(name), "%s", s->holder_name);
            core_reclaim_epoch(c, set, s->epoch, name, AMB_RECLAIM_DIED,
                               "its session ended");
        }
        i++;
    }
}

/* ---- results ---- */

static void
core_on_done(struct amb_core *c, struct core_node *node,
             const struct amb_event *ev)
{
    const struct ev_result *res = &ev->u.result;
    char rel[FS_PATH_MAX], abs[FS_PATH_MAX];
    const struct set_info *s = set_table_get(c->sets, res->set);
    uint64_t first, count;
    struct amb_act *a;

    nodewatch_release(&node->w, res->set, res->epoch);
    if (s == NULL ||
        job_result_rel(c->job, res->set, res->epoch, node->name, rel,
                       sizeof(rel)) == -1 ||
        fs_join(abs, sizeof(abs), c->job->share, rel) == -1) {
        core_log(c, AMB_LOG_WARN, 0,
                 "node %s: done for set %u epoch %llu that cannot be placed; "
                 "rejected",
                 node->name, res->set, (unsigned long long)res->epoch);
        if (s != NULL && s->holder == node->session &&
            set_table_fail(c->sets, res->set, res->epoch, "bad result path",
                           NULL) == 0) {
            core_record_set(c, JREC_FAIL, res->set, res->epoch, node->name,
                            "bad result path");
            core_after_failure(c, res->set);
        }
        core_send_result(c, node->session, res->set, res->epoch, 0,
                         "bad result");
        return;
    }
    /* Only the session that holds the set at this epoch (its first
     * attempt or its backup) may report it, and only once. */
    if (!set_table_holds(c->sets, res->set, node->session, res->epoch) ||
        set_table_begin_check(c->sets, res->set, res->epoch) == -1) {
        /* A second report of a result already counted or under check must
         * not remove the file being counted. */
        int dup;
        if (core_race_lost(c, node, res, rel))
            return;
        dup = (c->accepted[res->set] != NULL &&
               strcmp(c->accepted[res->set], rel) == 0) ||
              (s->status == SET_PROCESSING &&
               (s->epoch == res->epoch ||
                (s->alt_name[0] != '\0' && s->alt_epoch == res->epoch)));
        if (dup) {
            c->st.duplicates++;
            core_log(c, AMB_LOG_WARN, 0,
                     "job %s set %u epoch %llu: duplicate done from node %s "
                     "ignored",
                     c->job->id, res->set, (unsigned long long)res->epoch,
                     node->name);
        } else {
            c->st.stale_results++;
            core_log(c, AMB_LOG_WARN, 0,
                     "job %s set %u epoch %llu: stale result from node %s "
                     "rejected (set is %c at epoch %llu)",
                     c->job->id, res->set, (unsigned long long)res->epoch,
                     node->name, s->status, (unsigned long long)s->epoch);
            a = core_act(c, ACT_REMOVE, node->session, 0);
            snprintf(a->u.path, sizeof(a->u.path), "%s", rel);
        }
        core_send_result(c, node->session, res->set, res->epoch, 0,
                         dup ? "duplicate" : "stale epoch");
        return;
    }
    job_set_range(c->job, res->set, &first, &count);
    if (strcmp(res->path, rel) != 0 || res->frames != count) {
        char why[ERR_MAX];
        snprintf(why, sizeof(why),
                 "node %s reported %.200s with %llu frames; expected %.200s "
                 "with %llu",
                 node->name, res->path, (unsigned long long)res->frames, rel,
                 (unsigned long long)count);
        set_table_reject(c->sets, res->set, res->epoch, why, NULL);
        core_record_set(c, JREC_REJECT, res->set, res->epoch, node->name, why);
        c->st.rejected_results++;
        core_log(c, AMB_LOG_WARN, 0,
                 "job %s set %u epoch %llu: result rejected: %s", c->job->id,
                 res->set, (unsigned long long)res->epoch, why);
        core_send_result(c, node->session, res->set, res->epoch, 0, why);
        core_after_failure(c, res->set);
        return;
    }
    a = core_act(c, ACT_CHECK, node->session, 0);
    a->u.check.r = *res;
    a->u.check.frames = count;
}

static void
core_count(struct amb_core *c, const struct ev_checked *k, const char *name)
{
    const struct ev_result *res = &k->r;
    struct jrec *r = core_record(c, JREC_ACCEPT);
    r->set = res->set;
    r->epoch = res->epoch;
    r->bytes = res->bytes;
    snprintf(r->node, sizeof(r->node), "%s", name);
    snprintf(r->path, sizeof(r->path), "%s", res->path);
    snprintf(r->sha256, sizeof(r->sha256), "%s", res->sha256);
    FF_ASSERT(c->accepted[res->set] == NULL); /* counted once */
    c->accepted[res->set] = strdup(res->path);
    FF_ASSERT(c->accepted[res->set] != NULL);
    free(c->accepted_sha[res->set]);
    c->accepted_sha[res->set] = strdup(res->sha256);
    FF_ASSERT(c->accepted_sha[res->set] != NULL);
    if (!c->have_first_info) {
        c->first_info = k->info;
        c->have_first_info = 1;
    } else if (!vidinfo_compatible(&c->first_info, &k->info)) {
        core_log(c, AMB_LOG_WARN, 0,
                 "job %s set %u: stream parameters differ from set 0's "
                 "(%s %s profile %d level %d)",
                 c->job->id, res->set, k->info.codec, k->info.pix_fmt,
                 k->info.profile, k->info.level);
    }
    c->st.counted++;
    FF_ASSERT(c->st.counted - c->st.lost <= c->job->nsets);
    c->st.damaged += res->damaged;
    if (res->damaged > 0)
        core_log(c, AMB_LOG_WARN, 0,
                 "job %s set %u: %llu frame(s) decoded with corruption "
                 "warnings (libjpeg-turbo kept what it could)",
                 c->job->id, res->set, (unsigned long long)res->damaged);
    if (res->fallback[0] != '\0' && c->st.fallbacks++ == 0) {
        snprintf(c->st.fallback_encoder, sizeof(c->st.fallback_encoder), "%s",
                 res->encoder);
        snprintf(c->st.fallback_why, sizeof(c->st.fallback_why), "%s",
                 res->fallback);
    }
    if (res->bytes > c->max_result)
        c->max_result = res->bytes;
}

static void
core_on_checked(struct amb_core *c, const struct amb_event *ev)
{
    const struct ev_checked *k = &ev->u.checked;
    const struct set_info *s = set_table_get(c->sets, k->r.set);
    struct core_node *node = core_node_find(c, ev->session);
    char name[IDENT_MAX + 1];
    struct set_info before;

    if (s == NULL) {
        /* A check begun for a job that is over (cancelled or failed while
         * it ran) and has more sets than this one: stale. */
        c->st.stale_results++;
        core_send_result(c, ev->session, k->r.set, k->r.epoch, 0,
                         "stale epoch (its job is over)");
        return;
    }
    snprintf(name, sizeof(name), "%s", core_attempt_name(s, k->r.epoch));
    if (!k->ok) {
        if (set_table_reject(c->sets, k->r.set, k->r.epoch, k->text, NULL) ==
            0) {
            core_record_set(c, JREC_REJECT, k->r.set, k->r.epoch, name,
                            k->text);
            c->st.rejected_results++;
            core_log(c, AMB_LOG_WARN, 0,
                     "job %s set %u epoch %llu: result from node %s "
                     "rejected: %s; %s",
                     c->job->id, k->r.set, (unsigned long long)k->r.epoch, name,
                     k->text, core_left_to(c, k->r.set));
            core_after_failure(c, k->r.set);
        }
        core_send_result(c, ev->session, k->r.set, k->r.epoch, 0, k->text);
        return;
    }
    before = *s;
    if (set_table_accept(c->sets, k->r.set, k->r.epoch) == -1) {
        core_log(c, AMB_LOG_WARN, 0,
                 "job %s set %u epoch %llu: check passed but the set moved "
                 "on; not counted",
                 c->job->id, k->r.set, (unsigned long long)k->r.epoch);
        return;
    }
    FF_ASSERT(set_table_get(c->sets, k->r.set)->status == SET_COUNTED);
    core_count(c, k, name);
    if (node != NULL)
        node->counted++;
    core_count_race(c, &before, k->r.set, k->r.epoch, node);
    /* Say "counted" once the accept is durable, like every other act that
     * others can see: an ambassador stopped before its journal caught up
     * must not have claimed a set its successor will count. */
    core_log(c, AMB_LOG_INFO, 1,
             "job %s set %u epoch %llu: counted (node %s, %llu frames, "
             "%s %s%s%.120s, %.300s)",
             c->job->id, k->r.set, (unsigned long long)k->r.epoch, name,
             (unsigned long long)k->info.frames, k->r.encoder, k->r.preset,
             k->r.fallback[0] != '\0' ? ", fallback: " : "", k->r.fallback,
             k->r.path);
    core_send_result(c, ev->session, k->r.set, k->r.epoch, 1, NULL);
}

static void
core_on_fail(struct amb_core *c, struct core_node *node,
             const struct amb_event *ev)
{
    const struct ev_set *f = &ev->u.set;
    nodewatch_release(&node->w, f->set, f->epoch);
    if (f->nospace) {
        /* The share is full: the environment refused, not the set or the
         * node. The set goes back without a failure counted, and nothing
         * is handed out until the share probe has looked again. */
        c->nospace_until = c->now + CORE_NOSPACE_POLLS * c->cfg->share_poll_ms;
        c->nospace_free =
            c->share_free +
            (CORE_NOSPACE_RESULTS * c->max_result > CORE_NOSPACE_MARGIN
                 ? CORE_NOSPACE_RESULTS * c->max_result
                 : CORE_NOSPACE_MARGIN);
        if (set_table_unassign(c->sets, f->set, f->epoch) == 0) {
            core_record_set(c, JREC_UNASSIGN, f->set, f->epoch, node->name,
                            NULL);
            core_log(c, AMB_LOG_WARN, 0,
                     "job %s set %u epoch %llu: node %s has no space on the "
                     "share (%s); Available again, no failure counted",
                     c->job->id, f->set, (unsigned long long)f->epoch,
                     node->name, f->text);
        }
        return;
    }
    if (f->decline) {
        /* The node's environment refused (busy with a fenced render, its
         * share gone): the set goes back without a failure counted and
         * the node's breaker is not charged; it is offered nothing for a
         * lease period, the time its state takes to change. */
        nodewatch_decline(&node->w, c->now + c->cfg->lease_renew_ms);
        if (set_table_unassign(c->sets, f->set, f->epoch) == 0) {
            core_record_set(c, JREC_UNASSIGN, f->set, f->epoch, node->name,
                            NULL);
            c->st.declined++;
            core_log(c, AMB_LOG_WARN, 0,
                     "job %s set %u epoch %llu: node %s declined it (%s); "
                     "Available again, no failure counted",
                     c->job->id, f->set, (unsigned long long)f->epoch,
                     node->name, f->text);
        }
        return;
    }
    if (f->share_io) {
        /* The share failed under the render (a soft mount reconnecting,
         * a server away): a loss like a cable's, counted against
         * max_reclaims_per_set, not the set's render failures nor the
         * node's breaker. */
        const struct set_info *si = set_table_get(c->sets, f->set);
        /* Offered nothing while the share may still be failing it. */
        nodewatch_decline(&node->w, c->now + c->cfg->share_suspect_ms);
        if (si != NULL &&
            set_table_holds(c->sets, f->set, node->session, f->epoch))
            core_reclaim_epoch(c, f->set, f->epoch, node->name,
                               AMB_RECLAIM_SHARE, f->text);
        return;
    }
    nodewatch_outcome(&node->w, false, c->now, "the node failed a set");
    if (set_table_fail(c->sets, f->set, f->epoch, f->text, NULL) == -1) {
        core_log(c, AMB_LOG_DEBUG, 0,
                 "node %s: fail for set %u epoch %llu ignored (stale)",
                 node->name, f->set, (unsigned long long)f->epoch);
        return;
    }
    core_record_set(c, JREC_FAIL, f->set, f->epoch, node->name, f->text);
    core_log(c, AMB_LOG_WARN, 0,
             "job %s set %u epoch %llu: failed on node %s: %s; %s", c->job->id,
             f->set, (unsigned long long)f->epoch, node->name, f->text,
             core_left_to(c, f->set));
    core_after_failure(c, f->set);
}

/* An assign the loop could not build goes back to Available, no failure
 * counted. */
static void
core_on_undelivered(struct amb_core *c, struct core_node *node,
                    const struct amb_event *ev)
{
    const struct ev_set *u = &ev->u.set;
    nodewatch_release(&node->w, u->set, u->epoch);
    breaker_release_probe(&node->w.br);
    if (set_table_unassign(c->sets, u->set, u->epoch) == 0) {
        core_record_set(c, JREC_UNASSIGN, u->set, u->epoch, node->name, NULL);
        c->st.declined++;
    }
}

/* Counted results found missing or changed at the concat: those sets are
 * rendered again (never concatenated as they are now), and the concat
 * runs once they are counted anew. A set lost max_failures_per_set times
 * stops the job like any other. */
static void
core_lose(struct amb_core *c, const struct ev_concated *k)
{
    core_log(c, AMB_LOG_WARN, 0,
             "job %s: %u counted mini-video(s) are missing or changed since "
             "they were counted (%s); rendering them again",
             c->job->id, k->nbad, k->text);
    for (uint32_t i = 0; i < k->nbad && i < EV_CONCAT_BAD_MAX; i++) {
        uint32_t set = k->bad[i];
        const struct set_info *s = set_table_get(c->sets, set);
        uint64_t epoch;
        char why[ERR_MAX];
        if (s == NULL || s->status != SET_COUNTED)
            continue;
        epoch = s->epoch;
        snprintf(why, sizeof(why),
                 "its counted mini-video %.300s is missing "
                 "or changed",
                 c->accepted[set] != NULL ? c->accepted[set] : "?");
        if (set_table_lose(c->sets, set, epoch, why) == -1)
            continue;
        core_record_set(c, JREC_LOST, set, epoch, s->holder_name, why);
        free(c->accepted[set]);
        free(c->accepted_sha[set]);
        c->accepted[set] = c->accepted_sha[set] = NULL;
        c->st.lost++;
        c->progress[set] = 0;
        if (!c->failed && s->losses >= c->cfg->max_failures_per_set)
            core_fail_job(c, set);
    }
    c->concat_started = 0;
}

static void
core_on_concated(struct amb_core *c, const struct amb_event *ev)
{
    const struct ev_concated *k = &ev->u.concated;
    struct jrec *r;
    if (!k->ok && k->nbad > 0) {
        core_lose(c, k);
        return;
    }
    if (!k->ok && k->transient) {
        /* Descriptors, memory or space run short: every set is still
         * counted, so this is no reason to fail the job. */
        c->concat_backoff = c->concat_backoff == 0 ? AMB_CORE_CONCAT_RETRY_MS
                                                   : c->concat_backoff * 2;
        if (c->concat_backoff > AMB_CORE_CONCAT_RETRY_MAX_MS)
            c->concat_backoff = AMB_CORE_CONCAT_RETRY_MAX_MS;
        c->concat_retry_ms = c->now + c->concat_backoff;
        c->concat_started = 0;
        core_log(c, AMB_LOG_WARN, 0,
                 "job %s: concat failed for want of resources: %s; trying "
                 "again in %llu ms",
                 c->job->id, k->text, (unsigned long long)c->concat_backoff);
        return;
    }
    if (!k->ok) {
        snprintf(c->report, sizeof(c->report), "concat failed: %s", k->text);
        core_log(c, AMB_LOG_WARN, 0, "job %s: %s", c->job->id, c->report);
        c->failed = 1;
        return;
    }
    core_log(c, AMB_LOG_INFO, 0, "job %s: wrote %s: %llu frames, verified",
             c->job->id, c->job->output, (unsigned long long)k->frames);
    r = core_record(c, JREC_CONCAT);
    r->done = 1;
    r->frames = k->frames;
    core_act(c, ACT_DONE, 0, 1);
}

/* ---- dispatch ---- */

static int
core_failed_on(const struct amb_core *c, uint32_t set, const char *name)
{
    const struct set_info *s = set_table_get(c->sets, set);
    for (uint32_t i = 0; i < s->nfailed_on; i++)
        if (strcmp(s->hist->failed_on[i], name) == 0)
            return 1;
    return 0;
}

/* Is another node that has not failed this set able to work (busy or
 * not)? A node that cannot (silent, its lease still, its breaker cooling
 * down) must not strand the set. */
static int
core_someone_else_can(const struct amb_core *c, uint32_t set,
                      const struct core_node *self)
{
    for (const struct core_node *n = c->nodes; n != NULL; n = n->next)
        if (n != self && n->hello && !n->drained &&
            nodewatch_usable(&n->w, c->now) && !core_failed_on(c, set, n->name))
            return 1;
    return 0;
}

static void
core_assign(struct amb_core *c, struct core_node *n, uint32_t set)
{
    uint64_t epoch;
    int r = set_table_assign(c->sets, set, n->session, n->name, &epoch);
    FF_ASSERT(r == 0); /* set_table_pick chose it */
    core_record_set(c, JREC_ASSIGN, set, epoch, n->name, NULL);
    r = nodewatch_hold(&n->w, set, epoch);
    FF_ASSERT(r == 0); /* nodewatch_can_take saw a free slot */
    c->progress[set] = 0;
    c->started[set] = c->now;
    c->st.assigned++;
    core_log(c, AMB_LOG_INFO, 0,
             "job %s set %u epoch %llu: assigned to node %s", c->job->id, set,
             (unsigned long long)epoch, n->name);
    core_send(c, n->session, AMB_MSG_ASSIGN, set, epoch, 0, NULL);
}

/* Assign set, in B, to n as well: a speculative backup. */
static void
core_backup(struct amb_core *c, struct core_node *n, uint32_t set)
{
    const struct set_info *s = set_table_get(c->sets, set);
    uint64_t epoch, age = c->now - c->started[set];
    int r = set_table_backup(c->sets, set, n->session, n->name, &epoch);
    FF_ASSERT(r == 0); /* core_dispatch_backups chose it */
    core_record_set(c, JREC_ASSIGN, set, epoch, n->name, NULL);
    r = nodewatch_hold(&n->w, set, epoch);
    FF_ASSERT(r == 0); /* nodewatch_can_take saw a free slot */
    core_spec_add(c, set, epoch, n->session, 0);
    c->nbackups[set]++;
    c->st.backups++;
    core_log(c, AMB_LOG_INFO, 0,
             "job %s set %u epoch %llu: backup assigned to node %s (node %s "
             "has had it for %llu ms, its sets take %llu ms)",
             c->job->id, set, (unsigned long long)epoch, n->name,
             s->holder_name, (unsigned long long)age,
             (unsigned long long)core_set_ms(c, core_node_find(c, s->holder)));
    core_send(c, n->session, AMB_MSG_ASSIGN, set, epoch, 0, NULL);
}

/* When the attempt at set is expected to end: after its holder's own
 * mean set time when it has one and is within it; else at its pace as far
 * as its node reported progress (an encoder's lookahead makes early
 * progress optimistic, so the node's own mean comes first); else after the
 * farm's mean; one already past that is assumed halfway (its node is
 * slower than known). */
static uint64_t
core_expected_end(const struct amb_core *c, uint32_t set,
                  const struct set_info *s)
{
    const struct core_node *h = hmap_get_u64(&c->node_by_session, s->holder);
    uint64_t start = c->started[set], p = c->progress[set], first, count;
    uint64_t elapsed = c->now > start ? c->now - start : 0;
    uint64_t mean = core_set_ms(c, h);
    job_set_range(c->job, set, &first, &count);
    if (h != NULL && h->timed > 0 && elapsed < mean)
        return start + mean;
    if (p > 0 && p < count)
        return start + elapsed * count / p;
    if (elapsed < mean)
        return start + mean;
    return start + 2 * elapsed;
}

/* Nothing is left to hand out: an idle node takes a backup of the set in
 * B expected to finish last (core_expected_end), when it is expected to
 * finish it sooner. Needs a set timed first. */
static int
core_idle(const struct amb_core *c, const struct core_node *n)
{
    return n->hello && !n->drained && n->w.nheld == 0 &&
           nodewatch_can_take(&n->w, c->now);
}

static int
core_cand_later(const void *a, const void *b)
{
    const struct core_cand *x = a, *y = b;
    return x->end < y->end ? 1 : x->end > y->end ? -1 : 0;
}

static void
core_dispatch_backups(struct amb_core *c)
{
    const struct core_node *idle = NULL;
    size_t k = 0;

    if (c->cfg->backups == 0 || c->set_ms_n == 0)
        return;
    for (idle = c->nodes; idle != NULL && !core_idle(c, idle);)
        idle = idle->next;
    if (idle == NULL)
        return; /* nobody to take one: no scan */
    /* The sets that may get a backup, latest expected end first (one
     * pass over the table; at most the farm's slots of them). */
    for (uint32_t i = 0; i < c->job->nsets; i++) {
        const struct set_info *s = set_table_get(c->sets, i);
        if (s->status != SET_PROCESSING || s->checking ||
            s->alt_name[0] != '\0' || c->nbackups[i] >= c->cfg->backups)
            continue;
        if (k == c->capcand) {
            size_t cap = c->capcand ? 2 * c->capcand : CORE_ACTS_MIN;
            struct core_cand *nc = realloc(c->cand, cap * sizeof(*nc));
            FF_ASSERT(nc != NULL); /* out of memory: nothing safe to do */
            c->cand = nc;
            c->capcand = cap;
        }
        c->cand[k].set = i;
        c->cand[k++].end = core_expected_end(c, i, s);
    }
    if (k == 0)
        return; /* (and qsort takes no null pointer, even for none) */
    qsort(c->cand, k, sizeof(c->cand[0]), core_cand_later);
    for (struct core_node *n = c->nodes; n != NULL && k > 0; n = n->next) {
        uint64_t mine = c->now + core_set_ms(c, n);
        size_t j;
        if (!core_idle(c, n))
            continue;
        for (j = 0; j < k && c->cand[j].end > mine; j++) {
            const struct set_info *s = set_table_get(c->sets, c->cand[j].set);
            if (strcmp(s->holder_name, n->name) != 0 &&
                !core_failed_on(c, c->cand[j].set, n->name))
                break;
        }
        if (j == k || c->cand[j].end <= mine || !nodewatch_take(&n->w, c->now))
            continue;
        core_backup(c, n, c->cand[j].set);
        memmove(&c->cand[j], &c->cand[j + 1], (k - j - 1) * sizeof(c->cand[0]));
        k--;
    }
}

/* Give free sets to the nodes whose breakers allow, one a round, round
 * robin. */
static void
core_dispatch(struct amb_core *c)
{
    int progress = 1;
    if (c->job == NULL || c->failed || c->concat_started || !core_share_ok(c) ||
        amb_core_paused(c) != NULL)
        return;
    while (progress) {
        progress = 0;
        for (struct core_node *n = c->nodes; n != NULL; n = n->next) {
            int64_t set;
            if (!n->hello || n->drained || !nodewatch_can_take(&n->w, c->now))
                continue;
            set = set_table_pick(c->sets, n->name);
            if (set < 0) {
                core_dispatch_backups(c);
                return;
            }
            /* A set that failed on this node goes to another node when one
             * that has not failed it is connected and able to work; back
             * to this one when every such node has failed it (the failure
             * caps then end the job), or none can work. */
            if (core_failed_on(c, (uint32_t)set, n->name) &&
                core_someone_else_can(c, (uint32_t)set, n))
                continue;
            core_touch(c, n);
            if (!nodewatch_take(&n->w, c->now))
                continue;
            core_assign(c, n, (uint32_t)set);
            progress = 1;
        }
    }
}

static void
core_start_concat(struct amb_core *c)
{
    if (c->job == NULL || c->concat_started || c->failed ||
        !set_table_done(c->sets) || c->now < c->concat_retry_ms)
        return;
    c->concat_started = 1;
    core_log(c, AMB_LOG_INFO, 0,
             "job %s: all %u sets counted; concatenating in set order",
             c->job->id, c->job->nsets);
    /* The concat starts once "concat begun" is durable, so a restart
     * knows to redo it; the final name only ever holds a verified file. */
    core_record(c, JREC_CONCAT);
    core_act(c, ACT_CONCAT, 0, 1);
}

/* The loop steps a tick at every turn (after each batch of events), so
 * what costs O(nodes) runs here at most every AMB_CORE_TICK_MS: the lease
 * watch and the look at every breaker. Dispatch runs then too, and at
 * once after an event that may have freed a slot or a set. */
static void
core_on_tick(struct amb_core *c)
{
    int periodic = c->now >= c->next_periodic_ms;
    core_check_share(c);
    core_check_backups(c);
    core_check_orphans(c);
    if (periodic) {
        c->next_periodic_ms = c->now + AMB_CORE_TICK_MS;
        /* A cooldown may have ended, a lease gone still: any breaker. */
        for (struct core_node *n = c->nodes; n != NULL; n = n->next)
            core_touch(c, n);
        core_check_leases(c);
    }
    if (periodic || c->dispatch_due) {
        c->dispatch_due = 0;
        core_dispatch(c);
    }
    core_start_concat(c);
}

/* ---- requests (the HTTP actions) ---- */

/* A node name gets no new work (on), or again (off); what it holds it
 * finishes. Kept with the name, so a reconnect stays drained. */
static void
core_on_drain(struct amb_core *c, const struct amb_event *ev)
{
    struct core_peer *p = core_peer_get(c, ev->name);
    p->drained = ev->u.drain.on != 0;
    for (struct core_node *n = c->nodes; n != NULL; n = n->next)
        if (n->hello && n->known == p)
            n->drained = p->drained;
    core_log(c, AMB_LOG_INFO, 0, "node %s: %s by request", ev->name,
             p->drained ? "drained (no new work)" : "given work again");
}

/* A set goes back to the queue now: one in B is taken from its node (a
 * stall; journaled as a reclaim, the node told to drop it); one in C has
 * its failures forgiven (journaled as the set's new state), so the stop
 * rule starts afresh and any node may take it. Other states: refused. */
static void
core_on_requeue(struct amb_core *c, const struct amb_event *ev)
{
    uint32_t set = ev->u.set.set;
    const struct set_info *s;
    struct set_info fresh;
    struct jrec *r;

    if (c->job == NULL || strcmp(c->job->id, ev->name) != 0 || c->failed ||
        c->concat_started || set >= c->job->nsets) {
        core_log(c, AMB_LOG_INFO, 0,
                 "requeue of job %s set %u refused: not a set of a running "
                 "job",
                 ev->name, set);
        return;
    }
    s = set_table_get(c->sets, set);
    if (s->status == SET_PROCESSING && !s->checking) {
        uint64_t epoch = s->epoch;
        uint64_t holder = s->holder;
        struct core_node *n = core_node_find(c, holder);
        char name[IDENT_MAX + 1];
        snprintf(name, sizeof(name), "%s", s->holder_name);
        core_reclaim(c, set, name, AMB_RECLAIM_REQUEST, "requeued by request");
        if (n != NULL && n->hello) {
            nodewatch_release(&n->w, set, epoch);
            core_send(c, holder, AMB_MSG_CANCEL, set, epoch, 0, NULL);
        }
        return;
    }
    if (s->status != SET_FAILED) {
        core_log(c, AMB_LOG_INFO, 0, "job %s set %u: requeue refused: it is %c",
                 c->job->id, set, s->status);
        return;
    }
    fresh = *s;
    fresh.status = SET_AVAILABLE;
    fresh.failures = fresh.reclaims = fresh.nfailed_on = 0;
    if (set_table_restore(c->sets, set, &fresh, 0) == -1)
        return;
    r = core_record(c, JREC_SET);
    r->set = set;
    r->info = fresh;
    c->progress[set] = 0;
    core_log(c, AMB_LOG_INFO, 0,
             "job %s set %u epoch %llu: requeued by request (its failures "
             "forgiven); Available again",
             c->job->id, set, (unsigned long long)fresh.epoch);
}

/* ---- the entry point ---- */

/* A node's report while no job runs: the job it belonged to is over. */
static void
core_no_job_event(struct amb_core *c, struct core_node *node,
                  const struct amb_event *ev)
{
    switch (ev->type) {
    case EV_SUSPECT:
        nodewatch_suspect(&node->w, ev->u.suspect.on != 0);
        break;
    case EV_DONE:
        nodewatch_release(&node->w, ev->u.result.set, ev->u.result.epoch);
        c->st.stale_results++;
        core_send(c, node->session, AMB_MSG_RESULT, ev->u.result.set,
                  ev->u.result.epoch, 0, "stale epoch (its job is over)");
        break;
    case EV_FAIL:
    case EV_UNDELIVERED:
        nodewatch_release(&node->w, ev->u.set.set, ev->u.set.epoch);
        break;
    default:
        break;
    }
}

static void
core_on_node_event(struct amb_core *c, struct core_node *node,
                   const struct amb_event *ev)
{
    if (ev->type == EV_HELLO) {
        core_on_hello(c, node, ev);
        return;
    }
    if (ev->type == EV_GONE) {
        core_on_gone(c, node, ev);
        return;
    }
    if (ev->type == EV_CONTROL) {
        node->control = 1; /* a control client: never a node */
        return;
    }
    if (!node->hello)
        return; /* nothing else comes before a hello */
    if (c->job == NULL) {
        core_no_job_event(c, node, ev);
        return;
    }
    switch (ev->type) {
    case EV_SUSPECT:
        nodewatch_suspect(&node->w, ev->u.suspect.on != 0);
        if (ev->u.suspect.on)
            core_log(c, AMB_LOG_WARN, 0, "node %s: suspect: silent for %llu ms",
                     node->name, (unsigned long long)ev->u.suspect.silent_ms);
        break;
    case EV_PROGRESS:
        if (ev->u.set.set < c->job->nsets &&
            set_table_get(c->sets, ev->u.set.set)->epoch == ev->u.set.epoch)
            c->progress[ev->u.set.set] = ev->u.set.frames < UINT32_MAX
                                             ? (uint32_t)ev->u.set.frames
                                             : UINT32_MAX;
        break;
    case EV_DONE:
        core_on_done(c, node, ev);
        break;
    case EV_FAIL:
        core_on_fail(c, node, ev);
        break;
    case EV_UNDELIVERED:
        core_on_undelivered(c, node, ev);
        break;
    default:
        break;
    }
}

const struct amb_act *
amb_core_step(struct amb_core *c, const struct amb_event *ev, uint64_t now_ms,
              size_t *n)
{
    struct core_node *node;

    c->nacts = 0;
    c->now = now_ms;
    /* What may free a slot or a set, or bring a node: dispatch at the
     * next tick. A lease read or a progress report cannot. */
    if (ev->type != EV_TICK && ev->type != EV_LEASE &&
        ev->type != EV_PROGRESS && ev->type != EV_JOURNALED)
        c->dispatch_due = 1;
    switch (ev->type) {
    case EV_ACCEPTED:
        core_on_accepted(c, ev);
        break;
    case EV_CHECKED:
        if (c->job != NULL)
            core_on_checked(c, ev);
        break;
    case EV_CONCATED:
        if (c->job != NULL)
            core_on_concated(c, ev);
        break;
    case EV_SHARE:
        core_on_share(c, ev);
        break;
    case EV_LEASE:
        core_on_lease(c, ev);
        break;
    case EV_TICK:
        core_on_tick(c);
        break;
    case EV_JOURNALED:
        break; /* the loop's own */
    case EV_DRAIN:
        core_on_drain(c, ev);
        break;
    case EV_REQUEUE:
        core_on_requeue(c, ev);
        break;
    default:
        node = core_node_find(c, ev->session);
        if (node != NULL)
            core_on_node_event(c, node, ev);
        break;
    }
    for (size_t i = 0; i < c->ntouched; i++) {
        c->touched[i]->touched = 0;
        core_breaker_log(c, c->touched[i]);
    }
    c->ntouched = 0;
    *n = c->nacts;
    return c->acts;
}

/* ---- life and views ---- */

/* Install job (with its replayed state, when resumed) in an idle core.
 * 0, or -1 on allocation failure (the core stays idle). */
static int
core_job_install(struct amb_core *c, const struct job *job,
                 struct jrec_state *restored)
{
    struct set_table *sets;
    char **accepted, **accepted_sha;
    uint32_t *progress, *nbackups;
    uint64_t *started;

    FF_ASSERT(c->job == NULL);
    if (restored != NULL && restored->sets != NULL) {
        /* Resume: the replayed table and counted paths become ours. */
        sets = restored->sets;
        accepted = restored->accepted;
        accepted_sha = restored->accepted_sha;
        restored->sets = NULL;
        restored->accepted = NULL;
        restored->accepted_sha = NULL;
    } else {
        sets = set_table_new(job->nsets);
        accepted = calloc(job->nsets, sizeof(*accepted));
        accepted_sha = calloc(job->nsets, sizeof(*accepted_sha));
    }
    progress = calloc(job->nsets, sizeof(*progress));
    started = calloc(job->nsets, sizeof(*started));
    nbackups = calloc(job->nsets, sizeof(*nbackups));
    if (sets == NULL || progress == NULL || accepted == NULL ||
        accepted_sha == NULL || started == NULL || nbackups == NULL) {
        for (uint32_t i = 0; i < job->nsets; i++) {
            if (accepted != NULL)
                free(accepted[i]);
            if (accepted_sha != NULL)
                free(accepted_sha[i]);
        }
        free(accepted);
        free(accepted_sha);
        free(progress);
        free(started);
        free(nbackups);
        set_table_free(sets);
        return -1;
    }
    set_table_epoch_floor(sets, job->epoch_base);
    c->job = job;
    c->sets = sets;
    c->accepted = accepted;
    c->accepted_sha = accepted_sha;
    c->progress = progress;
    c->started = started;
    c->nbackups = nbackups;
    c->nspec = 0;
    c->set_ms_sum = c->set_ms_n = 0;
    c->have_first_info = 0;
    c->max_result = 0;
    c->concat_started = 0;
    c->concat_retry_ms = c->concat_backoff = 0;
    c->failed = 0;
    c->stop_set = 0;
    c->report[0] = '\0';
    memset(&c->st, 0, sizeof(c->st));
    for (struct core_node *n = c->nodes; n != NULL; n = n->next)
        n->counted = 0;
    /* Sets that were Processing when the last ambassador stopped wait for
     * their nodes to come back with them, as after a lost session. */
    c->norphans = 0;
    for (uint32_t i = 0; i < job->nsets; i++) {
        const struct set_info *si = set_table_get(c->sets, i);
        struct core_peer *p;
        if (si->status != SET_PROCESSING)
            continue;
        c->started[i] = c->now;
        if (si->alt_name[0] != '\0') {
            /* Its backup: dropped at the first tick unless its node is
             * back by then (core_check_backups). */
            core_spec_add(c, i, si->alt_epoch, si->alt_holder, 0);
            c->nbackups[i]++;
        }
        core_orphans_add(c, i);
        p = core_peer_get(c, si->holder_name);
        if (!p->lv.connected)
            liveness_lost(&p->lv, false, c->now);
    }
    return 0;
}

static void
core_job_drop(struct amb_core *c)
{
    if (c->job == NULL)
        return;
    for (uint32_t i = 0; i < c->job->nsets; i++) {
        free(c->accepted[i]);
        free(c->accepted_sha[i]);
    }
    free(c->accepted);
    free(c->accepted_sha);
    free(c->progress);
    free(c->started);
    free(c->nbackups);
    set_table_free(c->sets);
    c->accepted = c->accepted_sha = NULL;
    c->progress = c->nbackups = NULL;
    c->started = NULL;
    c->nspec = 0;
    c->sets = NULL;
    c->job = NULL;
}

struct amb_core *
amb_core_new(const struct coord_config *cfg, const struct job *job,
             struct jrec_state *restored, uint64_t now_ms)
{
    struct amb_core *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->cfg = cfg;
    c->now = now_ms;
    c->share_ok_ms = now_ms;
    hmap_init(&c->node_by_session);
    hmap_init(&c->node_by_name);
    hmap_init(&c->peer_by_name);
    if (job != NULL && core_job_install(c, job, restored) == -1) {
        amb_core_free(c);
        return NULL;
    }
    return c;
}

int
amb_core_start_job(struct amb_core *c, const struct job *job,
                   struct jrec_state *restored, uint64_t now_ms)
{
    c->now = now_ms;
    return core_job_install(c, job, restored);
}

/* The job ends: its backups still running are dropped by their nodes. */
static void
core_cancel_backups(struct amb_core *c)
{
    for (size_t i = 0; i < c->nspec; i++) {
        const struct core_spec *e = &c->spec[i];
        const struct set_info *s = set_table_get(c->sets, e->set);
        struct core_node *n = core_node_find(c, e->session);
        if (e->loser || n == NULL || !n->hello ||
            !set_table_holds(c->sets, e->set, e->session, e->epoch) ||
            s->alt_epoch != e->epoch || s->alt_checking)
            continue; /* not its backup any more, or under check */
        nodewatch_release(&n->w, e->set, e->epoch);
        core_send(c, e->session, AMB_MSG_CANCEL, e->set, e->epoch, 0, NULL);
    }
}

const struct amb_act *
amb_core_end_job(struct amb_core *c, uint64_t now_ms, size_t *n)
{
    c->nacts = 0;
    c->now = now_ms;
    if (c->job != NULL) {
        /* Sets still in nodes' hands (a failed or cancelled job): they
         * drop them; a late result carries an epoch no later job uses. */
        for (struct core_node *node = c->nodes; node != NULL;
             node = node->next) {
            uint32_t held[CONFIG_MAX_SLOTS];
            size_t k =
                set_table_held(c->sets, node->session, held, CONFIG_MAX_SLOTS);
            for (size_t i = 0; i < k && i < CONFIG_MAX_SLOTS; i++) {
                uint64_t epoch = set_table_get(c->sets, held[i])->epoch;
                nodewatch_release(&node->w, held[i], epoch);
                core_send(c, node->session, AMB_MSG_CANCEL, held[i], epoch, 0,
                          NULL);
            }
            /* A half-open breaker's probe was a set of this job: no
             * outcome of it will ever count, so the node probes afresh
             * (else it never gets work again). */
            breaker_release_probe(&node->w.br);
        }
        core_cancel_backups(c);
        core_job_drop(c);
    }
    *n = c->nacts;
    return c->acts;
}

int
amb_core_cancel(struct amb_core *c, const char *why)
{
    if (c->job == NULL || c->failed || c->concat_started)
        return -1;
    snprintf(c->report, sizeof(c->report), "cancelled %s", why);
    c->failed = 1;
    return 0;
}

const struct job *
amb_core_job(const struct amb_core *c)
{
    return c->job;
}

int
amb_core_concat_started(const struct amb_core *c)
{
    return c->concat_started;
}

void
amb_core_free(struct amb_core *c)
{
    if (c == NULL)
        return;
    while (c->nodes != NULL) {
        struct core_node *n = c->nodes;
        c->nodes = n->next;
        free(n);
    }
    while (c->peers != NULL) {
        struct core_peer *p = c->peers;
        c->peers = p->next;
        free(p);
    }
    hmap_fini(&c->node_by_session);
    hmap_fini(&c->node_by_name);
    hmap_fini(&c->peer_by_name);
    free(c->touched);
    core_job_drop(c);
    free(c->orphans);
    free(c->acts);
    free(c->snap);
    free(c->spec);
    free(c->cand);
    free(c);
}

const char *
amb_core_paused(const struct amb_core *c)
{
    if (c->share_full ||
        (c->now < c->nospace_until && c->share_free <= c->nospace_free))
        return "share-full";
    if (c->share_sick)
        return "share-silent";
    return NULL;
}

int
amb_core_failed(const struct amb_core *c)
{
    return c->failed ? -1 : 0;
}

const char *
amb_core_report(const struct amb_core *c)
{
    return c->report;
}

uint32_t
amb_core_stop_set(const struct amb_core *c)
{
    return c->stop_set;
}

const struct set_table *
amb_core_sets(const struct amb_core *c)
{
    return c->sets;
}

const char *
amb_core_accepted(const struct amb_core *c, uint32_t set)
{
    return c->job != NULL && set < c->job->nsets ? c->accepted[set] : NULL;
}

const char *
amb_core_accepted_sha(const struct amb_core *c, uint32_t set)
{
    return c->job != NULL && set < c->job->nsets ? c->accepted_sha[set] : NULL;
}

uint64_t
amb_core_progress(const struct amb_core *c, uint32_t set)
{
    return c->job != NULL && set < c->job->nsets ? c->progress[set] : 0;
}

const struct amb_stats *
amb_core_stats(const struct amb_core *c)
{
    return &c->st;
}

/* One record of the snapshot into c->snap, handed to f. */
static int
core_snap_emit(struct amb_core *c, int (*f)(const struct jrec *r, void *arg),
               void *arg, size_t *n)
{
    (*n)++;
    return f(c->snap, arg);
}

ssize_t
amb_core_snapshot(struct amb_core *c, int (*f)(const struct jrec *r, void *arg),
                  void *arg)
{
    struct jrec *r;
    size_t n = 0;

    if (c->job == NULL)
        return -1;
    /* One record at a time: a job's table as records (about 5 KB each)
     * would be gigabytes at a million sets. */
    if (c->snap == NULL && (c->snap = malloc(sizeof(*c->snap))) == NULL)
        return -1;
    r = c->snap;
    memset(r, 0, sizeof(*r));
    r->type = JREC_JOB;
    snprintf(r->job, sizeof(r->job), "%s", c->job->id);
    r->sets = c->job->nsets;
    r->frames = c->job->frames->count;
    r->gen = c->cfg->gen;
    r->epoch = c->job->epoch_base;
    snprintf(r->input, sizeof(r->input), "%s", c->job->input_sha);
    if (core_snap_emit(c, f, arg, &n) == -1)
        return -1;
    r->type = JREC_GEN;
    if (core_snap_emit(c, f, arg, &n) == -1)
        return -1;
    for (uint32_t i = 0; i < c->job->nsets; i++) {
        const struct set_info *si = set_table_get(c->sets, i);
        if (si->status == SET_AVAILABLE && si->epoch <= c->job->epoch_base)
            continue; /* untouched: the job record implies it */
        memset(r, 0, sizeof(*r));
        r->type = JREC_SET;
        r->set = i;
        r->info = *si;
        if (si->status == SET_COUNTED && c->accepted[i] != NULL)
            snprintf(r->path, sizeof(r->path), "%s", c->accepted[i]);
        if (si->status == SET_COUNTED && c->accepted_sha[i] != NULL)
            snprintf(r->sha256, sizeof(r->sha256), "%s", c->accepted_sha[i]);
        if (core_snap_emit(c, f, arg, &n) == -1)
            return -1;
    }
    if (c->concat_started) {
        memset(r, 0, sizeof(*r));
        r->type = JREC_CONCAT;
        if (core_snap_emit(c, f, arg, &n) == -1)
            return -1;
    }
    return (ssize_t)n;
}

void
amb_core_nodes(const struct amb_core *c,
               void (*f)(const struct amb_node_view *v, void *arg), void *arg)
{
    for (const struct core_node *n = c->nodes; n != NULL; n = n->next) {
        const struct liveness *lv = n->known != NULL ? &n->known->lv : NULL;
        struct amb_node_view v = {
            .session = n->session,
            .name = n->name,
            .peer = n->peer,
            .encoders = n->encoders,
            .breaker = n->breaker,
            .hello = n->hello,
            .counted = n->counted,
            .breaker_why = n->hello ? n->w.br.reason : "",
            .lease_age_ms =
                lv != NULL && lv->have_lease && c->now >= lv->lease_seen_ms
                    ? c->now - lv->lease_seen_ms
                    : AMB_AGE_UNKNOWN,
            .held = n->hello ? n->w.nheld : 0,
            .slots = n->hello ? n->w.slots : 0,
            .drained = n->drained,
        };
        f(&v, arg);
    }
}

void
amb_core_peers(const struct amb_core *c,
               void (*f)(const struct amb_peer_view *v, void *arg), void *arg)
{
    for (const struct core_peer *p = c->peers; p != NULL; p = p->next) {
        struct amb_peer_view v = {
            .name = p->name,
            .breaker =
                breaker_state_name(p->have_br ? p->br.state : BREAKER_CLOSED),
            .breaker_why = p->have_br ? p->br.reason : "",
            .died = p->lv.died,
            .lease_age_ms = p->lv.have_lease && c->now >= p->lv.lease_seen_ms
                                ? c->now - p->lv.lease_seen_ms
                                : AMB_AGE_UNKNOWN,
            .gone_ms = c->now >= p->lv.lost_ms ? c->now - p->lv.lost_ms : 0,
            .drained = p->drained,
        };
        if (!p->lv.connected)
            f(&v, arg);
    }
}
