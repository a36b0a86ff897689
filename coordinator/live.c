/*
 * live.c - see live.h.
 *
 * An attempt is (node name, set, epoch): it opens with the assign's
 * record and closes with the record that ends it (accept, fail, reject,
 * reclaim, unassign) or a cancel sent to its node. Each node keeps its
 * newest LIVE_ATTEMPTS in a ring; the events ring keeps the newest
 * LIVE_EVENTS. Both are bounded whatever the farm does.
 */
#include "coordinator/live.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/jsonutil.h"
#include "coordinator/metrics.h"
#include "coordinator/sets.h"

#define LIVE_KIND_MAX 16
#define LIVE_BREAKER_MAX 16
#define LIVE_MS_PER_S 1000.0
#define LIVE_RATE_MIN_MS 1000 /* a rate needs at least this much time */

enum live_outcome {
    LIVE_RUNNING,
    LIVE_COUNTED,
    LIVE_FAILED,
    LIVE_REJECTED,
    LIVE_RECLAIMED,
    LIVE_DECLINED,
    LIVE_CANCELLED,
    LIVE_ENDED, /* its job ended while it ran */
};

static const char *const live_outcome_names[] = {
    [LIVE_RUNNING] = "running",     [LIVE_COUNTED] = "counted",
    [LIVE_FAILED] = "failed",       [LIVE_REJECTED] = "rejected",
    [LIVE_RECLAIMED] = "reclaimed", [LIVE_DECLINED] = "declined",
    [LIVE_CANCELLED] = "cancelled", [LIVE_ENDED] = "ended",
};

struct live_attempt {
    uint32_t set;
    uint64_t epoch;
    uint64_t start_ms, done_ms, end_ms; /* done_ms: its done arrived */
    enum live_outcome outcome;
    uint64_t frames;
    char encoder[EV_ENCODER_MAX];
};

struct live_node {
    char name[IDENT_MAX + 1];
    struct live_attempt ring[LIVE_ATTEMPTS];
    size_t next, n;
    uint64_t first_ms;              /* its first attempt began */
    char encoder[EV_ENCODER_MAX];   /* of its last result */
    char fallback[ERR_MAX];         /* why, when that was a fallback */
    uint64_t frames;                /* counted, every job */
    char breaker[LIVE_BREAKER_MAX]; /* as the last snapshot showed */
    int shown, connected;
    struct live_node *next_node;
};

struct live_event {
    uint64_t ms;
    char kind[LIVE_KIND_MAX];
    char text[LIVE_EVENT_MAX];
};

struct live_sample {
    uint64_t ms, frames;
};

/* The core's counters, as /metrics names them. */
static const struct live_counter {
    const char *name, *help;
    size_t off;
} live_counters[] = {
    {"framefarm_assignments_total", "Sets handed to a node.",
     offsetof(struct amb_stats, assigned)},
    {"framefarm_sets_counted_total", "Sets whose result passed its check.",
     offsetof(struct amb_stats, counted)},
    {"framefarm_failures_total",
     "Attempts that failed: a node's fail, a rejected result, or a set "
     "lost with its node.",
     offsetof(struct amb_stats, failures)},
    {"framefarm_reclaims_total",
     "Sets taken back from a node (its session ended, its lease stood "
     "still, or by request).",
     offsetof(struct amb_stats, reclaimed)},
    {"framefarm_declines_total",
     "Sets a node declined or that could not be delivered (no failure "
     "counted).",
     offsetof(struct amb_stats, declined)},
    {"framefarm_results_rejected_total",
     "Results refused by their check (size, hash, frames, stream).",
     offsetof(struct amb_stats, rejected_results)},
    {"framefarm_results_stale_total",
     "Results for an epoch no longer current (their file removed).",
     offsetof(struct amb_stats, stale_results)},
    {"framefarm_results_duplicate_total",
     "Repeated reports of a result already counted or under check.",
     offsetof(struct amb_stats, duplicates)},
    {"framefarm_sets_lost_total",
     "Counted results later found missing or changed.",
     offsetof(struct amb_stats, lost)},
    {"framefarm_backups_total",
     "Speculative backups: sets assigned a second time to an idle node at "
     "the end of a job.",
     offsetof(struct amb_stats, backups)},
    {"framefarm_backups_won_total",
     "Backups counted before the first attempt (which was cancelled).",
     offsetof(struct amb_stats, backups_won)},
    {"framefarm_fallbacks_total",
     "Counted sets encoded on the CPU because the encoder asked for was "
     "unavailable on their node.",
     offsetof(struct amb_stats, fallbacks)},
};

#define LIVE_COUNTERS (sizeof(live_counters) / sizeof(live_counters[0]))

