/*
 * makespan.c - the makespan of K render nodes against the ideal, with the
 * ambassador's real decisions: the pure core (coordinator/amb_core.c,
 * with the set table, the breakers and the speculative backups) driven
 * through amb_core_step by a virtual clock and K virtual nodes, as
 * tests/sim/sim_core.c drives it, without faults but for the scenario's.
 *
 *   makespan SET_MS [CONCAT_MS [SETS_PER_NODE]]
 *
 * SET_MS is the time one node takes for one set, measured from a real
 * render (bench/makespan.sh times render_bench on a set of real frames);
 * CONCAT_MS the final concat's. Each node has one slot (a machine renders
 * one set at a time on all its cores), renews its lease, reports progress
 * every heartbeat, and renders a set in SET_MS / its speed; the loop
 * ticks after every turn, as ambassador.c's does. Scenarios:
 * all nodes equal; one node 4x slower; one node that dies halfway through
 * the ideal makespan, mid-set. For K = 2..64 and a job of SETS_PER_NODE x
 * K sets it prints the ideal (the work over the farm's capacity: K - 0.75
 * nodes with the slow one; K until the death and K - 1 after it; plus the
 * concat), the makespan measured from the first tick to the job's end,
 * their ratio, and the backups that ran and won, with backups off (0) and
 * on (1). Deterministic; no clock is read.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coordinator/amb_core.h"

#define MK_MAX_NODES 64
#define MK_SET_FRAMES 24    /* frames per set (the default set size) */
#define MK_LEASE_MS 2000    /* nodes renew their lease this often */
#define MK_HB_MS 1000       /* and report progress this often */
#define MK_SHARE_MS 1000    /* the share probe answers this often */
#define MK_CHECK_MS 20      /* a result's check */
#define MK_SLOW 4           /* the slow node's factor */
#define MK_SETS_PER_NODE 16 /* default job size, per node */
#define MK_CONCAT_MS 500    /* default concat time */
#define MK_LIMIT_FACTOR 20  /* give up past this many ideals */
#define MK_NAME_MAX 24
#define MK_FRAME_NAME_MAX 24
#define MK_NEVER UINT64_MAX

enum mk_scenario { MK_EQUAL, MK_ONE_SLOW, MK_ONE_DIES, MK_SCENARIOS };

static const char *const mk_scenario_names[] = {
    [MK_EQUAL] = "all equal",
    [MK_ONE_SLOW] = "one 4x slower",
    [MK_ONE_DIES] = "one dies mid-set",
};

struct mk_node {
    uint64_t session;
    char name[MK_NAME_MAX];
    uint64_t set_ms; /* its time for one set */
    int busy;
    uint32_t set;
    uint64_t epoch, start, done_at;
    int dead;
    uint64_t die_at;
};

/* A result with the checker. */
struct mk_check {
    uint64_t due, session;
    struct ev_result r;
};

struct mk {
    struct coord_config cfg;
    struct job job;
    struct zipf_listing listing;
    struct zipf_frame *frame;
    char (*frame_name)[MK_FRAME_NAME_MAX];
    struct amb_core *core;
    struct mk_node node[MK_MAX_NODES];
    int k;
    uint64_t now, next_tick, next_share, next_lease, next_hb, lease_counter;
    uint64_t concat_ms, concat_at;
    int concat_pending, over;
    struct mk_check check[MK_MAX_NODES * 2];
    int nchecks;
};

static void mk_acts(struct mk *m, const struct amb_act *a, size_t n);

static void
mk_step(struct mk *m, const struct amb_event *ev)
{
    size_t n;
    const struct amb_act *a = amb_core_step(m->core, ev, m->now, &n);
    mk_acts(m, a, n);
}

static struct mk_node *
mk_node_of(struct mk *m, uint64_t session)
{
    for (int i = 0; i < m->k; i++)
        if (m->node[i].session == session)
            return &m->node[i];
    return NULL;
}

static void
mk_acts(struct mk *m, const struct amb_act *acts, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const struct amb_act *a = &acts[i];
        struct mk_node *nd = mk_node_of(m, a->session);
        switch (a->type) {
        case ACT_SEND:
            if (nd == NULL || nd->dead)
                break;
            if (a->u.send.msg == AMB_MSG_ASSIGN) {
                if (nd->busy) {
                    fprintf(stderr, "makespan: %s got two sets at once\n",
                            nd->name);
                    exit(1);
                }
                nd->busy = 1;
                nd->set = a->u.send.set;
                nd->epoch = a->u.send.epoch;
                nd->start = m->now;
                nd->done_at = m->now + nd->set_ms;
            } else if (a->u.send.msg == AMB_MSG_CANCEL && nd->busy &&
                       nd->set == a->u.send.set &&
                       nd->epoch == a->u.send.epoch) {
                nd->busy = 0; /* dropped at its next frame */
            }
            break;
        case ACT_CHECK:
            if (m->nchecks == (int)(sizeof(m->check) / sizeof(m->check[0]))) {
                fprintf(stderr, "makespan: too many checks at once\n");
                exit(1);
            }
            m->check[m->nchecks].due = m->now + MK_CHECK_MS;
            m->check[m->nchecks].session = a->session;
            m->check[m->nchecks++].r = a->u.check.r;
            break;
        case ACT_CONCAT:
            m->concat_pending = 1;
            m->concat_at = m->now + m->concat_ms;
            break;
        case ACT_DONE:
            m->over = 1;
            break;
        default:
            break; /* records, logs, checks (the node's own), removals */
        }
    }
}