struct live {
    struct live_node *nodes;
    struct live_event ev[LIVE_EVENTS];
    size_t ev_next, ev_n;
    uint64_t seq; /* snapshots rendered */
    /* The counters: totals over every job. */
    uint64_t total[LIVE_COUNTERS];
    uint64_t frames_encoded;
    struct amb_stats last; /* the core's, at the last snapshot */
    /* The running job, as the last snapshot saw it. */
    char job[IDENT_MAX + 1];
    uint64_t job_base;
    int have_job;
    struct live_sample rate[LIVE_RATE_SAMPLES];
    size_t rate_next, rate_n;
};

struct live *
live_new(void)
{
    return calloc(1, sizeof(struct live));
}

void
live_free(struct live *l)
{
    if (l == NULL)
        return;
    while (l->nodes != NULL) {
        struct live_node *n = l->nodes;
        l->nodes = n->next_node;
        free(n);
    }
    free(l);
}

/* ---- watching ---- */

static void
live_vevent(struct live *l, uint64_t now_ms, const char *kind, const char *fmt,
            va_list ap)
{
    struct live_event *e = &l->ev[l->ev_next];
    l->ev_next = (l->ev_next + 1) % LIVE_EVENTS;
    if (l->ev_n < LIVE_EVENTS)
        l->ev_n++;
    e->ms = now_ms;
    snprintf(e->kind, sizeof(e->kind), "%s", kind);
    vsnprintf(e->text, sizeof(e->text), fmt, ap);
}