static void
mk_ev(struct amb_event *ev, enum amb_event_type type, uint64_t session)
{
    memset(ev, 0, sizeof(*ev));
    ev->type = type;
    ev->session = session;
}

static void
mk_result(const struct mk *m, const struct mk_node *nd, struct ev_result *r)
{
    uint64_t first, count;
    job_set_range(&m->job, nd->set, &first, &count);
    r->set = nd->set;
    r->epoch = nd->epoch;
    r->frames = count;
    r->bytes = 1;
    memset(r->sha256, 'a', HASH_HEX_LEN);
    r->sha256[HASH_HEX_LEN] = '\0';
    snprintf(r->encoder, sizeof(r->encoder), "libx264");
    if (job_result_rel(&m->job, nd->set, nd->epoch, nd->name, r->path,
                       sizeof(r->path)) == -1) {
        fprintf(stderr, "makespan: no result path\n");
        exit(1);
    }
}

/* The node's render ended: it reports, and its slot is free. */
static void
mk_node_done(struct mk *m, struct mk_node *nd)
{
    struct amb_event ev;
    mk_ev(&ev, EV_DONE, nd->session);
    mk_result(m, nd, &ev.u.result);
    nd->busy = 0;
    nd->done_at = MK_NEVER;
    mk_step(m, &ev);
}

/* The checker answers on the oldest check that is due: the result is
 * valid. */
static void
mk_checked(struct mk *m)
{
    struct amb_event ev;
    mk_ev(&ev, EV_CHECKED, m->check[0].session);
    ev.u.checked.r = m->check[0].r;
    ev.u.checked.ok = 1;
    ev.u.checked.info.frames = ev.u.checked.r.frames;
    snprintf(ev.u.checked.info.codec, sizeof(ev.u.checked.info.codec), "h264");
    snprintf(ev.u.checked.info.pix_fmt, sizeof(ev.u.checked.info.pix_fmt),
             "yuv420p");
    memmove(&m->check[0], &m->check[1],
            (size_t)(--m->nchecks) * sizeof(m->check[0]));
    mk_step(m, &ev);
}

static void
mk_node_dies(struct mk *m, struct mk_node *nd)
{
    struct amb_event ev;
    nd->dead = 1;
    nd->busy = 0;
    mk_ev(&ev, EV_GONE, nd->session);
    ev.u.gone.died = 1;
    snprintf(ev.u.gone.text, sizeof(ev.u.gone.text), "killed");
    mk_step(m, &ev);
}

static void
mk_periodic(struct mk *m)
{
    struct amb_event ev;
    if (m->now >= m->next_share) {
        mk_ev(&ev, EV_SHARE, 0);
        ev.u.share.ok = 1;
        ev.u.share.free_bytes = UINT64_MAX / 2;
        ev.u.share.gen = m->cfg.gen;
        mk_step(m, &ev);
        m->next_share += MK_SHARE_MS;
    }
    if (m->now >= m->next_lease) {
        m->lease_counter++;
        for (int i = 0; i < m->k; i++) {
            if (m->node[i].dead)
                continue;
            mk_ev(&ev, EV_LEASE, 0);
            snprintf(ev.u.lease.node, sizeof(ev.u.lease.node), "%s",
                     m->node[i].name);
            ev.u.lease.counter = m->lease_counter;
            ev.u.lease.state = LEASE_RUNNING;
            mk_step(m, &ev);
        }
        m->next_lease += MK_LEASE_MS;
    }
    if (m->now >= m->next_hb) {
        for (int i = 0; i < m->k; i++) {
            struct mk_node *nd = &m->node[i];
            uint64_t first, count;
            if (nd->dead || !nd->busy)
                continue;
            job_set_range(&m->job, nd->set, &first, &count);
            mk_ev(&ev, EV_PROGRESS, nd->session);
            ev.u.set.set = nd->set;
            ev.u.set.epoch = nd->epoch;
            ev.u.set.frames = count * (m->now - nd->start) / nd->set_ms;
            mk_step(m, &ev);
        }
        m->next_hb += MK_HB_MS;
    }
    /* As the loop turns (ambassador.c, amb_turn): the events that came,
     * then a tick; a turn waits a tick at most for an event. */
    mk_ev(&ev, EV_TICK, 0);
    mk_step(m, &ev);
    m->next_tick = m->now + AMB_CORE_TICK_MS;
}

static uint64_t
mk_min(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

/* The next time anything is due. */
static uint64_t
mk_next(const struct mk *m)
{
    uint64_t t = mk_min(mk_min(m->next_tick, m->next_share),
                        mk_min(m->next_lease, m->next_hb));
    if (m->concat_pending)
        t = mk_min(t, m->concat_at);
    if (m->nchecks > 0)
        t = mk_min(t, m->check[0].due);
    for (int i = 0; i < m->k; i++) {
        const struct mk_node *nd = &m->node[i];
        if (nd->dead)
            continue;
        if (nd->die_at != MK_NEVER)
            t = mk_min(t, nd->die_at);
        if (nd->busy)
            t = mk_min(t, nd->done_at);
    }
    return t;
}

struct mk_run {
    uint64_t makespan_ms;
    uint64_t backups, won;
};

/* One job on k nodes; 0, or -1 when it did not end by limit_ms. */
static int
mk_run(struct mk *m, int k, enum mk_scenario sc, uint64_t set_ms,
       uint32_t backups, uint64_t die_ms, uint64_t limit_ms, struct mk_run *out)
{
    struct amb_event ev;
    const struct amb_stats *st;

    m->cfg.backups = backups;
    m->k = k;
    m->now = 0;
    m->next_tick = m->next_share = m->next_lease = m->next_hb = 0;
    m->concat_pending = m->over = 0;
    m->nchecks = 0;
    m->core = amb_core_new(&m->cfg, &m->job, NULL, 0);
    if (m->core == NULL)
        return -1;
    mk_periodic(m); /* the share answers before anyone connects */
    for (int i = 0; i < k; i++) {
        struct mk_node *nd = &m->node[i];
        memset(nd, 0, sizeof(*nd));
        nd->session = (uint64_t)i + 1;
        snprintf(nd->name, sizeof(nd->name), "n%d", i);
        nd->set_ms =
            sc == MK_ONE_SLOW && i == k - 1 ? MK_SLOW * set_ms : set_ms;
        nd->die_at = sc == MK_ONE_DIES && i == k - 1 ? die_ms : MK_NEVER;
        nd->done_at = MK_NEVER;
        mk_ev(&ev, EV_ACCEPTED, nd->session);
        snprintf(ev.u.accepted.peer, sizeof(ev.u.accepted.peer), "vnode%d", i);
        mk_step(m, &ev);
        mk_ev(&ev, EV_HELLO, nd->session);
        snprintf(ev.name, sizeof(ev.name), "%s", nd->name);
        ev.u.hello.slots = 1;
        snprintf(ev.u.hello.encoders, sizeof(ev.u.hello.encoders), "libx264");
        snprintf(ev.u.hello.decoder, sizeof(ev.u.hello.decoder), "cpu");
        mk_step(m, &ev);
    }
    while (!m->over && m->now <= limit_ms) {
        m->now = mk_next(m);
        for (int i = 0; i < k; i++) {
            struct mk_node *nd = &m->node[i];
            if (nd->dead)
                continue;
            if (nd->die_at <= m->now)
                mk_node_dies(m, nd);
            else if (nd->busy && nd->done_at <= m->now)
                mk_node_done(m, nd);
        }
        while (m->nchecks > 0 && m->check[0].due <= m->now)
            mk_checked(m);
        if (m->concat_pending && m->concat_at <= m->now) {
            m->concat_pending = 0;
            mk_ev(&ev, EV_CONCATED, 0);
            ev.u.concated.ok = 1;
            ev.u.concated.frames = m->listing.count;
            mk_step(m, &ev);
        }
        mk_periodic(m);
        if (amb_core_failed(m->core)) {
            fprintf(stderr, "makespan: job failed: %s\n",
                    amb_core_report(m->core));
            break;
        }
    }
    st = amb_core_stats(m->core);
    out->makespan_ms = m->now;
    out->backups = st->backups;
    out->won = st->backups_won;
    amb_core_free(m->core);
    m->core = NULL;
    return m->over ? 0 : -1;
}

static int
mk_job(struct mk *m, uint32_t nsets)
{
    size_t frames = (size_t)nsets * MK_SET_FRAMES;
    const char **names = calloc(frames, sizeof(*names));
    int rc;
    m->frame = calloc(frames, sizeof(*m->frame));
    m->frame_name = calloc(frames, sizeof(*m->frame_name));
    if (names == NULL || m->frame == NULL || m->frame_name == NULL) {
        free(names);
        return -1;
    }
    for (size_t i = 0; i < frames; i++) {
        snprintf(m->frame_name[i], sizeof(m->frame_name[i]), "f%06zu.jpg", i);
        names[i] = m->frame_name[i];
    }
    m->listing.frames = m->frame;
    m->listing.count = frames;
    rc = zipf_listing_set_names(&m->listing, names);
    free(names);
    if (rc == -1)
        return -1;
    memset(&m->job, 0, sizeof(m->job));
    snprintf(m->job.id, sizeof(m->job.id), "makespan");
    snprintf(m->job.share, sizeof(m->job.share), "/share");
    snprintf(m->job.output, sizeof(m->job.output), "/share/out.mp4");
    m->job.set_size = MK_SET_FRAMES;
    m->job.nsets = nsets;
    m->job.frames = &m->listing;
    return 0;
}

static void
mk_job_free(struct mk *m)
{
    free(m->frame);
    free(m->frame_name);
    free(m->listing.names);
    m->frame = NULL;
    m->frame_name = NULL;
    m->listing.names = NULL;
}

/* The work over the farm's capacity, plus the concat. */
static double
mk_ideal(enum mk_scenario sc, int k, double work_ms, double die_ms,
         double concat_ms)
{
    switch (sc) {
    case MK_ONE_SLOW:
        return work_ms / ((double)k - 1.0 + 1.0 / MK_SLOW) + concat_ms;
    case MK_ONE_DIES:
        /* k nodes until die_ms, k - 1 after: k d + (k - 1)(M - d) = W */
        return (work_ms - die_ms) / ((double)k - 1.0) + concat_ms;
    default:
        return work_ms / (double)k + concat_ms;
    }
}

int
main(int argc, char **argv)
{
    static const int ks[] = {2, 4, 8, 16, 32, 64};
    struct mk *m;
    uint64_t set_ms, concat_ms = MK_CONCAT_MS, per_node = MK_SETS_PER_NODE;
    double worst[2] = {0, 0};
    int rc = 0;

    if (argc < 2 || (set_ms = strtoull(argv[1], NULL, 10)) == 0) {
        fprintf(stderr, "usage: makespan SET_MS [CONCAT_MS [SETS_PER_NODE]]\n");
        return 2;
    }
    if (argc > 2)
        concat_ms = strtoull(argv[2], NULL, 10);
    if (argc > 3 && (per_node = strtoull(argv[3], NULL, 10)) == 0)
        per_node = MK_SETS_PER_NODE;
    m = calloc(1, sizeof(*m));
    if (m == NULL)
        return 1;
    config_defaults(&m->cfg);
    m->cfg.gen = 1;
    m->concat_ms = concat_ms;
    printf("set: %" PRIu64 " ms on one node, concat %" PRIu64 " ms, %" PRIu64
           " sets per node, one slot per node\n",
           set_ms, concat_ms, per_node);
    printf("%3s  %-17s %9s  %10s %6s %9s  %10s %6s %9s\n", "K", "speeds",
           "ideal s", "no backup", "ratio", "", "backups", "ratio", "ran/won");
    for (size_t ki = 0; ki < sizeof(ks) / sizeof(ks[0]); ki++) {
        int k = ks[ki];
        uint32_t nsets = (uint32_t)(per_node * (uint64_t)k);
        double work = (double)nsets * (double)set_ms;
        if (mk_job(m, nsets) == -1)
            return 1;
        for (int sc = 0; sc < MK_SCENARIOS; sc++) {
            double die = work / k / 2.0 + (double)set_ms / 3.0;
            double ideal = mk_ideal(sc, k, work, die, (double)concat_ms);
            struct mk_run r[2];
            double ratio[2];
            for (uint32_t b = 0; b < 2; b++) {
                if (mk_run(m, k, sc, set_ms, b, (uint64_t)die,
                           (uint64_t)(ideal * MK_LIMIT_FACTOR), &r[b]) == -1) {
                    fprintf(stderr, "makespan: K=%d %s backups %u: not over\n",
                            k, mk_scenario_names[sc], b);
                    rc = 1;
                }
                ratio[b] = (double)r[b].makespan_ms / ideal;
                if (ratio[b] > worst[b])
                    worst[b] = ratio[b];
            }
            printf("%3d  %-17s %9.2f  %10.2f %6.3f %9s  %10.2f %6.3f %4" PRIu64
                   "/%-4" PRIu64 "\n",
                   k, mk_scenario_names[sc], ideal / 1000.0,
                   (double)r[0].makespan_ms / 1000.0, ratio[0], "",
                   (double)r[1].makespan_ms / 1000.0, ratio[1], r[1].backups,
                   r[1].won);
        }
        mk_job_free(m);
    }
    printf("worst ratio: %.3f without backups, %.3f with (goal <= 1.1)\n",
           worst[0], worst[1]);
    free(m);
    return rc;
}