static void live_event(struct live *l, uint64_t now_ms, const char *kind,
                       const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
live_event(struct live *l, uint64_t now_ms, const char *kind, const char *fmt,
           ...)
{
    va_list ap;
    va_start(ap, fmt);
    live_vevent(l, now_ms, kind, fmt, ap);
    va_end(ap);
}

void
live_note(struct live *l, uint64_t now_ms, const char *kind, const char *fmt,
          ...)
{
    va_list ap;
    va_start(ap, fmt);
    live_vevent(l, now_ms, kind, fmt, ap);
    va_end(ap);
}

/* The entry of a node name, made when new; NULL when out of memory. */
static struct live_node *
live_node_get(struct live *l, const char *name)
{
    struct live_node *n;
    for (n = l->nodes; n != NULL; n = n->next_node)
        if (strcmp(n->name, name) == 0)
            return n;
    if ((n = calloc(1, sizeof(*n))) == NULL)
        return NULL;
    snprintf(n->name, sizeof(n->name), "%s", name);
    n->next_node = l->nodes;
    l->nodes = n;
    return n;
}

/* The open attempt (set, epoch) of node n, or NULL. */
static struct live_attempt *
live_open_attempt(struct live_node *n, uint32_t set, uint64_t epoch)
{
    for (size_t i = 0; i < n->n; i++) {
        struct live_attempt *t = &n->ring[i];
        if (t->outcome == LIVE_RUNNING && t->set == set && t->epoch == epoch)
            return t;
    }
    return NULL;
}

static void
live_begin(struct live *l, const char *node, uint32_t set, uint64_t epoch,
           uint64_t now_ms)
{
    struct live_node *n = live_node_get(l, node);
    struct live_attempt *t;
    if (n == NULL)
        return;
    if (n->first_ms == 0)
        n->first_ms = now_ms;
    t = &n->ring[n->next];
    n->next = (n->next + 1) % LIVE_ATTEMPTS;
    if (n->n < LIVE_ATTEMPTS)
        n->n++;
    memset(t, 0, sizeof(*t));
    t->set = set;
    t->epoch = epoch;
    t->start_ms = now_ms;
    t->outcome = LIVE_RUNNING;
}

/* Close the attempt (set, epoch) of node (NULL: whichever node has it
 * open); the attempt, or NULL when none was open. */
static struct live_attempt *
live_end(struct live *l, const char *node, uint32_t set, uint64_t epoch,
         enum live_outcome outcome, uint64_t now_ms, struct live_node **owner)
{
    for (struct live_node *n = l->nodes; n != NULL; n = n->next_node) {
        struct live_attempt *t;
        if (node != NULL && strcmp(n->name, node) != 0)
            continue;
        if ((t = live_open_attempt(n, set, epoch)) != NULL) {
            t->outcome = outcome;
            t->end_ms = now_ms;
            if (owner != NULL)
                *owner = n;
            return t;
        }
    }
    return NULL;
}

static void
live_counted(struct live *l, const struct jrec *r, uint64_t now_ms)
{
    struct live_node *n = NULL;
    struct live_attempt *t =
        live_end(l, r->node, r->set, r->epoch, LIVE_COUNTED, now_ms, &n);
    if (t == NULL)
        return;
    if (t->done_ms >= t->start_ms && t->done_ms != 0)
        metrics_observe_us(METRICS_ENCODE,
                           (t->done_ms - t->start_ms) * (uint64_t)1000);
    n->frames += t->frames;
    l->frames_encoded += t->frames;
    if (n->fallback[0] != '\0')
        live_event(l, now_ms, "fallback",
                   "set %u epoch %llu counted, encoded with %s on node %s: "
                   "%.160s",
                   r->set, (unsigned long long)r->epoch, t->encoder, n->name,
                   n->fallback);
}

static void
live_record(struct live *l, const struct jrec *r, uint64_t now_ms)
{
    switch (r->type) {
    case JREC_ASSIGN:
        live_begin(l, r->node, r->set, r->epoch, now_ms);
        break;
    case JREC_ACCEPT:
        live_counted(l, r, now_ms);
        break;
    case JREC_FAIL:
        live_end(l, r->node, r->set, r->epoch, LIVE_FAILED, now_ms, NULL);
        live_event(l, now_ms, "failed",
                   "set %u epoch %llu failed on node %s: %.160s", r->set,
                   (unsigned long long)r->epoch, r->node, r->text);
        break;
    case JREC_REJECT:
        live_end(l, r->node, r->set, r->epoch, LIVE_REJECTED, now_ms, NULL);
        live_event(l, now_ms, "rejected",
                   "set %u epoch %llu: the result of node %s was rejected: "
                   "%.160s",
                   r->set, (unsigned long long)r->epoch, r->node, r->text);
        break;
    case JREC_RECLAIM:
        live_end(l, r->node, r->set, r->epoch, LIVE_RECLAIMED, now_ms, NULL);
        live_event(l, now_ms, "reclaim",
                   "set %u epoch %llu reclaimed from node %s: %.160s", r->set,
                   (unsigned long long)r->epoch, r->node, r->text);
        break;
    case JREC_UNASSIGN:
        live_end(l, r->node, r->set, r->epoch, LIVE_DECLINED, now_ms, NULL);
        break;
    case JREC_LOST:
        live_event(l, now_ms, "lost", "set %u: %.200s", r->set, r->text);
        break;
    case JREC_SET:
        live_event(l, now_ms, "requeue",
                   "set %u requeued by request: its failures forgiven", r->set);
        break;
    default:
        break;
    }
}

void
live_act(struct live *l, const struct amb_core *c, const struct amb_act *a,
         uint64_t now_ms)
{
    const struct set_table *t = amb_core_sets(c);
    const struct set_info *si;
    struct live_node *n;
    struct live_attempt *at;

    switch (a->type) {
    case ACT_RECORD:
        live_record(l, &a->u.rec.r, now_ms);
        break;
    case ACT_CHECK:
        /* The done arrived: the set is its holder's, being checked. */
        si = t != NULL ? set_table_get(t, a->u.check.r.set) : NULL;
        if (si == NULL || (n = live_node_get(l, si->holder_name)) == NULL ||
            (at = live_open_attempt(n, a->u.check.r.set, a->u.check.r.epoch)) ==
                NULL)
            break;
        at->done_ms = now_ms;
        at->frames = a->u.check.frames;
        snprintf(at->encoder, sizeof(at->encoder), "%s", a->u.check.r.encoder);
        snprintf(n->encoder, sizeof(n->encoder), "%s", a->u.check.r.encoder);
        snprintf(n->fallback, sizeof(n->fallback), "%s", a->u.check.r.fallback);
        break;
    case ACT_SEND:
        if (a->u.send.msg == AMB_MSG_CANCEL)
            live_end(l, NULL, a->u.send.set, a->u.send.epoch, LIVE_CANCELLED,
                     now_ms, NULL);
        break;
    case ACT_REMOVE:
        live_event(l, now_ms, "stale", "a stale result was rejected: %.200s",
                   a->u.path);
        break;
    default:
        break;
    }
}

/* ---- the running job ---- */

/* Frames done: counted sets whole, the others as far as their attempt
 * got. */
static uint64_t
live_frames_done(const struct amb_core *c, const struct job *job)
{
    const struct set_table *t = amb_core_sets(c);
    uint64_t done = 0;
    for (uint32_t i = 0; i < job->nsets; i++) {
        uint64_t first, count;
        job_set_range(job, i, &first, &count);
        done += set_table_get(t, i)->status == SET_COUNTED
                    ? count
                    : amb_core_progress(c, i);
    }
    return done;
}

/* A new job runs: the attempts still open of the jobs before it are
 * over, the rate starts afresh, and the core's counters restart. */
static int
live_job_changed(struct live *l, const struct job *job, uint64_t now_ms)
{
    if (job == NULL || (l->have_job && strcmp(job->id, l->job) == 0 &&
                        job->epoch_base == l->job_base))
        return 0;
    /* The attempts of the jobs before it (a job's epochs start above
     * every epoch of the ones before it). */
    for (struct live_node *n = l->nodes; n != NULL; n = n->next_node)
        for (size_t i = 0; i < n->n; i++)
            if (n->ring[i].outcome == LIVE_RUNNING &&
                n->ring[i].epoch < job->epoch_base) {
                n->ring[i].outcome = LIVE_ENDED;
                n->ring[i].end_ms = now_ms;
            }
    snprintf(l->job, sizeof(l->job), "%s", job->id);
    l->job_base = job->epoch_base;
    l->have_job = 1;
    l->rate_n = l->rate_next = 0;
    live_event(l, now_ms, "job", "job %s runs: %u sets, %zu frames", job->id,
               job->nsets, job->frames->count);
    return 1;
}

/* Add what the core's counters grew by since the last snapshot. */
static void
live_fold(struct live *l, const struct amb_stats *st, int restarted)
{
    for (size_t i = 0; i < LIVE_COUNTERS; i++) {
        uint64_t cur = *(const uint64_t *)(const void *)((const char *)st +
                                                         live_counters[i].off);
        uint64_t prev =
            restarted
                ? 0
                : *(const uint64_t *)(const void *)((const char *)&l->last +
                                                    live_counters[i].off);
        l->total[i] += cur >= prev ? cur - prev : cur;
    }
    l->last = *st;
}

/* Frames a second over the last LIVE_RATE_WINDOW_MS, after adding this
 * sample; -1 while there is too little to tell. */
static double
live_rate(struct live *l, uint64_t now_ms, uint64_t done)
{
    const struct live_sample *old = NULL;
    l->rate[l->rate_next] = (struct live_sample){now_ms, done};
    l->rate_next = (l->rate_next + 1) % LIVE_RATE_SAMPLES;
    if (l->rate_n < LIVE_RATE_SAMPLES)
        l->rate_n++;
    for (size_t k = 0; k < l->rate_n; k++) {
        const struct live_sample *s =
            &l->rate[(l->rate_next + LIVE_RATE_SAMPLES - l->rate_n + k) %
                     LIVE_RATE_SAMPLES];
        if (now_ms - s->ms <= LIVE_RATE_WINDOW_MS) {
            old = s;
            break;
        }
    }
    if (old == NULL || now_ms - old->ms < LIVE_RATE_MIN_MS ||
        done < old->frames)
        return -1;
    return (double)(done - old->frames) * LIVE_MS_PER_S /
           (double)(now_ms - old->ms);
}

static cJSON *
live_set_counts(const struct set_table *t, uint32_t nsets)
{
    cJSON *o = cJSON_CreateObject();
    if (o == NULL)
        return NULL;
    json_add_u64(o, "A", set_table_count(t, SET_AVAILABLE));
    json_add_u64(o, "B", set_table_count(t, SET_PROCESSING));
    json_add_u64(o, "C", set_table_count(t, SET_FAILED));
    json_add_u64(o, "D", set_table_count(t, SET_COUNTED));
    json_add_u64(o, "total", nsets);
    return o;
}

/* The running job's live fields, added to (or replacing those of) o. */
static void
live_job_fields(cJSON *o, const struct amb_core *c, const struct job *job,
                uint64_t done, double fps)
{
    cJSON *p;
    cJSON_DeleteItemFromObjectCaseSensitive(o, "sets");
    cJSON_DeleteItemFromObjectCaseSensitive(o, "progress");
    cJSON_AddItemToObject(o, "sets",
                          live_set_counts(amb_core_sets(c), job->nsets));
    if ((p = cJSON_AddObjectToObject(o, "progress")) != NULL) {
        json_add_u64(p, "done", done);
        json_add_u64(p, "total", job->frames->count);
    }
    if (fps >= 0) {
        cJSON_AddNumberToObject(o, "fps", fps);
        if (fps > 0)
            cJSON_AddNumberToObject(o, "eta_s",
                                    (double)(job->frames->count - done) / fps);
        else
            cJSON_AddNullToObject(o, "eta_s");
    } else {
        cJSON_AddNullToObject(o, "fps");
        cJSON_AddNullToObject(o, "eta_s");
    }
    if (amb_core_paused(c) != NULL)
        cJSON_AddStringToObject(o, "paused", amb_core_paused(c));
    else
        cJSON_AddNullToObject(o, "paused");
}

/* The set grid of the running job: a letter a set, and per set its
 * epoch, attempts, failures, reclaims and holder; the last error of
 * each set in C. NULL past LIVE_GRID_MAX sets. */
static cJSON *
live_grid(const struct amb_core *c, const struct job *job)
{
    const struct set_table *t = amb_core_sets(c);
    cJSON *g, *epoch, *attempts, *failures, *reclaims, *holder, *errs, *done;
    char *status;

    if (job->nsets > LIVE_GRID_MAX || (g = cJSON_CreateObject()) == NULL)
        return NULL;
    status = malloc((size_t)job->nsets + 1);
    epoch = cJSON_AddArrayToObject(g, "epoch");
    attempts = cJSON_AddArrayToObject(g, "attempts");
    failures = cJSON_AddArrayToObject(g, "failures");
    reclaims = cJSON_AddArrayToObject(g, "reclaims");
    holder = cJSON_AddArrayToObject(g, "holder");
    done = cJSON_AddArrayToObject(g, "frames");
    errs = cJSON_AddObjectToObject(g, "errors");
    if (status == NULL || epoch == NULL || attempts == NULL ||
        failures == NULL || reclaims == NULL || holder == NULL ||
        done == NULL || errs == NULL) {
        free(status);
        cJSON_Delete(g);
        return NULL;
    }
    for (uint32_t i = 0; i < job->nsets; i++) {
        const struct set_info *s = set_table_get(t, i);
        status[i] = (char)s->status;
        cJSON_AddItemToArray(epoch, cJSON_CreateNumber((double)s->epoch));
        cJSON_AddItemToArray(attempts, cJSON_CreateNumber(s->attempts));
        cJSON_AddItemToArray(failures, cJSON_CreateNumber(s->failures));
        cJSON_AddItemToArray(reclaims, cJSON_CreateNumber(s->reclaims));
        cJSON_AddItemToArray(
            holder, cJSON_CreateString(
                        s->status == SET_PROCESSING ? s->holder_name : ""));
        cJSON_AddItemToArray(
            done, cJSON_CreateNumber((double)amb_core_progress(c, i)));
        if (s->status == SET_FAILED && set_info_error(s)[0] != '\0') {
            char key[16];
            snprintf(key, sizeof(key), "%u", i);
            cJSON_AddStringToObject(errs, key, set_info_error(s));
        }
    }
    status[job->nsets] = '\0';
    cJSON_AddStringToObject(g, "status", status);
    free(status);
    return g;
}

/* ---- nodes ---- */

struct live_nodes_arg {
    struct live *l;
    cJSON *arr;
    uint64_t now_ms;
    uint64_t breakers[3]; /* closed, open, half-open: connected nodes */
    uint64_t gone, drained;
};

static void
live_node_rate(const struct live_node *n, uint64_t now_ms, cJSON *o)
{
    uint64_t frames = 0, span;
    for (size_t i = 0; i < n->n; i++) {
        const struct live_attempt *t = &n->ring[i];
        if (t->outcome == LIVE_COUNTED &&
            now_ms - t->end_ms <= LIVE_NODE_RATE_MS)
            frames += t->frames;
    }
    span = n->first_ms != 0 && now_ms - n->first_ms < LIVE_NODE_RATE_MS
               ? now_ms - n->first_ms
               : LIVE_NODE_RATE_MS;
    if (span < LIVE_RATE_MIN_MS)
        span = LIVE_RATE_MIN_MS;
    cJSON_AddNumberToObject(o, "fps",
                            (double)frames * LIVE_MS_PER_S / (double)span);
}

static void
live_node_attempts(const struct live_node *n, uint64_t now_ms, cJSON *o)
{
    cJSON *arr = cJSON_AddArrayToObject(o, "attempts");
    if (arr == NULL)
        return;
    /* Oldest first. */
    for (size_t k = 0; k < n->n; k++) {
        const struct live_attempt *t =
            &n->ring[(n->next + LIVE_ATTEMPTS - n->n + k) % LIVE_ATTEMPTS];
        cJSON *a;
        if (t->outcome != LIVE_RUNNING && now_ms - t->end_ms > LIVE_TIMELINE_MS)
            continue;
        if ((a = cJSON_CreateObject()) == NULL)
            return;
        json_add_u64(a, "set", t->set);
        json_add_u64(a, "epoch", t->epoch);
        json_add_u64(a, "start_ms", t->start_ms);
        if (t->outcome == LIVE_RUNNING)
            cJSON_AddNullToObject(a, "end_ms");
        else
            json_add_u64(a, "end_ms", t->end_ms);
        cJSON_AddStringToObject(a, "outcome", live_outcome_names[t->outcome]);
        if (t->encoder[0] != '\0')
            cJSON_AddStringToObject(a, "encoder", t->encoder);
        cJSON_AddItemToArray(arr, a);
    }
}

static void
live_add_age(cJSON *o, const char *key, uint64_t ms)
{
    if (ms == AMB_AGE_UNKNOWN)
        cJSON_AddNullToObject(o, key);
    else
        json_add_u64(o, key, ms);
}

/* The parts every node row has, from what was watched. */
static cJSON *
live_node_row(struct live_nodes_arg *na, const char *name, int connected,
              const char *breaker)
{
    struct live_node *n = live_node_get(na->l, name);
    cJSON *o = cJSON_CreateObject();
    if (o == NULL || n == NULL) {
        cJSON_Delete(o);
        return NULL;
    }
    cJSON_AddStringToObject(o, "name", name);
    cJSON_AddBoolToObject(o, "connected", connected);
    cJSON_AddStringToObject(o, "breaker", breaker);
    if (n->shown &&
        (strcmp(n->breaker, breaker) != 0 || n->connected != connected))
        live_event(na->l, na->now_ms, "breaker", "node %s: %s, breaker %s",
                   name, connected ? "connected" : "gone", breaker);
    else if (!n->shown && connected)
        live_event(na->l, na->now_ms, "node", "node %s: connected", name);
    n->shown = 1;
    n->connected = connected;
    snprintf(n->breaker, sizeof(n->breaker), "%s", breaker);
    cJSON_AddStringToObject(o, "encoder", n->encoder);
    cJSON_AddBoolToObject(o, "fallback", n->fallback[0] != '\0');
    json_add_u64(o, "frames", n->frames);
    live_node_rate(n, na->now_ms, o);
    live_node_attempts(n, na->now_ms, o);
    return o;
}

static int
live_breaker_index(const char *b)
{
    return strcmp(b, "open") == 0 ? 1 : strcmp(b, "half-open") == 0 ? 2 : 0;
}

static void
live_node_view(const struct amb_node_view *v, void *arg)
{
    struct live_nodes_arg *na = arg;
    cJSON *o;
    if (!v->hello || (o = live_node_row(na, v->name, 1, v->breaker)) == NULL)
        return;
    na->breakers[live_breaker_index(v->breaker)]++;
    na->drained += v->drained != 0;
    cJSON_AddStringToObject(o, "breaker_why",
                            strcmp(v->breaker, "closed") != 0 ? v->breaker_why
                                                              : "");
    cJSON_AddStringToObject(o, "peer", v->peer);
    cJSON_AddStringToObject(o, "encoders", v->encoders);
    cJSON_AddBoolToObject(o, "drained", v->drained);
    live_add_age(o, "lease_age_ms", v->lease_age_ms);
    json_add_u64(o, "held", (uint64_t)v->held);
    json_add_u64(o, "slots", (uint64_t)v->slots);
    json_add_u64(o, "counted", v->counted);
    cJSON_AddItemToArray(na->arr, o);
}

static void
live_peer_view(const struct amb_peer_view *v, void *arg)
{
    struct live_nodes_arg *na = arg;
    cJSON *o = live_node_row(na, v->name, 0, v->breaker);
    if (o == NULL)
        return;
    na->gone++;
    na->drained += v->drained != 0;
    cJSON_AddStringToObject(o, "breaker_why",
                            strcmp(v->breaker, "closed") != 0 ? v->breaker_why
                                                              : "");
    cJSON_AddBoolToObject(o, "died", v->died);
    cJSON_AddBoolToObject(o, "drained", v->drained);
    live_add_age(o, "lease_age_ms", v->lease_age_ms);
    json_add_u64(o, "gone_ms", v->gone_ms);
    json_add_u64(o, "held", 0);
    cJSON_AddItemToArray(na->arr, o);
}

static int
live_name_cmp(const void *a, const void *b)
{
    const cJSON *const *x = a, *const *y = b;
    const cJSON *nx = cJSON_GetObjectItemCaseSensitive(*x, "name");
    const cJSON *ny = cJSON_GetObjectItemCaseSensitive(*y, "name");
    return strcmp(cJSON_GetStringValue(nx), cJSON_GetStringValue(ny));
}

/* The rows in name order (cJSON arrays are lists: detach, sort, attach). */
static void
live_sort_nodes(cJSON *arr)
{
    int n = cJSON_GetArraySize(arr);
    cJSON **v;
    if (n < 2 || (v = calloc((size_t)n, sizeof(*v))) == NULL)
        return;
    for (int i = 0; i < n; i++)
        v[i] = cJSON_DetachItemFromArray(arr, 0);
    qsort(v, (size_t)n, sizeof(*v), live_name_cmp);
    for (int i = 0; i < n; i++)
        cJSON_AddItemToArray(arr, v[i]);
    free(v);
}

/* ---- rendering ---- */

static cJSON *
live_events(const struct live *l, const struct live_ctx *x, uint64_t now_ms)
{
    cJSON *arr = cJSON_CreateArray();
    for (size_t k = 0; arr != NULL && k < l->ev_n; k++) {
        const struct live_event *e =
            &l->ev[(l->ev_next + LIVE_EVENTS - l->ev_n + k) % LIVE_EVENTS];
        cJSON *o = cJSON_CreateObject();
        if (o == NULL)
            break;
        json_add_u64(o, "ms", e->ms);
        json_add_u64(o, "wall_ms", x->wall_ms - (now_ms - e->ms));
        cJSON_AddStringToObject(o, "kind", e->kind);
        cJSON_AddStringToObject(o, "text", e->text);
        cJSON_AddItemToArray(arr, o);
    }
    return arr;
}

/* The jobs: a service's queue with the running one's live fields, or the
 * one job. */
static cJSON *
live_jobs(const struct amb_core *c, const struct live_ctx *x, uint64_t done,
          double fps)
{
    const struct job *job = amb_core_job(c);
    cJSON *arr, *o;

    if (x->queue != NULL) {
        if ((arr = cJSON_Duplicate(x->queue, 1)) == NULL)
            return NULL;
        cJSON_ArrayForEach(o, arr)
        {
            const char *id = json_str(o, "job"), *st = json_str(o, "state");
            if (job != NULL && id != NULL && st != NULL &&
                strcmp(id, job->id) == 0 && strcmp(st, "running") == 0)
                live_job_fields(o, c, job, done, fps);
        }
        return arr;
    }
    if ((arr = cJSON_CreateArray()) == NULL || job == NULL)
        return arr;
    if ((o = cJSON_CreateObject()) == NULL)
        return arr;
    cJSON_AddStringToObject(o, "job", job->id);
    json_add_u64(o, "seq", 0);
    cJSON_AddStringToObject(o, "state", x->job_state);
    cJSON_AddStringToObject(o, "output", job->output);
    json_add_u64(o, "nsets", job->nsets);
    json_add_u64(o, "nframes", job->frames->count);
    cJSON_AddStringToObject(o, "report", amb_core_report(c));
    live_job_fields(o, c, job, done, fps);
    cJSON_AddItemToArray(arr, o);
    return arr;
}

static char *
live_print(const cJSON *o)
{
    return o != NULL ? cJSON_PrintUnformatted(o) : NULL;
}

/* /api/jobs/ID for every job; the running one's with its grid. */
static int
live_job_docs(struct board_snap *s, const cJSON *jobs, const cJSON *grid,
              const struct job *running)
{
    int n = cJSON_GetArraySize(jobs);
    const cJSON *o;
    if (n == 0)
        return 0;
    if ((s->job = calloc((size_t)n, sizeof(*s->job))) == NULL)
        return -1;
    cJSON_ArrayForEach(o, jobs)
    {
        const char *id = json_str(o, "job");
        cJSON *d;
        if (id == NULL || (d = cJSON_Duplicate(o, 1)) == NULL)
            continue;
        if (running != NULL && grid != NULL && strcmp(id, running->id) == 0)
            cJSON_AddItemToObject(d, "grid", cJSON_Duplicate(grid, 1));
        s->job[s->njobs].id = strdup(id);
        s->job[s->njobs].doc = live_print(d);
        cJSON_Delete(d);
        if (s->job[s->njobs].id == NULL || s->job[s->njobs].doc == NULL) {
            free(s->job[s->njobs].id);
            free(s->job[s->njobs].doc);
            return -1;
        }
        s->njobs++;
    }
    return 0;
}

static int
live_node_names(struct board_snap *s, const cJSON *nodes)
{
    int n = cJSON_GetArraySize(nodes);
    const cJSON *o;
    if (n == 0)
        return 0;
    if ((s->node_names = calloc((size_t)n, sizeof(char *))) == NULL)
        return -1;
    cJSON_ArrayForEach(o, nodes)
    {
        const char *name = json_str(o, "name");
        if (name != NULL && (s->node_names[s->nnodes++] = strdup(name)) == NULL)
            return -1;
    }
    return 0;
}

/* The loop's part of /metrics. */
static char *
live_metrics(const struct live *l, const struct amb_core *c,
             const struct live_ctx *x, const cJSON *jobs,
             const struct live_nodes_arg *na)
{
    static const char *const states[] = {"queued", "running", "done", "failed",
                                         "cancelled"};
    static const char *const breakers[] = {"closed", "open", "half-open"};
    static const struct {
        const char *label;
        enum set_status st;
    } set_states[] = {{"A", SET_AVAILABLE},
                      {"B", SET_PROCESSING},
                      {"C", SET_FAILED},
                      {"D", SET_COUNTED}};
    const struct job *job = amb_core_job(c);
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    const cJSON *o;
    char gen[24];

    if (out == NULL)
        return NULL;
    snprintf(gen, sizeof(gen), "%llu", (unsigned long long)x->generation);
    metrics_write_head(out, "framefarm_info", "gauge",
                       "The ambassador: its mode (job or service) and "
                       "generation.");
    metrics_write_sample2(out, "framefarm_info", "mode", x->mode, "generation",
                          gen, 1);
    metrics_write_head(out, "framefarm_jobs", "gauge", "Jobs by state.");
    for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++) {
        uint64_t n = 0;
        cJSON_ArrayForEach(o, jobs)
        {
            const char *st = json_str(o, "state");
            n += st != NULL && strcmp(st, states[i]) == 0;
        }
        metrics_write_sample(out, "framefarm_jobs", "state", states[i], n);
    }
    metrics_write_head(out, "framefarm_sets", "gauge",
                       "The running job's sets by state: A available, B "
                       "processing, C failed (to be rendered again), D "
                       "counted.");
    for (size_t i = 0;
         job != NULL && i < sizeof(set_states) / sizeof(set_states[0]); i++)
        metrics_write_sample2(
            out, "framefarm_sets", "job", job->id, "state", set_states[i].label,
            set_table_count(amb_core_sets(c), set_states[i].st));
    metrics_write_head(out, "framefarm_nodes", "gauge",
                       "Connected nodes by the state of their breaker.");
    for (size_t i = 0; i < sizeof(breakers) / sizeof(breakers[0]); i++)
        metrics_write_sample(out, "framefarm_nodes", "breaker", breakers[i],
                             na->breakers[i]);
    metrics_write_head(out, "framefarm_nodes_gone", "gauge",
                       "Node names seen before and not connected now.");
    metrics_write_sample(out, "framefarm_nodes_gone", NULL, NULL, na->gone);
    metrics_write_head(out, "framefarm_nodes_drained", "gauge",
                       "Node names given no new work, by request.");
    metrics_write_sample(out, "framefarm_nodes_drained", NULL, NULL,
                         na->drained);
    for (size_t i = 0; i < LIVE_COUNTERS; i++) {
        metrics_write_head(out, live_counters[i].name, "counter",
                           live_counters[i].help);
        metrics_write_sample(out, live_counters[i].name, NULL, NULL,
                             l->total[i]);
    }
    metrics_write_head(out, "framefarm_frames_encoded_total", "counter",
                       "Frames in counted sets.");
    metrics_write_sample(out, "framefarm_frames_encoded_total", NULL, NULL,
                         l->frames_encoded);
    if (fclose(out) != 0) {
        free(text);
        return NULL;
    }
    return text;
}

struct board_snap *
live_snapshot(struct live *l, const struct amb_core *c,
              const struct live_ctx *x, uint64_t now_ms)
{
    const struct job *job = amb_core_job(c);
    struct live_nodes_arg na;
    struct board_snap *s = board_snap_new();
    cJSON *state = cJSON_CreateObject(), *jobs, *nodes, *grid = NULL, *cur;
    uint64_t done = 0;
    double fps = -1;
    int restarted = live_job_changed(l, job, now_ms);

    live_fold(l, amb_core_stats(c), restarted);
    if (job != NULL) {
        done = live_frames_done(c, job);
        fps = live_rate(l, now_ms, done);
        grid = live_grid(c, job);
    }
    memset(&na, 0, sizeof(na));
    na.l = l;
    na.now_ms = now_ms;
    na.arr = nodes = cJSON_CreateArray();
    if (nodes != NULL) {
        amb_core_nodes(c, live_node_view, &na);
        amb_core_peers(c, live_peer_view, &na);
        live_sort_nodes(nodes);
    }
    jobs = live_jobs(c, x, done, fps);
    if (s == NULL || state == NULL || jobs == NULL || nodes == NULL)
        goto fail;
    l->seq++;
    json_add_u64(state, "seq", l->seq);
    json_add_u64(state, "now_ms", now_ms);
    json_add_u64(state, "wall_ms", x->wall_ms);
    cJSON_AddStringToObject(state, "mode", x->mode);
    json_add_u64(state, "generation", x->generation);
    cJSON_AddStringToObject(state, "actions", x->actions);
    cur = NULL;
    if (job != NULL) {
        const cJSON *o;
        cJSON_ArrayForEach(o, jobs)
        {
            const char *id = json_str(o, "job");
            if (id != NULL && strcmp(id, job->id) == 0 &&
                (cur = cJSON_Duplicate(o, 1)) != NULL) {
                if (grid != NULL)
                    cJSON_AddItemToObject(cur, "grid",
                                          cJSON_Duplicate(grid, 1));
                else
                    cJSON_AddNullToObject(cur, "grid");
                break;
            }
        }
    }
    if (cur != NULL)
        cJSON_AddItemToObject(state, "job", cur);
    else
        cJSON_AddNullToObject(state, "job");
    if (live_job_docs(s, jobs, grid, job) == -1 ||
        live_node_names(s, nodes) == -1 ||
        (s->metrics = live_metrics(l, c, x, jobs, &na)) == NULL)
        goto fail;
    {
        cJSON *wrap = cJSON_CreateObject();
        if (wrap == NULL)
            goto fail;
        cJSON_AddItemReferenceToObject(wrap, "jobs", jobs);
        s->jobs = live_print(wrap);
        cJSON_Delete(wrap);
        if ((wrap = cJSON_CreateObject()) == NULL)
            goto fail;
        cJSON_AddItemReferenceToObject(wrap, "nodes", nodes);
        s->nodes = live_print(wrap);
        cJSON_Delete(wrap);
    }
    cJSON_AddItemToObject(state, "jobs", jobs);
    cJSON_AddItemToObject(state, "nodes", nodes);
    jobs = nodes = NULL;
    cJSON_AddItemToObject(state, "events", live_events(l, x, now_ms));
    s->state = live_print(state);
    if (s->jobs == NULL || s->nodes == NULL || s->state == NULL)
        goto fail;
    cJSON_Delete(state);
    cJSON_Delete(grid);
    return s;
fail:
    cJSON_Delete(state);
    cJSON_Delete(jobs);
    cJSON_Delete(nodes);
    cJSON_Delete(grid);
    board_snap_free(s);
    return NULL;
}
