/*
 * test_amb_core.c - the ambassador's decisions (coordinator/amb_core.h),
 * event by event on a virtual clock, with a tiny real job (a few sets of
 * two named frames) and the default configuration: dispatch waits for the
 * share and fills a node's slots, record before message; a name in use is
 * refused; a done is checked, counted and answered, or refused as stale
 * (its file removed) or duplicate (its file kept); failures make a set
 * assignable again at a new epoch and stop the job at the cap, with a
 * report; a dead node's sets come back at once, a detached node's only
 * when its lease has been still for reclaim_ms, unless it comes back with
 * them; a still lease keeps work from a connected node; a newer
 * generation ends this one; all sets counted start the concat; and the
 * snapshot and the journal records both replay to the table they
 * describe. Jobs one after another (a service): an idle core serves
 * nodes and gives nothing (held sets cancelled, reports stale); a job
 * started on it dispatches from its epoch base; the end of a failed or
 * cancelled job cancels what nodes hold, frees their slots and a
 * half-open breaker's probe for the next job; an old job's done or check
 * is stale in the next; a cancel stops a job until its concat begins.
 * Speculative backups: only for an idle node with nothing Available; the
 * first result counted wins once, the other attempt is cancelled and its
 * late done is stale; either attempt ending leaves the set to the other;
 * none with backups 0; the journal replays both attempts.
 * Every step also checks the ordering contract: records are never
 * deferred; messages to nodes, the concat and the end always are.
 */
#include "tests/unit/unit.h"

#include "coordinator/amb_core.h"
#include "coordinator/jrec.h"

#define JOB_ID "job1"
#define NEXT_ID "job2"
#define JOB_SEQ 1 /* a service's job numbers: epoch bases */
#define NEXT_SEQ 2
#define SET_FRAMES 2
#define NSETS_MAX 6
#define FRAMES_MAX (NSETS_MAX * SET_FRAMES)
#define FRAME_NAME_MAX 32
#define RECS_MAX 256
#define DESCRIBE_MAX 8192
#define T0 1000000 /* the core's clock at start */
#define GEN 3
#define TICK_MS AMB_CORE_TICK_MS
#define SHARE_EVERY_MS 1000    /* the share probe answers this often */
#define SHORT_COOLDOWN_MS 1000 /* a breaker that re-opens soon */
#define LONG_COOLDOWN_MS 60000 /* one seen open for a while */
#define STRANDED_WAIT_MS (10 * 60 * 1000) /* "never", for an idle farm */
#define RESULT_BYTES 1000
#define NO_SET UINT32_MAX
#define ANY (-1)
#define SHA "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

#define S1 1 /* node sessions */
#define S2 2

struct fix {
    struct coord_config cfg;
    struct job job;
    struct zipf_listing listing;
    struct zipf_frame frame[FRAMES_MAX];
    char frame_name[FRAMES_MAX][FRAME_NAME_MAX];
    struct job next; /* a service's next job */
    struct zipf_listing next_listing;
    struct zipf_frame next_frame[FRAMES_MAX];
    const struct job *cur; /* the job results are reported for */
    struct amb_core *core;
    uint64_t now, last_share;
    const struct amb_act *a; /* the last step's actions */
    size_t n;
    struct jrec rec[RECS_MAX]; /* every record of every step, in order */
    size_t nrec;
};

static int
fix_setup(void **state)
{
    struct fix *f = calloc(1, sizeof(*f));
    if (f == NULL)
        return -1;
    config_defaults(&f->cfg);
    f->cfg.gen = GEN;
    snprintf(f->cfg.output, sizeof(f->cfg.output), "/share/out.mp4");
    *state = f;
    return 0;
}

static int
fix_teardown(void **state)
{
    struct fix *f = *state;
    amb_core_free(f->core);
    free(f->listing.names);
    free(f->next_listing.names);
    free(f);
    return 0;
}

/* A job: nsets sets of SET_FRAMES frames named frame-NNNN.jpg, its
 * epochs from seq << JOB_EPOCH_SHIFT. */
static void
job_fill(struct fix *f, struct job *j, struct zipf_listing *listing,
         struct zipf_frame *frame, const char *id, uint32_t nsets, uint64_t seq)
{
    const char *names[FRAMES_MAX];
    assert_true(nsets <= NSETS_MAX);
    memset(j, 0, sizeof(*j));
    snprintf(j->id, sizeof(j->id), "%s", id);
    snprintf(j->share, sizeof(j->share), "/share");
    snprintf(j->output, sizeof(j->output), "/share/%s.mp4", id);
    j->epoch_base = seq << JOB_EPOCH_SHIFT;
    j->set_size = SET_FRAMES;
    j->nsets = nsets;
    listing->count = (size_t)nsets * SET_FRAMES;
    listing->frames = frame;
    for (size_t i = 0; i < listing->count; i++) {
        snprintf(f->frame_name[i], FRAME_NAME_MAX, "frame-%04zu.jpg", i);
        names[i] = f->frame_name[i];
    }
    assert_int_equal(zipf_listing_set_names(listing, names), 0);
    j->frames = listing;
}

/* The job of a one-job ambassador: nsets sets, epochs from 0. */
static void
fix_start(struct fix *f, uint32_t nsets)
{
    job_fill(f, &f->job, &f->listing, f->frame, JOB_ID, nsets, 0);
    f->core = amb_core_new(&f->cfg, &f->job, NULL, T0);
    assert_non_null(f->core);
    f->cur = &f->job;
    f->now = T0;
}

/* ---- describing actions, for failure messages ---- */

static const char *
act_name(enum amb_act_type t)
{
    static const char *const names[] = {
        [ACT_SEND] = "SEND",
        [ACT_RECORD] = "RECORD",
        [ACT_CHECK] = "CHECK",
        [ACT_REMOVE] = "REMOVE",
        [ACT_CONCAT] = "CONCAT",
        [ACT_DONE] = "DONE",
        [ACT_LOG] = "LOG",
        [ACT_FORGET] = "FORGET",
        [ACT_EXIT_REPLACED] = "EXIT_REPLACED",
    };
    return (size_t)t < sizeof(names) / sizeof(names[0]) && names[t] != NULL
               ? names[t]
               : "?";
}

static const char *
msg_name(enum amb_msg m)
{
    static const char *const names[] = {
        [AMB_MSG_ASSIGN] = "assign",
        [AMB_MSG_RESULT] = "result",
        [AMB_MSG_CANCEL] = "cancel",
        [AMB_MSG_REFUSE] = "refuse",
    };
    return (size_t)m < sizeof(names) / sizeof(names[0]) ? names[m] : "?";
}

/* One line per action of the last step. */
static const char *
describe(const struct fix *f)
{
    static char out[DESCRIBE_MAX];
    size_t len = 0;
    out[0] = '\0';
    if (f->n == 0)
        return "(no actions)";
    for (size_t i = 0; i < f->n && len < sizeof(out); i++) {
        const struct amb_act *a = &f->a[i];
        int w = 0;
        switch (a->type) {
        case ACT_SEND:
            w = snprintf(out + len, sizeof(out) - len,
                         "\n  [%zu] SEND%s session %llu %s set %u epoch %llu "
                         "ok %d \"%s\"",
                         i, a->deferred ? " (deferred)" : "",
                         (unsigned long long)a->session,
                         msg_name(a->u.send.msg), a->u.send.set,
                         (unsigned long long)a->u.send.epoch, a->u.send.ok,
                         a->u.send.text);
            break;
        case ACT_RECORD: {
            /* A record as the journal will hold it. */
            char *text = jrec_encode(&a->u.rec.r);
            w = snprintf(out + len, sizeof(out) - len,
                         "\n  [%zu] RECORD%s %.300s", i,
                         a->deferred ? " (deferred)" : "",
                         text != NULL ? text : "(cannot encode)");
            free(text);
            break;
        }
        case ACT_CHECK:
            w = snprintf(out + len, sizeof(out) - len,
                         "\n  [%zu] CHECK%s set %u epoch %llu %s", i,
                         a->deferred ? " (deferred)" : "", a->u.check.r.set,
                         (unsigned long long)a->u.check.r.epoch,
                         a->u.check.r.path);
            break;
        case ACT_REMOVE:
            w = snprintf(out + len, sizeof(out) - len, "\n  [%zu] REMOVE%s %s",
                         i, a->deferred ? " (deferred)" : "", a->u.path);
            break;
        case ACT_LOG:
            w = snprintf(out + len, sizeof(out) - len,
                         "\n  [%zu] LOG%s \"%.160s\"", i,
                         a->deferred ? " (deferred)" : "", a->u.log.text);
            break;
        default:
            w = snprintf(out + len, sizeof(out) - len,
                         "\n  [%zu] %s%s session %llu", i, act_name(a->type),
                         a->deferred ? " (deferred)" : "",
                         (unsigned long long)a->session);
            break;
        }
        if (w < 0)
            break;
        len += (size_t)w;
    }
    return out;
}

/* ---- finding actions ---- */

/* Index of the first action at or after from of this type that matches
 * kind (ACT_SEND: its message; ACT_RECORD: its record type), set and
 * session (ANY, NO_SET or 0 match all), or -1. */
static long
act_find(const struct fix *f, size_t from, enum amb_act_type type, int kind,
         uint32_t set, uint64_t session)
{
    for (size_t i = from; i < f->n; i++) {
        const struct amb_act *a = &f->a[i];
        uint32_t aset = NO_SET;
        if (a->type != type || (session != 0 && a->session != session))
            continue;
        if (type == ACT_SEND) {
            if (kind != ANY && a->u.send.msg != (enum amb_msg)kind)
                continue;
            aset = a->u.send.set;
        } else if (type == ACT_RECORD) {
            if (kind != ANY && a->u.rec.r.type != (enum jrec_type)kind)
                continue;
            aset = a->u.rec.r.set;
        } else if (type == ACT_CHECK) {
            aset = a->u.check.r.set;
        }
        if (set != NO_SET && aset != set)
            continue;
        return (long)i;
    }
    return -1;
}

static size_t
act_count(const struct fix *f, enum amb_act_type type, int kind,
          uint64_t session)
{
    size_t k = 0;
    for (long i = act_find(f, 0, type, kind, NO_SET, session); i >= 0;
         i = act_find(f, (size_t)i + 1, type, kind, NO_SET, session))
        k++;
    return k;
}

static const struct amb_act *
expect_act(const struct fix *f, enum amb_act_type type, int kind, uint32_t set,
           uint64_t session, const char *what)
{
    long i = act_find(f, 0, type, kind, set, session);
    if (i < 0)
        fail_msg("%s: want a %s (kind %d, set %d, session %llu), got:%s", what,
                 act_name(type), kind, set == NO_SET ? -1 : (int)set,
                 (unsigned long long)session, describe(f));
    return &f->a[i];
}

static void
expect_no_act(const struct fix *f, enum amb_act_type type, int kind,
              uint32_t set, uint64_t session, const char *what)
{
    long i = act_find(f, 0, type, kind, set, session);
    if (i >= 0)
        fail_msg("%s: want no %s (kind %d, set %d, session %llu), got it at "
                 "[%ld]:%s",
                 what, act_name(type), kind, set == NO_SET ? -1 : (int)set,
                 (unsigned long long)session, i, describe(f));
}

static const struct amb_act *
expect_send(const struct fix *f, uint64_t session, enum amb_msg msg,
            uint32_t set, const char *what)
{
    return expect_act(f, ACT_SEND, (int)msg, set, session, what);
}

static const struct jrec *
expect_rec(const struct fix *f, enum jrec_type type, uint32_t set,
           const char *what)
{
    return &expect_act(f, ACT_RECORD, (int)type, set, 0, what)->u.rec.r;
}

static long
log_find(const struct fix *f, const char *needle)
{
    for (size_t i = 0; i < f->n; i++)
        if (f->a[i].type == ACT_LOG && strstr(f->a[i].u.log.text, needle))
            return (long)i;
    return -1;
}

static const struct amb_act *
expect_log(const struct fix *f, const char *needle, const char *what)
{
    long i = log_find(f, needle);
    if (i < 0)
        fail_msg("%s: want a log line containing \"%s\", got:%s", what, needle,
                 describe(f));
    return &f->a[i];
}

static void
expect_no_log(const struct fix *f, const char *needle, const char *what)
{
    long i = log_find(f, needle);
    if (i >= 0)
        fail_msg("%s: want no log line containing \"%s\", got:%s", what, needle,
                 describe(f));
}

/* a comes before b in the last step's actions. */
static void
expect_before(const struct fix *f, const struct amb_act *a,
              const struct amb_act *b, const char *what)
{
    if (a >= b)
        fail_msg("%s: [%td] %s must come before [%td] %s, got:%s", what,
                 a - f->a, act_name(a->type), b - f->a, act_name(b->type),
                 describe(f));
}

/* ---- the set table ---- */

static const struct set_info *
set_of(const struct fix *f, uint32_t set)
{
    const struct set_info *s = set_table_get(amb_core_sets(f->core), set);
    assert_non_null(s);
    return s;
}

static void
expect_set(const struct fix *f, uint32_t set, enum set_status status,
           uint64_t epoch, uint64_t holder)
{
    const struct set_info *s = set_of(f, set);
    if (s->status != status || s->epoch != epoch || s->holder != holder)
        fail_msg("set %u: %c at epoch %llu held by session %llu; want %c at "
                 "epoch %llu held by %llu",
                 set, (char)s->status, (unsigned long long)s->epoch,
                 (unsigned long long)s->holder, (char)status,
                 (unsigned long long)epoch, (unsigned long long)holder);
}

static void
expect_stat(uint64_t got, uint64_t want, const char *name)
{
    if (got != want)
        fail_msg("stats: %s is %llu, want %llu", name, (unsigned long long)got,
                 (unsigned long long)want);
}

/* ---- the node table ---- */

struct view_want {
    uint64_t session;
    int found;
    char breaker[32];
    char name[IDENT_MAX + 1];
    uint64_t counted;
};

static void
view_one(const struct amb_node_view *v, void *arg)
{
    struct view_want *w = arg;
    if (v->session != w->session)
        return;
    w->found = 1;
    snprintf(w->breaker, sizeof(w->breaker), "%s", v->breaker);
    snprintf(w->name, sizeof(w->name), "%s", v->name);
    w->counted = v->counted;
}

/* The breaker that status shows for session (two calls may share one
 * message: the last two answers stay valid). */
static const char *
breaker_of(const struct fix *f, uint64_t session)
{
    static struct view_want w[2];
    static int next;
    struct view_want *v = &w[next];
    next = !next;
    memset(v, 0, sizeof(*v));
    v->session = session;
    amb_core_nodes(f->core, view_one, v);
    if (!v->found)
        fail_msg("no node entry for session %llu", (unsigned long long)session);
    return v->breaker;
}

static void
expect_breaker(const struct fix *f, uint64_t session, const char *want,
               const char *what)
{
    const char *got = breaker_of(f, session);
    if (strcmp(got, want) != 0)
        fail_msg("%s: session %llu's breaker is %s, want %s", what,
                 (unsigned long long)session, got, want);
}

/* ---- events ---- */

static void
ev_init(struct amb_event *ev, enum amb_event_type type, uint64_t session,
        const char *name)
{
    memset(ev, 0, sizeof(*ev));
    ev->type = type;
    ev->session = session;
    if (name != NULL)
        snprintf(ev->name, sizeof(ev->name), "%s", name);
}

/* The ordering contract holds for every step: a journal record is
 * appended at once, a message to a node waits for the records before
 * it. */
static void
check_contract(struct fix *f)
{
    for (size_t i = 0; i < f->n; i++) {
        const struct amb_act *a = &f->a[i];
        if (a->type == ACT_RECORD) {
            if (a->deferred)
                fail_msg("[%zu] a record is deferred:%s", i, describe(f));
            if (f->nrec == RECS_MAX)
                fail_msg("more than %d records", RECS_MAX);
            f->rec[f->nrec++] = a->u.rec.r;
        }
        if (a->type == ACT_SEND && !a->deferred)
            fail_msg("[%zu] a message to a node is not deferred:%s", i,
                     describe(f));
        if ((a->type == ACT_CONCAT || a->type == ACT_DONE) && !a->deferred)
            fail_msg("[%zu] %s is not deferred:%s", i, act_name(a->type),
                     describe(f));
    }
}

/* One step. */
static void
step(struct fix *f, const struct amb_event *ev, uint64_t now)
{
    assert_true(now >= f->now);
    f->now = now;
    f->a = amb_core_step(f->core, ev, now, &f->n);
    check_contract(f);
}

static void
share(struct fix *f, uint64_t now, int ok, uint64_t gen)
{
    struct amb_event ev;
    ev_init(&ev, EV_SHARE, 0, NULL);
    ev.u.share.ok = ok;
    ev.u.share.gen = gen;
    if (!ok)
        snprintf(ev.u.share.text, sizeof(ev.u.share.text), "timed out");
    step(f, &ev, now);
    if (ok)
        f->last_share = now;
}

static void
tick(struct fix *f, uint64_t now)
{
    struct amb_event ev;
    ev_init(&ev, EV_TICK, 0, NULL);
    step(f, &ev, now);
}

/* Time passes to now: the share answers every SHARE_EVERY_MS, then the
 * tick; the last step's actions are the tick's. */
static void
pulse(struct fix *f, uint64_t now)
{
    if (now - f->last_share >= SHARE_EVERY_MS)
        share(f, now, 1, GEN);
    tick(f, now);
}

static void
accepted(struct fix *f, uint64_t session, uint64_t now)
{
    struct amb_event ev;
    ev_init(&ev, EV_ACCEPTED, session, NULL);
    snprintf(ev.u.accepted.peer, sizeof(ev.u.accepted.peer), "10.0.0.%llu:7000",
             (unsigned long long)session);
    step(f, &ev, now);
}

/* A hello of name on session, with nheld (set, epoch) pairs in hand. */
static void
hello(struct fix *f, uint64_t session, const char *name, int slots,
      const struct lease_held *held, uint32_t nheld, uint64_t now)
{
    struct amb_event ev;
    ev_init(&ev, EV_HELLO, session, name);
    ev.u.hello.slots = slots;
    snprintf(ev.u.hello.peer, sizeof(ev.u.hello.peer), "10.0.0.%llu:7000",
             (unsigned long long)session);
    snprintf(ev.u.hello.encoders, sizeof(ev.u.hello.encoders), "libx264");
    snprintf(ev.u.hello.decoder, sizeof(ev.u.hello.decoder), "cpu");
    ev.u.hello.nheld = nheld;
    for (uint32_t i = 0; i < nheld; i++)
        ev.u.hello.held[i] = held[i];
    step(f, &ev, now);
}

static void
connect_node(struct fix *f, uint64_t session, const char *name, int slots,
             uint64_t now)
{
    accepted(f, session, now);
    hello(f, session, name, slots, NULL, 0, now);
}

static void
result_path_in(const struct job *j, uint32_t set, uint64_t epoch,
               const char *node, char *out)
{
    assert_int_equal(job_result_rel(j, set, epoch, node, out, FS_PATH_MAX), 0);
}

/* In the tree of the job the core runs. */
static void
result_path(const struct fix *f, uint32_t set, uint64_t epoch, const char *node,
            char *out)
{
    result_path_in(f->cur, set, epoch, node, out);
}

static void
result_fill(struct ev_result *r, uint32_t set, uint64_t epoch, uint64_t frames,
            const char *path)
{
    r->set = set;
    r->epoch = epoch;
    r->frames = frames;
    r->bytes = RESULT_BYTES + set;
    snprintf(r->sha256, sizeof(r->sha256), "%s", SHA);
    snprintf(r->encoder, sizeof(r->encoder), "libx264");
    snprintf(r->preset, sizeof(r->preset), "medium");
    snprintf(r->path, sizeof(r->path), "%s", path);
}

/* The node on session says set is rendered, with frames, at path. */
static void
done_at(struct fix *f, uint64_t session, uint32_t set, uint64_t epoch,
        uint64_t frames, const char *path, uint64_t now)
{
    struct amb_event ev;
    ev_init(&ev, EV_DONE, session, NULL);
    result_fill(&ev.u.result, set, epoch, frames, path);
    step(f, &ev, now);
}

/* A done as a healthy node named node sends it. */
static void
done(struct fix *f, uint64_t session, const char *node, uint32_t set,
     uint64_t epoch, uint64_t now)
{
    char path[FS_PATH_MAX];
    result_path(f, set, epoch, node, path);
    done_at(f, session, set, epoch, SET_FRAMES, path, now);
}

/* The checker's answer on the result of set in job j's tree. */
static void
checked_in(struct fix *f, const struct job *j, uint64_t session,
           const char *node, uint32_t set, uint64_t epoch, int ok, uint64_t now)
{
    struct amb_event ev;
    char path[FS_PATH_MAX];
    result_path_in(j, set, epoch, node, path);
    ev_init(&ev, EV_CHECKED, session, NULL);
    result_fill(&ev.u.checked.r, set, epoch, SET_FRAMES, path);
    ev.u.checked.ok = ok;
    if (!ok)
        snprintf(ev.u.checked.text, sizeof(ev.u.checked.text),
                 "1 frame, want 2");
    snprintf(ev.u.checked.info.codec, sizeof(ev.u.checked.info.codec), "h264");
    snprintf(ev.u.checked.info.pix_fmt, sizeof(ev.u.checked.info.pix_fmt),
             "yuv420p");
    ev.u.checked.info.frames = SET_FRAMES;
    step(f, &ev, now);
}

static void
checked(struct fix *f, uint64_t session, const char *node, uint32_t set,
        uint64_t epoch, int ok, uint64_t now)
{
    checked_in(f, f->cur, session, node, set, epoch, ok, now);
}

/* done, then its check passes. */
static void
count_set(struct fix *f, uint64_t session, const char *node, uint32_t set,
          uint64_t epoch, uint64_t now)
{
    done(f, session, node, set, epoch, now);
    expect_act(f, ACT_CHECK, ANY, set, session, "done to count");
    checked(f, session, node, set, epoch, 1, now);
    expect_rec(f, JREC_ACCEPT, set, "check passed");
}

static void
fail_set(struct fix *f, uint64_t session, uint32_t set, uint64_t epoch,
         const char *why, uint64_t now)
{
    struct amb_event ev;
    ev_init(&ev, EV_FAIL, session, NULL);
    ev.u.set.set = set;
    ev.u.set.epoch = epoch;
    snprintf(ev.u.set.text, sizeof(ev.u.set.text), "%s", why);
    step(f, &ev, now);
}

static void
gone(struct fix *f, uint64_t session, int died, int trip, const char *why,
     uint64_t now)
{
    struct amb_event ev;
    ev_init(&ev, EV_GONE, session, NULL);
    ev.u.gone.died = died;
    ev.u.gone.trip = trip;
    snprintf(ev.u.gone.text, sizeof(ev.u.gone.text), "%s", why);
    step(f, &ev, now);
}

static void
lease(struct fix *f, const char *node, uint64_t counter,
      const struct lease_held *held, uint32_t nheld, uint64_t now)
{
    struct amb_event ev;
    ev_init(&ev, EV_LEASE, 0, NULL);
    snprintf(ev.u.lease.node, sizeof(ev.u.lease.node), "%s", node);
    ev.u.lease.counter = counter;
    ev.u.lease.state = LEASE_RUNNING;
    ev.u.lease.nheld = nheld;
    for (uint32_t i = 0; i < nheld; i++)
        ev.u.lease.held[i] = held[i];
    step(f, &ev, now);
}

/* The share answers, n1 (session S1, slots) says hello, and a tick hands
 * it work: the usual start. */
static void
start_with_node(struct fix *f, uint32_t nsets, int slots)
{
    fix_start(f, nsets);
    share(f, T0, 1, GEN);
    connect_node(f, S1, "n1", slots, T0);
    tick(f, T0 + TICK_MS);
}

/* ---- dispatch ---- */

static void
test_no_dispatch_before_share_answers(void **state)
{
    struct fix *f = *state;
    uint64_t t = T0;
    const struct amb_act *rec, *send;

    fix_start(f, 3);
    connect_node(f, S1, "n1", 2, t);
    for (int i = 0; i < 5; i++) {
        tick(f, t += TICK_MS);
        expect_no_act(f, ACT_RECORD, ANY, NO_SET, 0, "share never answered");
        expect_no_act(f, ACT_SEND, ANY, NO_SET, 0, "share never answered");
    }
    share(f, t += TICK_MS, 0, GEN); /* a failed probe is no answer */
    tick(f, t += TICK_MS);
    expect_no_act(f, ACT_SEND, ANY, NO_SET, 0, "share probe failed");

    share(f, t += TICK_MS, 1, GEN);
    expect_no_act(f, ACT_SEND, ANY, NO_SET, 0, "the answer itself");
    tick(f, t += TICK_MS);
    /* Two slots: sets 0 and 1, each recorded before it is sent. */
    for (uint32_t set = 0; set < 2; set++) {
        const struct jrec *r;
        rec = expect_act(f, ACT_RECORD, JREC_ASSIGN, set, 0, "tick");
        send = expect_send(f, S1, AMB_MSG_ASSIGN, set, "tick");
        expect_before(f, rec, send, "assign: record, then message");
        r = &rec->u.rec.r;
        assert_int_equal(r->epoch, 1);
        assert_string_equal(r->node, "n1");
        assert_int_equal(send->u.send.epoch, 1);
        expect_set(f, set, SET_PROCESSING, 1, S1);
        assert_string_equal(set_of(f, set)->holder_name, "n1");
    }
    expect_no_act(f, ACT_SEND, AMB_MSG_ASSIGN, 2, 0, "only two slots");
    expect_set(f, 2, SET_AVAILABLE, 0, 0);
    expect_stat(amb_core_stats(f->core)->assigned, 2, "assigned");

    tick(f, t += TICK_MS);
    expect_no_act(f, ACT_SEND, ANY, NO_SET, 0, "slots full");
}

static void
test_share_silent_pauses_dispatch(void **state)
{
    struct fix *f = *state;
    uint64_t t = T0;

    fix_start(f, 1);
    share(f, t, 1, GEN);
    connect_node(f, S1, "n1", 1, t);
    /* The probe's last answer is share_suspect_ms old: no work goes out. */
    t += f->cfg.share_suspect_ms;
    tick(f, t);
    expect_log(f, "share has not answered", "share silent");
    expect_no_act(f, ACT_SEND, ANY, NO_SET, 0, "share silent");
    share(f, t += TICK_MS, 1, GEN);
    expect_log(f, "share answers again", "share back");
    tick(f, t += TICK_MS);
    expect_send(f, S1, AMB_MSG_ASSIGN, 0, "share back");
}

static void
test_suspect_node_gets_no_work(void **state)
{
    struct fix *f = *state;
    struct amb_event ev;
    uint64_t t = T0;

    fix_start(f, 1);
    share(f, t, 1, GEN);
    connect_node(f, S1, "n1", 1, t);
    ev_init(&ev, EV_SUSPECT, S1, NULL);
    ev.u.suspect.on = 1;
    ev.u.suspect.silent_ms = f->cfg.suspect_ms;
    step(f, &ev, t += TICK_MS);
    expect_log(f, "suspect", "suspect");
    tick(f, t += TICK_MS);
    expect_no_act(f, ACT_SEND, ANY, NO_SET, 0, "suspect");
    ev.u.suspect.on = 0;
    step(f, &ev, t += TICK_MS);
    tick(f, t += TICK_MS);
    expect_send(f, S1, AMB_MSG_ASSIGN, 0, "heard again");
}

static void
test_second_hello_with_same_name_refused(void **state)
{
    struct fix *f = *state;
    const struct amb_act *a;
    uint64_t t = T0 + TICK_MS;

    start_with_node(f, 3, 1);
    expect_send(f, S1, AMB_MSG_ASSIGN, 0, "first session");

    accepted(f, S2, t += TICK_MS);
    hello(f, S2, "n1", 2, NULL, 0, t);
    a = expect_send(f, S2, AMB_MSG_REFUSE, NO_SET, "same name");
    assert_contains(a->u.send.text, "\"n1\"");
    expect_no_act(f, ACT_RECORD, ANY, NO_SET, 0, "refused hello");
    expect_no_act(f, ACT_SEND, ANY, NO_SET, S1, "refused hello");
    expect_stat(amb_core_stats(f->core)->refused, 1, "refused");
    expect_set(f, 0, SET_PROCESSING, 1, S1);

    /* The refused session never gets work; the first keeps its set. */
    tick(f, t += TICK_MS);
    expect_no_act(f, ACT_SEND, ANY, NO_SET, S2, "tick after refusal");
    gone(f, S2, 1, 0, "refused", t += TICK_MS);
    expect_act(f, ACT_FORGET, ANY, NO_SET, S2, "refused session ends");
    expect_no_act(f, ACT_RECORD, JREC_RECLAIM, NO_SET, 0,
                  "refused session ends");
    expect_set(f, 0, SET_PROCESSING, 1, S1);
    done(f, S1, "n1", 0, 1, t += TICK_MS);
    expect_act(f, ACT_CHECK, ANY, 0, S1, "first session's done");
}

/* ---- results ---- */

static void
test_done_checked_counted(void **state)
{
    struct fix *f = *state;
    const struct amb_act *check, *rec, *log, *res;
    char path[FS_PATH_MAX];
    uint64_t t = T0 + TICK_MS;

    start_with_node(f, 2, 1);
    expect_send(f, S1, AMB_MSG_ASSIGN, 0, "start");
    result_path(f, 0, 1, "n1", path);

    done(f, S1, "n1", 0, 1, t += TICK_MS);
    check = expect_act(f, ACT_CHECK, ANY, 0, S1, "done");
    assert_false(check->deferred);
    assert_int_equal(check->u.check.r.epoch, 1);
    assert_string_equal(check->u.check.r.path, path);
    assert_int_equal(check->u.check.frames, SET_FRAMES);
    expect_no_act(f, ACT_RECORD, ANY, NO_SET, 0, "done, before its check");
    expect_no_act(f, ACT_SEND, ANY, NO_SET, 0, "done, before its check");
    expect_no_log(f, "counted", "done, before its check");
    expect_set(f, 0, SET_PROCESSING, 1, S1);
    assert_true(set_of(f, 0)->checking);
    assert_null(amb_core_accepted(f->core, 0));

    checked(f, S1, "n1", 0, 1, 1, t += TICK_MS);
    rec = expect_act(f, ACT_RECORD, JREC_ACCEPT, 0, 0, "check passed");
    assert_int_equal(rec->u.rec.r.epoch, 1);
    assert_string_equal(rec->u.rec.r.path, path);
    assert_string_equal(rec->u.rec.r.node, "n1");
    assert_string_equal(rec->u.rec.r.sha256, SHA);
    log = expect_log(f, ": counted", "check passed");
    if (!log->deferred)
        fail_msg("the \"counted\" line is not deferred:%s", describe(f));
    expect_before(f, rec, log, "counted: record, then the log line");
    res = expect_send(f, S1, AMB_MSG_RESULT, 0, "check passed");
    expect_before(f, rec, res, "counted: record, then the result");
    assert_int_equal(res->u.send.ok, 1);
    assert_int_equal(res->u.send.epoch, 1);
    expect_set(f, 0, SET_COUNTED, 1, 0);
    assert_non_null(amb_core_accepted(f->core, 0));
    assert_string_equal(amb_core_accepted(f->core, 0), path);
    expect_stat(amb_core_stats(f->core)->counted, 1, "counted");

    /* Its slot is free again. */
    tick(f, t += TICK_MS);
    expect_send(f, S1, AMB_MSG_ASSIGN, 1, "slot freed by the result");
}

static void
test_done_with_wrong_frames_or_path_rejected(void **state)
{
    struct fix *f = *state;
    const struct amb_act *res;
    char path[FS_PATH_MAX];
    uint64_t t = T0 + TICK_MS;

    start_with_node(f, 2, 2);
    result_path(f, 0, 1, "n1", path);
    done_at(f, S1, 0, 1, SET_FRAMES - 1, path, t += TICK_MS);
    expect_no_act(f, ACT_CHECK, ANY, NO_SET, 0, "too few frames");
    expect_rec(f, JREC_REJECT, 0, "too few frames");
    res = expect_send(f, S1, AMB_MSG_RESULT, 0, "too few frames");
    assert_int_equal(res->u.send.ok, 0);
    expect_set(f, 0, SET_FAILED, 2, 0);

    done_at(f, S1, 1, 1, SET_FRAMES, "jobs/job1/out/1/elsewhere.mp4",
            t += TICK_MS);
    expect_no_act(f, ACT_CHECK, ANY, NO_SET, 0, "wrong path");
    expect_rec(f, JREC_REJECT, 1, "wrong path");
    expect_set(f, 1, SET_FAILED, 2, 0);
    expect_stat(amb_core_stats(f->core)->rejected_results, 2,
                "rejected_results");
}

static void
test_failed_check_rejects(void **state)
{
    struct fix *f = *state;
    const struct amb_act *res;
    uint64_t t = T0 + TICK_MS;

    start_with_node(f, 1, 1);
    done(f, S1, "n1", 0, 1, t += TICK_MS);
    checked(f, S1, "n1", 0, 1, 0, t += TICK_MS);
    expect_rec(f, JREC_REJECT, 0, "check failed");
    expect_no_act(f, ACT_RECORD, JREC_ACCEPT, NO_SET, 0, "check failed");
    res = expect_send(f, S1, AMB_MSG_RESULT, 0, "check failed");
    assert_int_equal(res->u.send.ok, 0);
    assert_contains(res->u.send.text, "1 frame, want 2");
    expect_set(f, 0, SET_FAILED, 2, 0);
    assert_null(amb_core_accepted(f->core, 0));
    tick(f, t += TICK_MS);
    res = expect_send(f, S1, AMB_MSG_ASSIGN, 0, "rejected set again");
    assert_int_equal(res->u.send.epoch, 3);
}

static void
test_done_from_other_session_or_stale_epoch_refused(void **state)
{
    struct fix *f = *state;
    const struct amb_act *res, *rm;
    char stale[FS_PATH_MAX];
    uint64_t t = T0 + TICK_MS;
    uint64_t other;
    const char *other_name;

    fix_start(f, 2);
    share(f, T0, 1, GEN);
    connect_node(f, S1, "n1", 1, T0);
    connect_node(f, S2, "n2", 1, T0);
    tick(f, t);
    expect_set(f, 0, SET_PROCESSING, 1, set_of(f, 0)->holder);
    other = set_of(f, 0)->holder == S1 ? S2 : S1;
    other_name = other == S1 ? "n1" : "n2";

    /* Not the holder's session: refused, nothing checked or changed. */
    done(f, other, other_name, 0, 1, t += TICK_MS);
    expect_no_act(f, ACT_CHECK, ANY, NO_SET, 0, "done from another session");
    res = expect_send(f, other, AMB_MSG_RESULT, 0, "done from another session");
    assert_int_equal(res->u.send.ok, 0);
    expect_set(f, 0, SET_PROCESSING, 1, other == S1 ? S2 : S1);
    assert_false(set_of(f, 0)->checking);

    /* An epoch the set has moved past: refused, and its file removed. */
    fail_set(f, other, 1, 1, "decode error", t += TICK_MS);
    expect_set(f, 1, SET_FAILED, 2, 0);
    result_path(f, 1, 1, other_name, stale);
    done(f, other, other_name, 1, 1, t += TICK_MS);
    expect_no_act(f, ACT_CHECK, ANY, NO_SET, 0, "stale done");
    res = expect_send(f, other, AMB_MSG_RESULT, 1, "stale done");
    assert_int_equal(res->u.send.ok, 0);
    assert_int_equal(res->u.send.epoch, 1);
    rm = expect_act(f, ACT_REMOVE, ANY, NO_SET, other, "stale done");
    assert_false(rm->deferred);
    assert_string_equal(rm->u.path, stale);
    expect_set(f, 1, SET_FAILED, 2, 0);
    expect_stat(amb_core_stats(f->core)->stale_results, 1, "stale_results");
}

static void
test_duplicate_done_keeps_the_file(void **state)
{
    struct fix *f = *state;
    const struct amb_act *res;
    char path[FS_PATH_MAX];
    uint64_t t = T0 + TICK_MS;

    start_with_node(f, 2, 1);
    result_path(f, 0, 1, "n1", path);
    done(f, S1, "n1", 0, 1, t += TICK_MS);
    expect_act(f, ACT_CHECK, ANY, 0, S1, "done");

    /* Again while its check runs: no second check, no removal. */
    done(f, S1, "n1", 0, 1, t += TICK_MS);
    expect_no_act(f, ACT_CHECK, ANY, NO_SET, 0, "done again during check");
    expect_no_act(f, ACT_REMOVE, ANY, NO_SET, 0, "done again during check");
    res = expect_send(f, S1, AMB_MSG_RESULT, 0, "done again during check");
    assert_int_equal(res->u.send.ok, 0);

    checked(f, S1, "n1", 0, 1, 1, t += TICK_MS);
    expect_set(f, 0, SET_COUNTED, 1, 0);

    /* Again once counted, from the same session and from a later one of
     * the same name (a reconnect that sends its report again). */
    done(f, S1, "n1", 0, 1, t += TICK_MS);
    expect_no_act(f, ACT_REMOVE, ANY, NO_SET, 0, "done again once counted");
    res = expect_send(f, S1, AMB_MSG_RESULT, 0, "done again once counted");
    assert_int_equal(res->u.send.ok, 0);
    assert_contains(res->u.send.text, "duplicate");

    gone(f, S1, 0, 0, "detached", t += TICK_MS);
    connect_node(f, S2, "n1", 1, t += TICK_MS);
    done(f, S2, "n1", 0, 1, t += TICK_MS);
    expect_no_act(f, ACT_REMOVE, ANY, NO_SET, 0, "done again, new session");
    expect_send(f, S2, AMB_MSG_RESULT, 0, "done again, new session");

    expect_set(f, 0, SET_COUNTED, 1, 0);
    assert_string_equal(amb_core_accepted(f->core, 0), path);
    expect_stat(amb_core_stats(f->core)->duplicates, 3, "duplicates");
    expect_stat(amb_core_stats(f->core)->stale_results, 0, "stale_results");
    expect_stat(amb_core_stats(f->core)->counted, 1, "counted");
}

/* ---- failures ---- */

static void
test_fail_makes_set_assignable_at_new_epoch(void **state)
{
    struct fix *f = *state;
    const struct jrec *r;
    const struct amb_act *a;
    uint64_t t = T0 + TICK_MS;

    start_with_node(f, 2, 1);
    fail_set(f, S1, 0, 1, "decode error", t += TICK_MS);
    r = expect_rec(f, JREC_FAIL, 0, "fail");
    assert_int_equal(r->epoch, 1);
    assert_string_equal(r->node, "n1");
    assert_string_equal(r->text, "decode error");
    expect_set(f, 0, SET_FAILED, 2, 0);
    assert_int_equal(set_of(f, 0)->failures, 1);
    assert_string_equal(set_info_error(set_of(f, 0)), "decode error");
    expect_stat(amb_core_stats(f->core)->failures, 1, "failures");
    assert_int_equal(amb_core_failed(f->core), 0);

    /* n1 gets the set it has not failed; a new node gets the failed one,
     * at a new epoch. */
    tick(f, t += TICK_MS);
    expect_send(f, S1, AMB_MSG_ASSIGN, 1, "after the failure");
    connect_node(f, S2, "n2", 1, t += TICK_MS);
    tick(f, t += TICK_MS);
    a = expect_send(f, S2, AMB_MSG_ASSIGN, 0, "a fresh node");
    assert_int_equal(a->u.send.epoch, 3);
    expect_set(f, 0, SET_PROCESSING, 3, S2);

    /* A fail of the old epoch changes nothing. */
    fail_set(f, S1, 0, 1, "late", t += TICK_MS);
    expect_no_act(f, ACT_RECORD, ANY, NO_SET, 0, "stale fail");
    expect_set(f, 0, SET_PROCESSING, 3, S2);
}

/* A node's own trouble costs a set nothing: a decline (no free slot,
 * fenced, its share gone) sends the set back with no failure counted and
 * keeps the node from work for a lease period; a share that failed under
 * the render (share_io) is a loss, counted in reclaims (their own, larger
 * cap), not the set's failures, and keeps the node from work while the
 * share may still be failing it. */
/* n1 (S1) reports set 0 at epoch failed for its environment. */
static void
fail_flagged(struct fix *f, uint64_t epoch, int decline, int share_io,
             const char *why, uint64_t now)
{
    struct amb_event ev;
    ev_init(&ev, EV_FAIL, S1, NULL);
    ev.u.set.set = 0;
    ev.u.set.epoch = epoch;
    ev.u.set.decline = decline;
    ev.u.set.share_io = share_io;
    snprintf(ev.u.set.text, sizeof(ev.u.set.text), "%s", why);
    step(f, &ev, now);
}

static void
test_decline_and_share_io_cost_no_failure(void **state)
{
    struct fix *f = *state;
    uint64_t t = T0 + TICK_MS;

    start_with_node(f, 2, 1);
    fail_flagged(f, 1, 1, 0, "no free render slot", t += TICK_MS);
    expect_rec(f, JREC_UNASSIGN, 0, "decline");
    assert_int_equal(set_of(f, 0)->failures, 0);
    assert_int_equal(set_of(f, 0)->reclaims, 0);
    expect_stat(amb_core_stats(f->core)->failures, 0, "failures");
    tick(f, t += TICK_MS);
    expect_no_act(f, ACT_SEND, S1, NO_SET, 0, "declined: no work for now");
    pulse(f, t += f->cfg.lease_renew_ms);
    expect_send(f, S1, AMB_MSG_ASSIGN, NO_SET, "after a lease period");

    fail_flagged(f, set_of(f, 0)->epoch, 0, 1, "Read error: EIO", t += TICK_MS);
    expect_rec(f, JREC_RECLAIM, 0, "share_io");
    assert_int_equal(set_of(f, 0)->failures, 0);
    assert_int_equal(set_of(f, 0)->reclaims, 1);
    assert_int_equal(set_of(f, 0)->nfailed_on, 0);
    expect_stat(amb_core_stats(f->core)->failures, 1, "losses count");
    tick(f, t += TICK_MS);
    expect_no_act(f, ACT_SEND, S1, NO_SET, 0, "share failing: no work");
    pulse(f, t += f->cfg.share_suspect_ms);
    expect_send(f, S1, AMB_MSG_ASSIGN, NO_SET, "after share_suspect_ms");
}

/*
 * A set that failed on n1 is kept from n1 only while another node that has
 * not failed it can work. n2 here stays connected with a lease we never
 * see advance (nodewatch.c's case of a node that "writes where we cannot
 * see"): the lease rule keeps it from work for as long as it stays. With
 * no other node able to take it, the set goes back to n1 (whose failures
 * the stop rule caps). Before the fix (core_someone_else_can counted every
 * connected node) set 0 was never dispatched again and the job neither
 * finished nor stopped; the old ambassador.c had the same rule.
 */
static void
test_failed_set_not_stranded_by_node_that_cannot_work(void **state)
{
    struct fix *f = *state;
    const struct lease_held held = {.set = 0, .epoch = 1};
    uint64_t t = T0 + TICK_MS, counter = 0, failed_at, limit;

    start_with_node(f, 1, 1);
    expect_set(f, 0, SET_PROCESSING, 1, S1);
    connect_node(f, S2, "n2", 1, t += TICK_MS); /* its lease: never seen */
    limit = f->cfg.fence_ms + f->cfg.lease_renew_ms + f->cfg.share_poll_ms;
    for (uint64_t end = t + limit + SHARE_EVERY_MS; t < end;) {
        t += TICK_MS;
        if (t % SHARE_EVERY_MS == 0)
            lease(f, "n1", ++counter, &held, 1, t);
        pulse(f, t);
    }
    expect_breaker(f, S2, "open", "n2's lease never advanced");

    fail_set(f, S1, 0, 1, "transient decode error", failed_at = t);
    expect_set(f, 0, SET_FAILED, 2, 0);
    /* n1 is idle and healthy, n2 cannot work: ten minutes is "never". */
    for (uint64_t end = t + STRANDED_WAIT_MS; t < end;) {
        t += TICK_MS;
        if (t % SHARE_EVERY_MS == 0)
            lease(f, "n1", ++counter, NULL, 0, t);
        pulse(f, t);
        if (act_find(f, 0, ACT_SEND, AMB_MSG_ASSIGN, 0, 0) >= 0)
            return;
    }
    fail_msg("set 0 failed once on n1 and was never handed out "
             "again in %llu ms: n1 idle and able (breaker %s), n2 connected "
             "but unable (breaker %s, lease still); set 0 is %c at epoch "
             "%llu, job failed %d",
             (unsigned long long)(t - failed_at), breaker_of(f, S1),
             breaker_of(f, S2), (char)set_of(f, 0)->status,
             (unsigned long long)set_of(f, 0)->epoch, amb_core_failed(f->core));
}

static void
test_job_stops_after_max_failures(void **state)
{
    struct fix *f = *state;
    const char *report;
    uint64_t t = T0 + TICK_MS;

    f->cfg.max_failures_per_set = 2;
    start_with_node(f, 2, 1);
    fail_set(f, S1, 0, 1, "decode error", t += TICK_MS);
    assert_int_equal(amb_core_failed(f->core), 0);
    tick(f, t += TICK_MS);
    expect_send(f, S1, AMB_MSG_ASSIGN, 1, "n1 gets set 1");
    count_set(f, S1, "n1", 1, 1, t += TICK_MS);
    tick(f, t += TICK_MS);
    /* Only n1 is connected: it gets back the set it failed. */
    expect_send(f, S1, AMB_MSG_ASSIGN, 0, "n1 gets set 0 again");
    expect_set(f, 0, SET_PROCESSING, 3, S1);
    fail_set(f, S1, 0, 3, "decoder crashed", t += TICK_MS);
    expect_rec(f, JREC_FAIL, 0, "second failure");
    expect_log(f, "stopping", "second failure");

    if (amb_core_failed(f->core) != -1)
        fail_msg("the job runs on after %u failures of set 0 (max %u)",
                 set_of(f, 0)->failures, f->cfg.max_failures_per_set);
    assert_int_equal(amb_core_stop_set(f->core), 0);
    report = amb_core_report(f->core);
    assert_contains(report, "set 0");
    assert_contains(report, "frame-0000.jpg");
    assert_contains(report, "frame-0001.jpg");
    assert_contains(report, "n1");
    assert_contains(report, "decoder crashed");

    /* Nothing more is handed out, nor concatenated. */
    tick(f, t += TICK_MS);
    expect_no_act(f, ACT_SEND, ANY, NO_SET, 0, "stopped job");
    expect_no_act(f, ACT_CONCAT, ANY, NO_SET, 0, "stopped job");
}

static void
test_job_stops_after_max_nodes(void **state)
{
    struct fix *f = *state;
    static const char *const names[] = {"n1", "n2", "n3"};
    uint64_t t = T0;

    fix_start(f, 1);
    share(f, t, 1, GEN);
    for (uint64_t k = 0; k < 3; k++) {
        uint64_t epoch;
        connect_node(f, S1 + k, names[k], 1, t += TICK_MS);
        tick(f, t += TICK_MS);
        epoch =
            expect_send(f, S1 + k, AMB_MSG_ASSIGN, 0, names[k])->u.send.epoch;
        fail_set(f, S1 + k, 0, epoch, "bad frame", t += TICK_MS);
    }
    assert_int_equal(set_of(f, 0)->nfailed_on, 3);
    assert_int_equal(amb_core_failed(f->core), -1);
    assert_contains(amb_core_report(f->core), "on 3 node(s) (n1, n2, n3)");
}

/* ---- lost nodes ---- */

static void
expect_reclaim(const struct fix *f, uint32_t set, enum amb_reclaim_why why,
               const char *what)
{
    const struct amb_act *rec =
        expect_act(f, ACT_RECORD, JREC_RECLAIM, set, 0, what);
    if (rec->u.rec.why != why)
        fail_msg("%s: set %u reclaimed for reason %d, want %d:%s", what, set,
                 rec->u.rec.why, why, describe(f));
}

static void
test_dead_node_sets_reclaimed_at_once(void **state)
{
    struct fix *f = *state;
    const struct amb_act *forget;
    uint64_t t = T0 + TICK_MS;

    start_with_node(f, 4, 3);
    /* Set 2's result is being checked when the node dies. */
    done(f, S1, "n1", 2, 1, t += TICK_MS);
    gone(f, S1, 1, 0, "connection reset", t += TICK_MS);
    forget = expect_act(f, ACT_FORGET, ANY, NO_SET, S1, "died");
    for (uint32_t set = 0; set < 2; set++) {
        const struct amb_act *rec =
            expect_act(f, ACT_RECORD, JREC_RECLAIM, set, 0, "died");
        assert_int_equal(rec->u.rec.r.epoch, 1);
        assert_string_equal(rec->u.rec.r.node, "n1");
        if (rec->u.rec.why != AMB_RECLAIM_DIED)
            fail_msg("set %u reclaimed for reason %d, want %d (died)", set,
                     rec->u.rec.why, AMB_RECLAIM_DIED);
        expect_before(f, rec, forget, "reclaims, then forget");
        expect_set(f, set, SET_FAILED, 2, 0);
        assert_int_equal(set_of(f, set)->reclaims, 1);
    }
    expect_no_act(f, ACT_RECORD, JREC_RECLAIM, 2, 0, "result under check");
    expect_no_act(f, ACT_SEND, ANY, NO_SET, 0, "died");
    expect_stat(amb_core_stats(f->core)->reclaimed, 2, "reclaimed");

    /* The check outlives its node. */
    checked(f, S1, "n1", 2, 1, 1, t += TICK_MS);
    expect_rec(f, JREC_ACCEPT, 2, "check after death");
    expect_no_act(f, ACT_SEND, ANY, NO_SET, 0, "no one to tell");
    expect_set(f, 2, SET_COUNTED, 1, 0);

    connect_node(f, S2, "n2", 2, t += TICK_MS);
    tick(f, t += TICK_MS);
    expect_send(f, S2, AMB_MSG_ASSIGN, 0, "reclaimed set, new node");
    expect_send(f, S2, AMB_MSG_ASSIGN, 1, "reclaimed set, new node");
    expect_set(f, 0, SET_PROCESSING, 3, S2);
}

/* A session that ended without its process dying: its set waits while the
 * lease advances, and comes back reclaim_ms after the last advance. */
static void
test_detached_node_keeps_sets_until_lease_still(void **state)
{
    struct fix *f = *state;
    const struct lease_held held = {.set = 0, .epoch = 1};
    const struct amb_act *a;
    uint64_t t = T0 + TICK_MS, still;

    start_with_node(f, 1, 1);
    expect_set(f, 0, SET_PROCESSING, 1, S1);
    lease(f, "n1", 1, &held, 1, t = T0 + 500);
    gone(f, S1, 0, 0, "detached", t = T0 + 1000);
    expect_act(f, ACT_FORGET, ANY, NO_SET, S1, "detached");
    expect_no_act(f, ACT_RECORD, ANY, NO_SET, 0, "detached");
    lease(f, "n1", 2, &held, 1, T0 + 2000);
    lease(f, "n1", 3, &held, 1, still = T0 + 3000);
    t = still;

    for (t = still + TICK_MS; t < still + f->cfg.reclaim_ms; t += TICK_MS) {
        pulse(f, t);
        if (act_find(f, 0, ACT_RECORD, JREC_RECLAIM, NO_SET, 0) >= 0)
            fail_msg("reclaimed %llu ms after the lease last advanced, want "
                     "%llu:%s",
                     (unsigned long long)(t - still),
                     (unsigned long long)f->cfg.reclaim_ms, describe(f));
    }
    expect_set(f, 0, SET_PROCESSING, 1, S1);
    pulse(f, t);
    expect_reclaim(f, 0, AMB_RECLAIM_SILENT,
                   "reclaim_ms after the last advance");
    expect_set(f, 0, SET_FAILED, 2, 0);

    /* It comes back with the set: no longer its, so cancelled; then it
     * gets the set anew. */
    accepted(f, S2, t += TICK_MS);
    hello(f, S2, "n1", 1, &held, 1, t);
    a = expect_send(f, S2, AMB_MSG_CANCEL, 0, "back too late");
    assert_int_equal(a->u.send.epoch, 1);
    expect_stat(amb_core_stats(f->core)->cancelled, 1, "cancelled");
    tick(f, t += TICK_MS);
    a = expect_send(f, S2, AMB_MSG_ASSIGN, 0, "back too late");
    assert_int_equal(a->u.send.epoch, 3);
}

static void
test_detached_node_reattaches_its_sets(void **state)
{
    struct fix *f = *state;
    const struct lease_held held = {.set = 0, .epoch = 1};
    uint64_t t = T0 + TICK_MS, counter = 1;

    start_with_node(f, 2, 1);
    expect_set(f, 0, SET_PROCESSING, 1, S1);
    gone(f, S1, 0, 0, "heartbeat timeout", t += TICK_MS);
    for (int i = 0; i < 20; i++)
        pulse(f, t += TICK_MS);

    accepted(f, S2, t += TICK_MS);
    hello(f, S2, "n1", 1, &held, 1, t);
    expect_no_act(f, ACT_SEND, ANY, NO_SET, 0, "reattach");
    expect_no_act(f, ACT_RECORD, ANY, NO_SET, 0, "reattach");
    expect_log(f, "reattached", "reattach");
    expect_set(f, 0, SET_PROCESSING, 1, S2);
    expect_stat(amb_core_stats(f->core)->reattached, 1, "reattached");

    /* Its one slot is the reattached set's; nothing is taken back, well
     * past reclaim_ms, while it stays connected. */
    for (uint64_t end = t + 2 * f->cfg.reclaim_ms; t < end;) {
        t += TICK_MS;
        if (t % SHARE_EVERY_MS == 0)
            lease(f, "n1", ++counter, &held, 1, t);
        pulse(f, t);
        expect_no_act(f, ACT_RECORD, ANY, NO_SET, 0, "reattached, connected");
        expect_no_act(f, ACT_SEND, ANY, NO_SET, 0, "reattached, connected");
    }
    done(f, S2, "n1", 0, 1, t += TICK_MS);
    expect_act(f, ACT_CHECK, ANY, 0, S2, "reattached set's done");
}

/* A node back without the set it had: the set is taken back at the next
 * orphan check, and may go to it again at a new epoch. */
static void
test_node_back_without_its_set(void **state)
{
    struct fix *f = *state;
    const struct amb_act *a;
    uint64_t t = T0 + TICK_MS;

    start_with_node(f, 1, 1);
    gone(f, S1, 0, 0, "detached", t += TICK_MS);
    connect_node(f, S2, "n1", 1, t += TICK_MS);
    expect_no_act(f, ACT_RECORD, ANY, NO_SET, 0, "back, before the tick");
    tick(f, t += TICK_MS);
    expect_reclaim(f, 0, AMB_RECLAIM_BACK, "back without it");
    a = expect_send(f, S2, AMB_MSG_ASSIGN, 0, "back without it");
    assert_int_equal(a->u.send.epoch, 3);
}

/* A lease renewed since the node was lost that no longer lists the set:
 * the node gave it up, so it comes back well before reclaim_ms. */
static void
test_lease_without_set_reclaims(void **state)
{
    struct fix *f = *state;
    const struct lease_held held = {.set = 0, .epoch = 1};
    uint64_t t = T0 + TICK_MS;

    start_with_node(f, 1, 1);
    lease(f, "n1", 1, &held, 1, t += TICK_MS);
    gone(f, S1, 0, 0, "detached", t += TICK_MS);
    lease(f, "n1", 2, NULL, 0, t += TICK_MS);
    pulse(f, t += TICK_MS);
    expect_no_act(f, ACT_RECORD, ANY, NO_SET, 0, "one renewal without it");
    lease(f, "n1", 2, NULL, 0, t += TICK_MS); /* a stale read: no advance */
    pulse(f, t += TICK_MS);
    expect_no_act(f, ACT_RECORD, ANY, NO_SET, 0, "no second renewal yet");
    lease(f, "n1", 3, NULL, 0, t += TICK_MS);
    pulse(f, t += TICK_MS);
    expect_reclaim(f, 0, AMB_RECLAIM_LEASE, "two renewals without it");
    assert_true(t - T0 < f->cfg.reclaim_ms);
    expect_set(f, 0, SET_FAILED, 2, 0);
}

static void
test_still_lease_stops_new_work(void **state)
{
    struct fix *f = *state;
    const struct lease_held held = {.set = 0, .epoch = 1};
    uint64_t t, last, stale_after, counter = 0;

    /* A short cool-down, so the probe after the lease moves is soon. */
    f->cfg.breaker.cooldown_ms = SHORT_COOLDOWN_MS;
    f->cfg.breaker.cooldown_max_ms = SHORT_COOLDOWN_MS;
    start_with_node(f, 2, 1);
    expect_send(f, S1, AMB_MSG_ASSIGN, 0, "start");
    for (t = T0 + SHARE_EVERY_MS; t <= T0 + 3 * SHARE_EVERY_MS;
         t += SHARE_EVERY_MS)
        lease(f, "n1", ++counter, &held, 1, t);
    last = T0 + 3 * SHARE_EVERY_MS;
    stale_after =
        f->cfg.fence_ms + f->cfg.lease_renew_ms + f->cfg.share_poll_ms;

    for (t = last + TICK_MS; t < last + stale_after; t += TICK_MS) {
        pulse(f, t);
        if (log_find(f, "breaker") >= 0)
            fail_msg("lease still for %llu ms (limit %llu): breaker "
                     "changed:%s",
                     (unsigned long long)(t - last),
                     (unsigned long long)stale_after, describe(f));
    }
    pulse(f, t);
    expect_log(f, "node n1: breaker open: its lease stopped advancing",
               "lease still past the limit");
    expect_log(f, "no new work", "lease still past the limit");

    /* Its set comes back counted: a slot is free, set 1 is free, and yet
     * no work goes to n1 while its lease stands still. */
    count_set(f, S1, "n1", 0, 1, t += TICK_MS);
    for (uint64_t end = t + 5 * SHARE_EVERY_MS; t < end;) {
        pulse(f, t += TICK_MS);
        expect_no_act(f, ACT_SEND, AMB_MSG_ASSIGN, NO_SET, 0,
                      "lease still, slot free");
    }
    expect_set(f, 1, SET_AVAILABLE, 0, 0);

    /* The lease moves: past the cool-down, one probe set goes out. */
    lease(f, "n1", ++counter, NULL, 0, t += TICK_MS);
    pulse(f, t += TICK_MS);
    expect_log(f, "lease advances again", "lease moves");
    expect_send(f, S1, AMB_MSG_ASSIGN, 1, "lease moves");
    expect_log(f, "node n1: breaker half-open", "lease moves");
}

/* A connected node whose lease stands still for reclaim_ms loses the sets
 * it holds by the same rule as a silent node, and is told to drop them: a
 * node that never reports must not stall the job (before, its sets came
 * back only when it disconnected). */
static void
test_still_lease_reclaims_from_connected_node(void **state)
{
    struct fix *f = *state;
    const struct lease_held held = {.set = 0, .epoch = 1};
    uint64_t t, last, counter = 0;

    start_with_node(f, 2, 1);
    expect_send(f, S1, AMB_MSG_ASSIGN, 0, "start");
    for (t = T0 + SHARE_EVERY_MS; t <= T0 + 3 * SHARE_EVERY_MS;
         t += SHARE_EVERY_MS)
        lease(f, "n1", ++counter, &held, 1, t);
    last = T0 + 3 * SHARE_EVERY_MS;
    for (t = last + TICK_MS; t < last + f->cfg.reclaim_ms; t += TICK_MS) {
        pulse(f, t);
        expect_no_act(f, ACT_RECORD, ANY, NO_SET, 0,
                      "lease still, not yet reclaim_ms");
    }
    expect_set(f, 0, SET_PROCESSING, 1, S1);
    pulse(f, t);
    expect_reclaim(f, 0, AMB_RECLAIM_SILENT, "lease still for reclaim_ms");
    expect_send(f, S1, AMB_MSG_CANCEL, 0, "lease still for reclaim_ms");
    expect_log(f, "connected, but its lease last advanced",
               "lease still for reclaim_ms");
    expect_set(f, 0, SET_FAILED, 2, 0);
    /* Its late done is stale: refused, never counted. */
    done(f, S1, "n1", 0, 1, t += TICK_MS);
    expect_send(f, S1, AMB_MSG_RESULT, 0, "late done");
    expect_set(f, 0, SET_FAILED, 2, 0);
}

/* ---- the breakers ---- */

static void
test_failed_results_open_breaker(void **state)
{
    struct fix *f = *state;
    uint64_t t = T0 + TICK_MS;

    start_with_node(f, 4, 3);
    expect_breaker(f, S1, "closed", "start");
    for (uint32_t set = 0; set < 2; set++) {
        done(f, S1, "n1", set, 1, t += TICK_MS);
        checked(f, S1, "n1", set, 1, 0, t += TICK_MS);
        expect_no_log(f, "breaker", "a rejected result");
    }
    fail_set(f, S1, 2, 1, "out of memory", t += TICK_MS);
    expect_log(f, "node n1: breaker open: the node failed a set",
               "three failures in a row");
    expect_breaker(f, S1, "open", "three failures in a row");
    /* Its slots are free and sets wait, but not for n1 while open. */
    tick(f, t += TICK_MS);
    if (strcmp(breaker_of(f, S1), "open") == 0)
        expect_no_act(f, ACT_SEND, AMB_MSG_ASSIGN, NO_SET, 0, "breaker open");
    else if (act_count(f, ACT_SEND, AMB_MSG_ASSIGN, S1) > 1)
        fail_msg("breaker %s: more than one set went out:%s", breaker_of(f, S1),
                 describe(f));
}

/* n1 lost its heartbeats (its breaker tripped) and comes back as S2:
 * the open breaker comes with the name. Returns the time of the probe's
 * assignment, which is the only one while the breaker is not closed. */
static uint64_t
back_with_open_breaker(struct fix *f, uint32_t *probe, uint64_t *epoch)
{
    uint64_t t = T0 + TICK_MS, counter = 0;
    long i;

    /* A long cool-down, so the carried breaker is seen open. */
    f->cfg.breaker.cooldown_ms = LONG_COOLDOWN_MS;
    f->cfg.breaker.cooldown_max_ms = LONG_COOLDOWN_MS;
    start_with_node(f, 4, 2);
    gone(f, S1, 0, 1, "heartbeat timeout", t += TICK_MS);
    expect_log(f, "node n1: breaker open: heartbeat timeout", "tripped");
    connect_node(f, S2, "n1", 2, t += TICK_MS);
    expect_log(f, "carried over", "back with an open breaker");
    expect_breaker(f, S2, "open", "back with an open breaker");

    for (;;) {
        t += TICK_MS;
        if (t % SHARE_EVERY_MS == 0)
            lease(f, "n1", ++counter, NULL, 0, t);
        pulse(f, t);
        i = act_find(f, 0, ACT_SEND, AMB_MSG_ASSIGN, NO_SET, S2);
        if (i >= 0)
            break;
        if (t > T0 + 2 * f->cfg.breaker.cooldown_max_ms)
            fail_msg("no probe %llu ms after the reconnect (cool-down at "
                     "most %llu)",
                     (unsigned long long)(t - T0),
                     (unsigned long long)f->cfg.breaker.cooldown_max_ms);
    }
    if (act_count(f, ACT_SEND, AMB_MSG_ASSIGN, S2) != 1)
        fail_msg("a half-open breaker let more than one set through:%s",
                 describe(f));
    expect_breaker(f, S2, "half-open", "the probe");
    expect_log(f, "node n1: breaker half-open", "the probe");
    *probe = f->a[i].u.send.set;
    *epoch = f->a[i].u.send.epoch;
    return t;
}

static void
test_breaker_carried_over_admits_one_probe(void **state)
{
    struct fix *f = *state;
    uint32_t probe;
    uint64_t epoch, t;

    t = back_with_open_breaker(f, &probe, &epoch);
    pulse(f, t += TICK_MS);
    expect_no_act(f, ACT_SEND, AMB_MSG_ASSIGN, NO_SET, 0, "probe out");

    /* The probe is counted: closed, and both slots fill. */
    count_set(f, S2, "n1", probe, epoch, t += TICK_MS);
    expect_log(f, "node n1: breaker closed", "probe counted");
    expect_breaker(f, S2, "closed", "probe counted");
    pulse(f, t += TICK_MS);
    if (act_count(f, ACT_SEND, AMB_MSG_ASSIGN, S2) != 2)
        fail_msg("closed breaker, two free slots: want two assigns, got:%s",
                 describe(f));
}

/* A probe that could not be delivered is not spent: the node may be
 * offered another set. */
static void
test_undelivered_probe_released(void **state)
{
    struct fix *f = *state;
    struct amb_event ev;
    uint32_t probe;
    uint64_t epoch, t;

    t = back_with_open_breaker(f, &probe, &epoch);
    ev_init(&ev, EV_UNDELIVERED, S2, NULL);
    ev.u.set.set = probe;
    ev.u.set.epoch = epoch;
    step(f, &ev, t += TICK_MS);
    expect_rec(f, JREC_UNASSIGN, probe, "undelivered");
    expect_set(f, probe, SET_AVAILABLE, epoch + 1, 0);
    assert_int_equal(set_of(f, probe)->failures, 0);
    expect_stat(amb_core_stats(f->core)->declined, 1, "declined");
    pulse(f, t += TICK_MS);
    expect_send(f, S2, AMB_MSG_ASSIGN, NO_SET, "probe released");
}

/* ---- the end of the job ---- */

static void
test_newer_generation_exits(void **state)
{
    struct fix *f = *state;
    const struct amb_act *a;

    fix_start(f, 1);
    share(f, T0, 1, GEN);
    expect_no_act(f, ACT_EXIT_REPLACED, ANY, NO_SET, 0, "own generation");
    share(f, T0 + TICK_MS, 1, GEN + 1);
    a = expect_act(f, ACT_EXIT_REPLACED, ANY, NO_SET, 0, "newer generation");
    assert_int_equal(a->u.gen, GEN + 1);
    assert_false(a->deferred);
    expect_no_act(f, ACT_RECORD, ANY, NO_SET, 0, "newer generation");
}

/* The core's compaction snapshot, collected (the core hands over one
 * record at a time); valid until the next call. */
#define SNAP_MAX (NSETS_MAX + 3)
static struct jrec snap_recs[SNAP_MAX];
static size_t snap_n;

static int
snap_add(const struct jrec *r, void *arg)
{
    (void)arg;
    assert_true(snap_n < SNAP_MAX);
    snap_recs[snap_n++] = *r;
    return 0;
}

static const struct jrec *
snapshot(struct amb_core *c, size_t *n)
{
    ssize_t got;
    snap_n = 0;
    got = amb_core_snapshot(c, snap_add, NULL);
    assert_true(got >= 0);
    assert_int_equal((size_t)got, snap_n);
    *n = snap_n;
    return snap_recs;
}

static void
test_all_counted_concat_then_done(void **state)
{
    struct fix *f = *state;
    const struct amb_act *rec, *act;
    struct amb_event ev;
    uint64_t t = T0 + TICK_MS;
    size_t n;
    const struct jrec *snap;

    start_with_node(f, 2, 2);
    count_set(f, S1, "n1", 0, 1, t += TICK_MS);
    tick(f, t += TICK_MS);
    expect_no_act(f, ACT_CONCAT, ANY, NO_SET, 0, "one set of two counted");
    count_set(f, S1, "n1", 1, 1, t += TICK_MS);
    expect_no_act(f, ACT_CONCAT, ANY, NO_SET, 0, "before the tick");

    tick(f, t += TICK_MS);
    rec = expect_act(f, ACT_RECORD, JREC_CONCAT, NO_SET, 0, "all counted");
    assert_int_equal(rec->u.rec.r.done, 0);
    act = expect_act(f, ACT_CONCAT, ANY, NO_SET, 0, "all counted");
    expect_before(f, rec, act, "concat: record, then start");
    tick(f, t += TICK_MS);
    expect_no_act(f, ACT_CONCAT, ANY, NO_SET, 0, "concat already started");

    snap = snapshot(f->core, &n);
    assert_non_null(snap);
    assert_int_equal(snap[n - 1].type, JREC_CONCAT);

    ev_init(&ev, EV_CONCATED, 0, NULL);
    ev.u.concated.ok = 1;
    ev.u.concated.frames = 2 * SET_FRAMES;
    step(f, &ev, t += TICK_MS);
    rec = expect_act(f, ACT_RECORD, JREC_CONCAT, NO_SET, 0, "concat written");
    assert_int_equal(rec->u.rec.r.done, 1);
    assert_int_equal(rec->u.rec.r.frames, 2 * SET_FRAMES);
    act = expect_act(f, ACT_DONE, ANY, NO_SET, 0, "concat written");
    expect_before(f, rec, act, "done: record, then the end");
    assert_int_equal(amb_core_failed(f->core), 0);
}

static void
test_failed_concat_stops_job(void **state)
{
    struct fix *f = *state;
    struct amb_event ev;
    uint64_t t = T0 + TICK_MS;

    start_with_node(f, 1, 1);
    count_set(f, S1, "n1", 0, 1, t += TICK_MS);
    tick(f, t += TICK_MS);
    expect_act(f, ACT_CONCAT, ANY, NO_SET, 0, "all counted");
    ev_init(&ev, EV_CONCATED, 0, NULL);
    snprintf(ev.u.concated.text, sizeof(ev.u.concated.text), "disk full");
    step(f, &ev, t += TICK_MS);
    expect_no_act(f, ACT_DONE, ANY, NO_SET, 0, "concat failed");
    assert_int_equal(amb_core_failed(f->core), -1);
    assert_contains(amb_core_report(f->core), "disk full");
}

/* A concat that fails for want of resources (descriptors, memory, space)
 * is tried again later, never a job failure: every set is counted. */
static void
test_concat_short_of_resources_retried(void **state)
{
    struct fix *f = *state;
    struct amb_event ev;
    uint64_t t = T0 + TICK_MS, failed_at;

    start_with_node(f, 1, 1);
    count_set(f, S1, "n1", 0, 1, t += TICK_MS);
    tick(f, t += TICK_MS);
    expect_act(f, ACT_CONCAT, ANY, NO_SET, 0, "all counted");
    ev_init(&ev, EV_CONCATED, 0, NULL);
    ev.u.concated.transient = 1;
    snprintf(ev.u.concated.text, sizeof(ev.u.concated.text),
             "out.mp4.tmp: Too many open files");
    step(f, &ev, failed_at = t += TICK_MS);
    assert_int_equal(amb_core_failed(f->core), 0);
    expect_log(f, "concat failed for want of resources", "short of fds");
    for (t += TICK_MS; t < failed_at + AMB_CORE_CONCAT_RETRY_MS; t += TICK_MS) {
        tick(f, t);
        expect_no_act(f, ACT_CONCAT, ANY, NO_SET, 0, "waiting to retry");
    }
    tick(f, t);
    expect_act(f, ACT_CONCAT, ANY, NO_SET, 0, "retry");
    expect_act(f, ACT_RECORD, JREC_CONCAT, NO_SET, 0, "retry");
    ev.u.concated.ok = 1;
    ev.u.concated.transient = 0;
    ev.u.concated.frames = SET_FRAMES;
    step(f, &ev, t += TICK_MS);
    expect_act(f, ACT_DONE, ANY, NO_SET, 0, "retry written");
    assert_int_equal(amb_core_failed(f->core), 0);
}

/* The share probe answering, with how full the share is. */
static void
share_space(struct fix *f, uint64_t now, int full, uint64_t free_bytes)
{
    struct amb_event ev;
    ev_init(&ev, EV_SHARE, 0, NULL);
    ev.u.share.ok = 1;
    ev.u.share.gen = GEN;
    ev.u.share.full = full;
    ev.u.share.free_bytes = free_bytes;
    step(f, &ev, now);
    f->last_share = now;
}

/* A full share pauses dispatch, says so, and resumes when space returns;
 * nothing counts against a set or a node meanwhile. */
static void
test_full_share_pauses_dispatch(void **state)
{
    struct fix *f = *state;
    uint64_t t = T0 + TICK_MS;

    start_with_node(f, 2, 1);
    expect_send(f, S1, AMB_MSG_ASSIGN, 0, "start");
    share_space(f, t += TICK_MS, 1, 0);
    expect_log(f, "share is full (0 MiB free", "probe: full");
    assert_string_equal(amb_core_paused(f->core), "share-full");
    count_set(f, S1, "n1", 0, 1, t += TICK_MS);
    for (int i = 0; i < 20; i++) {
        tick(f, t += TICK_MS);
        expect_no_act(f, ACT_SEND, AMB_MSG_ASSIGN, NO_SET, 0,
                      "share full, slot free");
    }
    share_space(f, t += TICK_MS, 0, 1ull << 30);
    expect_log(f, "share has space again", "probe: space");
    assert_null(amb_core_paused(f->core));
    tick(f, t += TICK_MS);
    expect_send(f, S1, AMB_MSG_ASSIGN, 1, "space again");
    assert_int_equal(amb_core_stats(f->core)->failures, 0);
}

/* A node that ran out of space gives the set back with no failure counted
 * (not against the set, not against its breaker), and nothing more goes
 * out until the share has more room than then. */
static void
test_node_out_of_space_returns_set(void **state)
{
    struct fix *f = *state;
    struct amb_event ev;
    uint64_t t = T0 + TICK_MS;

    start_with_node(f, 2, 1);
    expect_send(f, S1, AMB_MSG_ASSIGN, 0, "start");
    share_space(f, t += TICK_MS, 0, 100000);
    ev_init(&ev, EV_FAIL, S1, NULL);
    ev.u.set.set = 0;
    ev.u.set.epoch = 1;
    ev.u.set.nospace = 1;
    snprintf(ev.u.set.text, sizeof(ev.u.set.text),
             "node error: writing 0/1-n1.mp4.part: No space left on device");
    step(f, &ev, t += TICK_MS);
    expect_rec(f, JREC_UNASSIGN, 0, "out of space");
    expect_no_act(f, ACT_RECORD, JREC_FAIL, NO_SET, 0, "out of space");
    expect_log(f, "node n1 has no space on the share", "out of space");
    expect_set(f, 0, SET_AVAILABLE, 2, 0);
    assert_int_equal(set_of(f, 0)->failures, 0);
    assert_int_equal(amb_core_stats(f->core)->failures, 0);
    expect_breaker(f, S1, "closed", "out of space is not the node's fault");
    /* Its own partial file going away is no news. */
    for (int i = 0; i < 10; i++) {
        share_space(f, t += TICK_MS, 0, 100000 + 200000);
        tick(f, t += TICK_MS);
        expect_no_act(f, ACT_SEND, AMB_MSG_ASSIGN, NO_SET, 0,
                      "no more room than then");
    }
    share_space(f, t += TICK_MS, 0, 1ull << 30);
    tick(f, t += TICK_MS);
    expect_send(f, S1, AMB_MSG_ASSIGN, 0, "room again");
}

/* Counted mini-videos found missing or changed at the concat: nothing is
 * written, those sets are lost (journaled) and rendered again, and the
 * concat runs again once they are counted anew. */
static void
test_concat_finds_changed_results(void **state)
{
    struct fix *f = *state;
    struct amb_event ev;
    uint64_t t = T0 + TICK_MS;

    start_with_node(f, 2, 2);
    count_set(f, S1, "n1", 0, 1, t += TICK_MS);
    count_set(f, S1, "n1", 1, 1, t += TICK_MS);
    tick(f, t += TICK_MS);
    expect_act(f, ACT_CONCAT, ANY, NO_SET, 0, "all counted");
    assert_non_null(amb_core_accepted_sha(f->core, 0));
    ev_init(&ev, EV_CONCATED, 0, NULL);
    ev.u.concated.nbad = 1;
    ev.u.concated.bad[0] = 1;
    snprintf(ev.u.concated.text, sizeof(ev.u.concated.text), "set 1");
    step(f, &ev, t += TICK_MS);
    expect_rec(f, JREC_LOST, 1, "set 1 changed");
    expect_no_act(f, ACT_DONE, ANY, NO_SET, 0, "set 1 changed");
    assert_int_equal(amb_core_failed(f->core), 0);
    expect_set(f, 1, SET_FAILED, 2, 0);
    expect_set(f, 0, SET_COUNTED, 1, 0);
    assert_null(amb_core_accepted(f->core, 1));
    assert_int_equal(amb_core_stats(f->core)->lost, 1);
    tick(f, t += TICK_MS);
    expect_send(f, S1, AMB_MSG_ASSIGN, 1, "rendered again");
    expect_no_act(f, ACT_CONCAT, ANY, NO_SET, 0, "set 1 not counted yet");
    count_set(f, S1, "n1", 1, 3, t += TICK_MS);
    tick(f, t += TICK_MS);
    expect_act(f, ACT_CONCAT, ANY, NO_SET, 0, "counted again");
}

/* A node's progress report on set at epoch. */
static void
progress_at(struct fix *f, uint32_t set, uint64_t epoch, uint64_t frames,
            uint64_t now)
{
    struct amb_event ev;
    ev_init(&ev, EV_PROGRESS, S1, NULL);
    ev.u.set.set = set;
    ev.u.set.epoch = epoch;
    ev.u.set.frames = frames;
    step(f, &ev, now);
}

/* A node's progress on a set: kept for the set's current epoch only, and
 * held at the most a set can have (a set's frames are 32-bit). */
static void
test_progress_kept_for_current_epoch(void **state)
{
    struct fix *f = *state;

    start_with_node(f, 2, 1);
    expect_set(f, 0, SET_PROCESSING, 1, S1);
    progress_at(f, 0, 1, 1, T0 + 2 * TICK_MS);
    assert_int_equal(amb_core_progress(f->core, 0), 1);
    progress_at(f, 0, 2, 2, T0 + 3 * TICK_MS); /* not the set's epoch */
    assert_int_equal(amb_core_progress(f->core, 0), 1);
    progress_at(f, 0, 1, UINT64_MAX, T0 + 4 * TICK_MS);
    assert_int_equal(amb_core_progress(f->core, 0), UINT32_MAX);
    assert_int_equal(amb_core_progress(f->core, 1), 0);
}

/* ---- the journal ---- */

/* Through the record's text, as a restart reads it. */
static void
replay_one(struct jrec_state *st, const struct jrec *r)
{
    char err[ERR_MAX] = "";
    struct jrec back;
    char *text = jrec_encode(r);
    assert_non_null(text);
    if (jrec_decode((const uint8_t *)text, strlen(text), &back, err,
                    sizeof(err)) != 0)
        fail_msg("record does not decode: %s: %s", err, text);
    if (jrec_apply(st, &back, err, sizeof(err)) != 0)
        fail_msg("record does not replay: %s: %s", err, text);
    free(text);
}

/* The replayed table says what the core's says, set by set. */
static void
expect_same_table(const struct fix *f, const struct jrec_state *st,
                  const char *what)
{
    assert_int_equal(st->nsets, f->job.nsets);
    for (uint32_t i = 0; i < f->job.nsets; i++) {
        const struct set_info *live = set_of(f, i);
        const struct set_info *re = set_table_get(st->sets, i);
        const char *path = amb_core_accepted(f->core, i);
        if (live->status != re->status || live->epoch != re->epoch ||
            live->attempts != re->attempts || live->failures != re->failures ||
            live->reclaims != re->reclaims ||
            live->nfailed_on != re->nfailed_on ||
            strcmp(live->holder_name, re->holder_name) != 0 ||
            live->alt_epoch != re->alt_epoch ||
            strcmp(live->alt_name, re->alt_name) != 0)
            fail_msg("%s: set %u replays to %c epoch %llu (%u attempts, %u "
                     "failures, %u reclaims, %u nodes, holder \"%s\"); the "
                     "core has %c epoch %llu (%u, %u, %u, %u, \"%s\")",
                     what, i, (char)re->status, (unsigned long long)re->epoch,
                     re->attempts, re->failures, re->reclaims, re->nfailed_on,
                     re->holder_name, (char)live->status,
                     (unsigned long long)live->epoch, live->attempts,
                     live->failures, live->reclaims, live->nfailed_on,
                     live->holder_name);
        if (re->status == SET_PROCESSING && re->holder != JREC_SESSION)
            fail_msg("%s: set %u replays held by session %llu, want none "
                     "live",
                     what, i, (unsigned long long)re->holder);
        if ((path == NULL) != (st->accepted[i] == NULL) ||
            (path != NULL && strcmp(path, st->accepted[i]) != 0))
            fail_msg("%s: set %u counted path \"%s\", replayed \"%s\"", what, i,
                     path ? path : "(none)",
                     st->accepted[i] ? st->accepted[i] : "(none)");
    }
}

/* Some of every kind of work: counted, failed, rejected, reclaimed,
 * undelivered, under check, processing. */
static uint64_t
busy_run(struct fix *f)
{
    struct amb_event ev;
    uint64_t t = T0 + TICK_MS;

    start_with_node(f, 6, 3); /* n1: sets 0, 1, 2 */
    connect_node(f, S2, "n2", 3, t += TICK_MS);
    tick(f, t += TICK_MS); /* n2: sets 3, 4, 5 */
    expect_set(f, 5, SET_PROCESSING, 1, S2);
    count_set(f, S1, "n1", 0, 1, t += TICK_MS);
    fail_set(f, S1, 1, 1, "decode error", t += TICK_MS);
    done(f, S1, "n1", 2, 1, t += TICK_MS);
    checked(f, S1, "n1", 2, 1, 0, t += TICK_MS); /* rejected */
    ev_init(&ev, EV_UNDELIVERED, S2, NULL);
    ev.u.set.set = 5;
    ev.u.set.epoch = 1;
    step(f, &ev, t += TICK_MS);
    expect_rec(f, JREC_UNASSIGN, 5, "undelivered");
    expect_set(f, 5, SET_AVAILABLE, 2, 0);
    done(f, S2, "n2", 4, 1, t += TICK_MS); /* under check */
    gone(f, S2, 1, 0, "killed", t += TICK_MS);
    expect_rec(f, JREC_RECLAIM, 3, "n2 died");
    tick(f, t += TICK_MS); /* n1 takes sets again */
    expect_send(f, S1, AMB_MSG_ASSIGN, NO_SET, "n1 after n2 died");
    return t;
}

/* The job record the loop writes at start, then every record the core
 * emitted, replay to the core's table. */
static void
expect_records_replay(struct fix *f, const char *what)
{
    struct jrec_state st;
    struct jrec job;

    memset(&job, 0, sizeof(job));
    job.type = JREC_JOB;
    snprintf(job.job, sizeof(job.job), JOB_ID);
    job.sets = f->job.nsets;
    job.frames = f->listing.count;
    job.gen = GEN;
    memset(&st, 0, sizeof(st));
    replay_one(&st, &job);
    for (size_t i = 0; i < f->nrec; i++)
        replay_one(&st, &f->rec[i]);
    expect_same_table(f, &st, what);
    jrec_state_fini(&st);
}

static void
test_snapshot_replays_to_same_table(void **state)
{
    struct fix *f = *state;
    struct jrec_state st;
    const struct jrec *snap;
    size_t n;

    busy_run(f);
    snap = snapshot(f->core, &n);
    assert_non_null(snap);
    assert_int_equal(snap[0].type, JREC_JOB);
    assert_string_equal(snap[0].job, JOB_ID);
    assert_int_equal(snap[0].sets, f->job.nsets);
    assert_int_equal(snap[0].frames, f->listing.count);
    memset(&st, 0, sizeof(st));
    for (size_t i = 0; i < n; i++)
        replay_one(&st, &snap[i]);
    assert_int_equal(st.gen, GEN);
    assert_false(st.concat_begun);
    expect_same_table(f, &st, "snapshot");
    jrec_state_fini(&st);
}

/* The records the core emitted, after the job record the loop writes at
 * start, replay to the core's table: every change of the table is
 * journaled. */
static void
test_records_replay_to_same_table(void **state)
{
    struct fix *f = *state;
    busy_run(f);
    expect_records_replay(f, "records");
}

/* A new ambassador on the replayed snapshot: the set that was Processing
 * waits for its node, which reattaches it when it says hello with it. */
static void
test_resume_from_snapshot_reattaches(void **state)
{
    struct fix *f = *state;
    struct jrec_state st;
    struct amb_core *next;
    const struct jrec *snap;
    const struct amb_act *a;
    const struct lease_held held = {.set = 0, .epoch = 1};
    size_t n;
    uint64_t t = T0 + TICK_MS;

    start_with_node(f, 2, 1);
    expect_set(f, 0, SET_PROCESSING, 1, S1);
    snap = snapshot(f->core, &n);
    memset(&st, 0, sizeof(st));
    for (size_t i = 0; i < n; i++)
        replay_one(&st, &snap[i]);

    next = amb_core_new(&f->cfg, &f->job, &st, t += TICK_MS);
    assert_non_null(next);
    jrec_state_fini(&st); /* the table is the core's now */
    amb_core_free(f->core);
    f->core = next;
    f->nrec = 0;
    share(f, t += TICK_MS, 1, GEN);
    accepted(f, S2, t += TICK_MS);
    hello(f, S2, "n1", 2, &held, 1, t);
    expect_no_act(f, ACT_SEND, ANY, NO_SET, 0, "resumed, reattach");
    expect_no_act(f, ACT_RECORD, ANY, NO_SET, 0, "resumed, reattach");
    expect_set(f, 0, SET_PROCESSING, 1, S2);
    expect_stat(amb_core_stats(f->core)->reattached, 1, "reattached");
    /* Its second slot gets set 1; set 0 is not assigned again. */
    tick(f, t += TICK_MS);
    expect_no_act(f, ACT_SEND, AMB_MSG_ASSIGN, 0, 0, "resumed, reattached");
    a = expect_send(f, S2, AMB_MSG_ASSIGN, 1, "set 1 free");
    assert_int_equal(a->u.send.epoch, 1);
    done(f, S2, "n1", 0, 1, t += TICK_MS);
    expect_act(f, ACT_CHECK, ANY, 0, S2, "reattached after resume");
}

/* ---- jobs one after another (a service) ---- */

/* A service's core before its first job: job (number JOB_SEQ) and next
 * (NEXT_SEQ) are ready to be started. */
static void
fix_idle(struct fix *f, uint32_t nsets, uint32_t next_nsets)
{
    job_fill(f, &f->job, &f->listing, f->frame, JOB_ID, nsets, JOB_SEQ);
    job_fill(f, &f->next, &f->next_listing, f->next_frame, NEXT_ID, next_nsets,
             NEXT_SEQ);
    f->core = amb_core_new(&f->cfg, NULL, NULL, T0);
    assert_non_null(f->core);
    f->cur = NULL;
    f->now = T0;
}

static void
start_job(struct fix *f, const struct job *j, uint64_t now)
{
    assert_null(amb_core_job(f->core));
    assert_int_equal(amb_core_start_job(f->core, j, NULL, now), 0);
    assert_ptr_equal(amb_core_job(f->core), j);
    assert_int_equal(amb_core_failed(f->core), 0);
    f->now = now;
    f->cur = j;
}

/* amb_job_over: the core cancels what nodes hold of the job, and idles. */
static void
end_job(struct fix *f, uint64_t now)
{
    assert_true(now >= f->now);
    f->now = now;
    f->a = amb_core_end_job(f->core, now, &f->n);
    check_contract(f);
    assert_null(amb_core_job(f->core));
    assert_null(amb_core_sets(f->core));
}

/* A service's core with n1 (slots) connected, the first job started and
 * dispatched. Returns the time. */
static uint64_t
job_running(struct fix *f, uint32_t nsets, uint32_t next_nsets, int slots)
{
    uint64_t t = T0;
    fix_idle(f, nsets, next_nsets);
    share(f, t, 1, GEN);
    connect_node(f, S1, "n1", slots, t += TICK_MS);
    start_job(f, &f->job, t += TICK_MS);
    tick(f, t += TICK_MS);
    return t;
}

/* The epoch of a job's first attempt at any set. */
static uint64_t
first_epoch(uint64_t seq)
{
    return (seq << JOB_EPOCH_SHIFT) + 1;
}

static void
test_idle_core_gives_nothing(void **state)
{
    struct fix *f = *state;
    const struct lease_held held[2] = {{.set = 3, .epoch = 7},
                                       {.set = 0, .epoch = 9}};
    const struct amb_act *a;
    uint64_t t = T0;

    fix_idle(f, 2, 1);
    assert_null(amb_core_job(f->core));
    assert_null(amb_core_sets(f->core));
    assert_int_equal(amb_core_snapshot(f->core, snap_add, NULL), -1);
    assert_int_equal(amb_core_cancel(f->core, "by request"), -1);
    share(f, t, 1, GEN);

    /* A node back with sets of a job that is over drops them. */
    accepted(f, S1, t += TICK_MS);
    hello(f, S1, "n1", 2, held, 2, t);
    for (uint32_t i = 0; i < 2; i++) {
        a = expect_send(f, S1, AMB_MSG_CANCEL, held[i].set, "idle hello");
        assert_int_equal(a->u.send.epoch, held[i].epoch);
    }
    expect_no_act(f, ACT_RECORD, ANY, NO_SET, 0, "idle hello");
    expect_breaker(f, S1, "closed", "idle hello");

    /* Its report of one is stale; nothing is checked or recorded. */
    done_at(f, S1, 3, 7, SET_FRAMES, "jobs/old/out/3/7-n1.mp4", t += TICK_MS);
    a = expect_send(f, S1, AMB_MSG_RESULT, 3, "idle done");
    assert_int_equal(a->u.send.epoch, 7);
    assert_false(a->u.send.ok);
    assert_contains(a->u.send.text, "stale");
    expect_no_act(f, ACT_CHECK, ANY, NO_SET, 0, "idle done");
    expect_no_act(f, ACT_RECORD, ANY, NO_SET, 0, "idle done");
    expect_stat(amb_core_stats(f->core)->stale_results, 1, "stale_results");
    fail_set(f, S1, 0, 9, "out of memory", t += TICK_MS);
    expect_no_act(f, ACT_SEND, ANY, NO_SET, 0, "idle fail");
    expect_no_act(f, ACT_RECORD, ANY, NO_SET, 0, "idle fail");

    for (int i = 0; i < 5; i++) {
        pulse(f, t += TICK_MS);
        expect_no_act(f, ACT_SEND, ANY, NO_SET, 0, "idle tick");
        expect_no_act(f, ACT_CONCAT, ANY, NO_SET, 0, "idle tick");
    }
    /* The end of no job is nothing. */
    end_job(f, t += TICK_MS);
    assert_int_equal(f->n, 0);
}

static void
test_start_job_on_idle_core_dispatches(void **state)
{
    struct fix *f = *state;
    const struct amb_act *rec, *send;
    uint64_t t = T0;

    fix_idle(f, 3, 1);
    share(f, t, 1, GEN);
    connect_node(f, S1, "n1", 2, t += TICK_MS);
    tick(f, t += TICK_MS);
    expect_no_act(f, ACT_SEND, ANY, NO_SET, 0, "no job yet");

    start_job(f, &f->job, t += TICK_MS);
    for (uint32_t set = 0; set < 3; set++)
        expect_set(f, set, SET_AVAILABLE, JOB_SEQ << JOB_EPOCH_SHIFT, 0);
    tick(f, t += TICK_MS);
    for (uint32_t set = 0; set < 2; set++) {
        rec = expect_act(f, ACT_RECORD, JREC_ASSIGN, set, 0, "started");
        send = expect_send(f, S1, AMB_MSG_ASSIGN, set, "started");
        expect_before(f, rec, send, "assign: record, then message");
        assert_int_equal(rec->u.rec.r.epoch, first_epoch(JOB_SEQ));
        assert_int_equal(send->u.send.epoch, first_epoch(JOB_SEQ));
        expect_set(f, set, SET_PROCESSING, first_epoch(JOB_SEQ), S1);
    }
    expect_no_act(f, ACT_SEND, AMB_MSG_ASSIGN, 2, 0, "two slots");
    count_set(f, S1, "n1", 0, first_epoch(JOB_SEQ), t += TICK_MS);
    expect_send(f, S1, AMB_MSG_RESULT, 0, "counted");
}

/* n1 (two slots) holds sets 0 and 1 of the job; set 0's result is under
 * check. */
static uint64_t
job_with_two_sets_out(struct fix *f)
{
    uint64_t t = job_running(f, 3, 2, 2);
    expect_send(f, S1, AMB_MSG_ASSIGN, 0, "job out");
    expect_send(f, S1, AMB_MSG_ASSIGN, 1, "job out");
    done(f, S1, "n1", 0, first_epoch(JOB_SEQ), t += TICK_MS);
    expect_act(f, ACT_CHECK, ANY, 0, S1, "set 0 under check");
    return t;
}

static void
test_end_of_cancelled_job_cancels_held_sets(void **state)
{
    struct fix *f = *state;
    const struct amb_act *a;
    uint64_t t = job_with_two_sets_out(f);

    assert_int_equal(amb_core_cancel(f->core, "by request"), 0);
    assert_int_equal(amb_core_failed(f->core), -1);
    assert_string_equal(amb_core_report(f->core), "cancelled by request");
    assert_int_equal(amb_core_cancel(f->core, "again"), -1);
    tick(f, t += TICK_MS);
    expect_no_act(f, ACT_SEND, AMB_MSG_ASSIGN, NO_SET, 0, "cancelled");
    expect_no_act(f, ACT_CONCAT, ANY, NO_SET, 0, "cancelled");

    /* Set 1 is in n1's hands: cancelled. Set 0's result is being
     * checked: no longer in its hands. */
    end_job(f, t += TICK_MS);
    a = expect_send(f, S1, AMB_MSG_CANCEL, 1, "end of a cancelled job");
    assert_int_equal(a->u.send.epoch, first_epoch(JOB_SEQ));
    expect_no_act(f, ACT_SEND, AMB_MSG_CANCEL, 0, 0, "set 0 under check");
    assert_int_equal(act_count(f, ACT_SEND, ANY, 0), 1);
    expect_no_act(f, ACT_RECORD, ANY, NO_SET, 0, "end of a job");

    /* The next job's sets go to the same node, both slots free again. */
    start_job(f, &f->next, t += TICK_MS);
    tick(f, t += TICK_MS);
    for (uint32_t set = 0; set < 2; set++) {
        a = expect_send(f, S1, AMB_MSG_ASSIGN, set, "the next job");
        assert_int_equal(a->u.send.epoch, first_epoch(NEXT_SEQ));
        expect_set(f, set, SET_PROCESSING, first_epoch(NEXT_SEQ), S1);
    }
    expect_stat(amb_core_stats(f->core)->assigned, 2, "the next job's");
}

/* A service's job of one set, counted: its concat begins. */
static uint64_t
one_set_job_at_concat(struct fix *f)
{
    uint64_t t = job_running(f, 1, 1, 2);
    count_set(f, S1, "n1", 0, first_epoch(JOB_SEQ), t += TICK_MS);
    tick(f, t += TICK_MS);
    expect_act(f, ACT_CONCAT, ANY, NO_SET, 0, "all counted");
    return t;
}

/* The checker wrote the video: the job is done. */
static void
concat_written(struct fix *f, uint64_t frames, uint64_t now)
{
    struct amb_event ev;
    ev_init(&ev, EV_CONCATED, 0, NULL);
    ev.u.concated.ok = 1;
    ev.u.concated.frames = frames;
    step(f, &ev, now);
    expect_act(f, ACT_DONE, ANY, NO_SET, 0, "the video is written");
    assert_int_equal(amb_core_failed(f->core), 0);
}

/* A done job leaves nothing in nodes' hands: its end cancels nothing. */
static void
test_end_of_done_job_cancels_nothing(void **state)
{
    struct fix *f = *state;
    uint64_t t = one_set_job_at_concat(f);

    concat_written(f, SET_FRAMES, t += TICK_MS);
    end_job(f, t += TICK_MS);
    assert_int_equal(f->n, 0);
}

/* The probe of a half-open breaker was a set of the job that ended: the
 * node probes afresh in the next job instead of waiting forever. */
static void
test_end_of_job_frees_half_open_probe(void **state)
{
    struct fix *f = *state;
    uint32_t probe;
    uint64_t epoch, t, counter = LONG_COOLDOWN_MS;
    long i = -1;

    t = back_with_open_breaker(f, &probe, &epoch);
    job_fill(f, &f->next, &f->next_listing, f->next_frame, NEXT_ID, 2,
             NEXT_SEQ);
    assert_int_equal(amb_core_cancel(f->core, "by request"), 0);
    end_job(f, t += TICK_MS);
    expect_send(f, S2, AMB_MSG_CANCEL, probe, "the probe's job ends");
    start_job(f, &f->next, t += TICK_MS);
    for (int k = 0; k < 2 * SHARE_EVERY_MS / TICK_MS && i < 0; k++) {
        t += TICK_MS;
        if (t % SHARE_EVERY_MS == 0)
            lease(f, "n1", ++counter, NULL, 0, t);
        pulse(f, t);
        i = act_find(f, 0, ACT_SEND, AMB_MSG_ASSIGN, NO_SET, S2);
    }
    if (i < 0)
        fail_msg("a half-open node got no probe of the next job in %d ms "
                 "(breaker %s)",
                 2 * SHARE_EVERY_MS, breaker_of(f, S2));
    assert_int_equal(f->a[i].u.send.epoch, first_epoch(NEXT_SEQ));
    if (act_count(f, ACT_SEND, AMB_MSG_ASSIGN, S2) != 1)
        fail_msg("half-open: want one probe, got:%s", describe(f));
}

/* A late done of the last job's set, at its epoch, is stale in the next
 * job, though that set is in the same node's hands again: not checked,
 * not counted, the set stays as it is. */
static void
test_old_job_done_is_stale_in_next_job(void **state)
{
    struct fix *f = *state;
    char path[FS_PATH_MAX];
    const struct amb_act *a;
    uint64_t t = job_with_two_sets_out(f);

    assert_int_equal(amb_core_cancel(f->core, "by request"), 0);
    end_job(f, t += TICK_MS);
    start_job(f, &f->next, t += TICK_MS);
    tick(f, t += TICK_MS);
    expect_send(f, S1, AMB_MSG_ASSIGN, 1, "the next job");

    result_path_in(&f->job, 1, first_epoch(JOB_SEQ), "n1", path);
    done_at(f, S1, 1, first_epoch(JOB_SEQ), SET_FRAMES, path, t += TICK_MS);
    a = expect_send(f, S1, AMB_MSG_RESULT, 1, "old job's done");
    assert_false(a->u.send.ok);
    assert_int_equal(a->u.send.epoch, first_epoch(JOB_SEQ));
    assert_contains(a->u.send.text, "stale");
    expect_no_act(f, ACT_CHECK, ANY, NO_SET, 0, "old job's done");
    expect_no_act(f, ACT_RECORD, ANY, NO_SET, 0, "old job's done");
    expect_set(f, 1, SET_PROCESSING, first_epoch(NEXT_SEQ), S1);
    expect_stat(amb_core_stats(f->core)->stale_results, 1, "stale_results");
    expect_stat(amb_core_stats(f->core)->counted, 0, "counted");

    /* Its own done, at the next job's epoch, counts. */
    count_set(f, S1, "n1", 1, first_epoch(NEXT_SEQ), t += TICK_MS);
    expect_set(f, 1, SET_COUNTED, first_epoch(NEXT_SEQ), 0);
}

/* The check of the last job's set comes back during the next job (it was
 * running when the job was cancelled): never counted, for a set the next
 * job has or for one it does not have. */
static void
test_old_job_check_is_stale_in_next_job(void **state)
{
    struct fix *f = *state;
    const struct amb_act *a;
    uint64_t t = job_running(f, 3, 1, 3);

    for (uint32_t set = 0; set < 3; set += 2) {
        done(f, S1, "n1", set, first_epoch(JOB_SEQ), t += TICK_MS);
        expect_act(f, ACT_CHECK, ANY, set, S1, "under check");
    }
    assert_int_equal(amb_core_cancel(f->core, "by request"), 0);
    end_job(f, t += TICK_MS);
    start_job(f, &f->next, t += TICK_MS);
    tick(f, t += TICK_MS);
    expect_send(f, S1, AMB_MSG_ASSIGN, 0, "the next job");

    /* Set 2: the next job has one set only. */
    checked_in(f, &f->job, S1, "n1", 2, first_epoch(JOB_SEQ), 1, t += TICK_MS);
    a = expect_send(f, S1, AMB_MSG_RESULT, 2, "check of a set beyond");
    assert_false(a->u.send.ok);
    expect_no_act(f, ACT_RECORD, ANY, NO_SET, 0, "check of a set beyond");
    /* Set 0: the next job's set 0 is in n1's hands at its own epoch. */
    checked_in(f, &f->job, S1, "n1", 0, first_epoch(JOB_SEQ), 1, t += TICK_MS);
    expect_no_act(f, ACT_RECORD, JREC_ACCEPT, NO_SET, 0, "old check");
    expect_no_act(f, ACT_SEND, AMB_MSG_RESULT, 0, 0, "old check passed");
    expect_set(f, 0, SET_PROCESSING, first_epoch(NEXT_SEQ), S1);
    expect_stat(amb_core_stats(f->core)->counted, 0, "counted");
}

static void
test_cancel_stops_job_before_concat(void **state)
{
    struct fix *f = *state;
    uint64_t t = job_running(f, 2, 1, 1);

    count_set(f, S1, "n1", 0, first_epoch(JOB_SEQ), t += TICK_MS);
    tick(f, t += TICK_MS);
    expect_send(f, S1, AMB_MSG_ASSIGN, 1, "set 1");
    assert_int_equal(amb_core_concat_started(f->core), 0);
    assert_int_equal(amb_core_cancel(f->core, "by request"), 0);
    assert_int_equal(amb_core_failed(f->core), -1);
    assert_string_equal(amb_core_report(f->core), "cancelled by request");
    /* Its last set counted after all: still no concat. */
    count_set(f, S1, "n1", 1, first_epoch(JOB_SEQ), t += TICK_MS);
    tick(f, t += TICK_MS);
    expect_no_act(f, ACT_CONCAT, ANY, NO_SET, 0, "cancelled job");
    expect_no_act(f, ACT_RECORD, JREC_CONCAT, NO_SET, 0, "cancelled job");
}

static void
test_cancel_refused_once_concat_began(void **state)
{
    struct fix *f = *state;
    uint64_t t = one_set_job_at_concat(f);

    assert_int_equal(amb_core_concat_started(f->core), 1);
    assert_int_equal(amb_core_cancel(f->core, "by request"), -1);
    assert_int_equal(amb_core_failed(f->core), 0);
    assert_string_equal(amb_core_report(f->core), "");
    concat_written(f, SET_FRAMES, t += TICK_MS);
}

/* ---- speculative backups ---- */

#define SET_MS 1000 /* how long n2 takes for a set */

/* n1 (one slot) holds set 0 from the start and reports nothing; n2 (one
 * slot) renders set 1 then set 2, a set per SET_MS; a backup is never
 * made while a set is Available or while n2 is busy. */
static uint64_t
backup_setup(struct fix *f, uint32_t backups)
{
    uint64_t t = T0 + TICK_MS;

    f->cfg.backups = backups;
    start_with_node(f, 3, 1);
    expect_set(f, 0, SET_PROCESSING, 1, S1);
    connect_node(f, S2, "n2", 1, t += TICK_MS);
    pulse(f, t += TICK_MS);
    expect_set(f, 1, SET_PROCESSING, 1, S2);
    count_set(f, S2, "n2", 1, 1, t += SET_MS);
    pulse(f, t += TICK_MS);
    expect_set(f, 2, SET_PROCESSING, 1, S2); /* Available first */
    expect_no_log(f, "backup", "a set was Available");
    pulse(f, t += 4 * SET_MS);
    expect_no_act(f, ACT_SEND, AMB_MSG_ASSIGN, NO_SET, 0, "n2 is busy");
    count_set(f, S2, "n2", 2, 1, t += TICK_MS);
    return t;
}

/* n2 idle, nothing Available: set 0 (overdue on n1) gets its backup. */
static uint64_t
backup_made(struct fix *f)
{
    uint64_t t = backup_setup(f, 1);
    const struct amb_act *rec, *send;
    const struct set_info *s;

    pulse(f, t += TICK_MS);
    rec = expect_act(f, ACT_RECORD, JREC_ASSIGN, 0, 0, "backup journaled");
    send = expect_send(f, S2, AMB_MSG_ASSIGN, 0, "backup to the idle node");
    expect_before(f, rec, send, "record before message");
    assert_int_equal(send->u.send.epoch, 2);
    assert_int_equal(rec->u.rec.r.epoch, 2);
    assert_string_equal(rec->u.rec.r.node, "n2");
    s = set_of(f, 0);
    expect_set(f, 0, SET_PROCESSING, 1, S1); /* n1 keeps going */
    assert_int_equal(s->alt_epoch, 2);
    assert_int_equal(s->alt_holder, S2);
    expect_stat(amb_core_stats(f->core)->backups, 1, "backups");
    return t;
}

static void
test_backup_only_for_idle_node_with_nothing_available(void **state)
{
    struct fix *f = *state;
    uint64_t t = backup_made(f);
    pulse(f, t += 4 * SET_MS);
    expect_no_act(f, ACT_SEND, AMB_MSG_ASSIGN, NO_SET, 0,
                  "one backup per set, and n2 holds it");
    expect_stat(amb_core_stats(f->core)->backups, 1, "backups");
}

/* Nodes of one speed: the last set, just started on n1, gets no backup
 * from idle n2 (it would not finish sooner); once it is well past n1's
 * own mean set time, it does. */
static void
test_backup_only_when_sooner(void **state)
{
    struct fix *f = *state;
    uint64_t t = T0 + TICK_MS, start;

    start_with_node(f, 3, 1); /* n1: set 0 */
    connect_node(f, S2, "n2", 1, t += TICK_MS);
    pulse(f, t += TICK_MS); /* n2: set 1 */
    count_set(f, S1, "n1", 0, 1, t += SET_MS);
    pulse(f, start = t += TICK_MS); /* n1: set 2 */
    expect_send(f, S1, AMB_MSG_ASSIGN, 2, "n1 takes the last set");
    count_set(f, S2, "n2", 1, 1, t += TICK_MS);
    pulse(f, t += TICK_MS);
    expect_no_act(f, ACT_SEND, AMB_MSG_ASSIGN, NO_SET, 0,
                  "n1 ends set 2 before n2 could");
    pulse(f, t = start + SET_MS / 2);
    expect_no_act(f, ACT_SEND, AMB_MSG_ASSIGN, NO_SET, 0, "halfway");
    pulse(f, t = start + 3 * SET_MS);
    expect_send(f, S2, AMB_MSG_ASSIGN, 2, "overdue on n1");
}

static void
test_no_backup_with_backups_zero(void **state)
{
    struct fix *f = *state;
    uint64_t t = backup_setup(f, 0);
    for (int i = 0; i < 5; i++) {
        pulse(f, t += 4 * SET_MS);
        expect_no_act(f, ACT_SEND, AMB_MSG_ASSIGN, NO_SET, 0, "backups 0");
    }
    expect_set(f, 0, SET_PROCESSING, 1, S1);
    assert_int_equal(set_of(f, 0)->alt_epoch, 0);
    expect_stat(amb_core_stats(f->core)->backups, 0, "backups");
}

/* One attempt is counted (win: session, node, epoch), the other is
 * cancelled; the loser's late done is stale (no check, its file removed,
 * answered), and the set is counted once at the winner's epoch. */
static void
backup_race(struct fix *f, uint64_t t, uint64_t win, const char *win_name,
            uint64_t win_epoch, uint64_t lose, const char *lose_name,
            uint64_t lose_epoch, uint64_t won)
{
    const struct amb_act *a;

    count_set(f, win, win_name, 0, win_epoch, t += TICK_MS);
    a = expect_send(f, lose, AMB_MSG_CANCEL, 0, "the loser cancelled");
    assert_int_equal(a->u.send.epoch, lose_epoch);
    expect_set(f, 0, SET_COUNTED, win_epoch, 0);
    expect_stat(amb_core_stats(f->core)->backups_won, won, "backups won");
    done(f, lose, lose_name, 0, lose_epoch, t += TICK_MS);
    expect_no_act(f, ACT_CHECK, ANY, NO_SET, 0, "the loser's late done");
    expect_no_act(f, ACT_RECORD, JREC_ACCEPT, NO_SET, 0, "counted once");
    expect_act(f, ACT_REMOVE, ANY, NO_SET, lose, "its file removed");
    a = expect_send(f, lose, AMB_MSG_RESULT, 0, "answered");
    assert_int_equal(a->u.send.ok, 0);
    expect_set(f, 0, SET_COUNTED, win_epoch, 0);
    expect_stat(amb_core_stats(f->core)->counted, 3, "counted");
    pulse(f, t += TICK_MS);
    expect_act(f, ACT_CONCAT, ANY, NO_SET, 0, "all counted once");
}

static void
test_backup_original_wins(void **state)
{
    struct fix *f = *state;
    backup_race(f, backup_made(f), S1, "n1", 1, S2, "n2", 2, 0);
}

static void
test_backup_wins(void **state)
{
    struct fix *f = *state;
    backup_race(f, backup_made(f), S2, "n2", 2, S1, "n1", 1, 1);
}

/* A done of one attempt while the other's is being checked: that one
 * ends (journaled), the one under check decides. */
static void
test_backup_done_while_other_checked(void **state)
{
    struct fix *f = *state;
    uint64_t t = backup_made(f);

    done(f, S1, "n1", 0, 1, t += TICK_MS);
    expect_act(f, ACT_CHECK, ANY, 0, S1, "first attempt checked");
    done(f, S2, "n2", 0, 2, t += TICK_MS);
    expect_no_act(f, ACT_CHECK, ANY, NO_SET, 0, "one check at a time");
    expect_rec(f, JREC_UNASSIGN, 0, "the backup ends");
    expect_act(f, ACT_REMOVE, ANY, NO_SET, S2, "its file removed");
    checked(f, S1, "n1", 0, 1, 0, t += TICK_MS); /* rejected */
    expect_set(f, 0, SET_FAILED, 3, 0);          /* above the backup's epoch */
}

/* The first attempt fails, or its node dies: the backup holds the set,
 * which is not Available again; the backup failing leaves the first. */
static void
test_backup_keeps_set_when_original_fails(void **state)
{
    struct fix *f = *state;
    uint64_t t = backup_made(f);

    fail_set(f, S1, 0, 1, "decode error", t += TICK_MS);
    expect_rec(f, JREC_FAIL, 0, "the first attempt failed");
    expect_set(f, 0, SET_PROCESSING, 2, S2);
    pulse(f, t += TICK_MS);
    expect_no_act(f, ACT_SEND, AMB_MSG_ASSIGN, 0, 0, "not Available");
    count_set(f, S2, "n2", 0, 2, t += TICK_MS);
    expect_set(f, 0, SET_COUNTED, 2, 0);
}

static void
test_backup_keeps_set_when_original_dies(void **state)
{
    struct fix *f = *state;
    uint64_t t = backup_made(f);

    gone(f, S1, 1, 0, "killed", t += TICK_MS);
    expect_rec(f, JREC_RECLAIM, 0, "n1 died");
    expect_set(f, 0, SET_PROCESSING, 2, S2);
    pulse(f, t += TICK_MS);
    expect_no_act(f, ACT_SEND, AMB_MSG_ASSIGN, 0, 0, "not Available");
}

static void
test_backup_failing_leaves_original(void **state)
{
    struct fix *f = *state;
    uint64_t t = backup_made(f);

    fail_set(f, S2, 0, 2, "decode error", t += TICK_MS);
    expect_rec(f, JREC_FAIL, 0, "the backup failed");
    expect_set(f, 0, SET_PROCESSING, 1, S1);
    assert_string_equal(set_of(f, 0)->alt_name, "");
    gone(f, S2, 0, 0, "closed", t += TICK_MS);
    pulse(f, t += TICK_MS);
    expect_set(f, 0, SET_PROCESSING, 1, S1);
    count_set(f, S1, "n1", 0, 1, t += TICK_MS);
    expect_set(f, 0, SET_COUNTED, 1, 0);
}

/* A backup's node leaves (not dead): the backup is dropped at the next
 * tick, journaled; the first attempt keeps the set. */
static void
test_backup_dropped_when_its_session_ends(void **state)
{
    struct fix *f = *state;
    uint64_t t = backup_made(f);

    gone(f, S2, 0, 0, "closed", t += TICK_MS);
    pulse(f, t += TICK_MS);
    expect_rec(f, JREC_RECLAIM, 0, "the backup dropped");
    expect_set(f, 0, SET_PROCESSING, 1, S1);
    assert_string_equal(set_of(f, 0)->alt_name, "");
}

/* Both attempts replay from the records and from a snapshot; a count
 * after a restart stays once. */
static void
test_backup_replays(void **state)
{
    struct fix *f = *state;
    struct jrec_state st;
    const struct jrec *snap;
    size_t n;

    backup_made(f);
    expect_records_replay(f, "records with a backup");

    snap = snapshot(f->core, &n);
    assert_non_null(snap);
    memset(&st, 0, sizeof(st));
    for (size_t i = 0; i < n; i++)
        replay_one(&st, &snap[i]);
    expect_same_table(f, &st, "snapshot with a backup");
    /* The backup's result counts in the replayed table once. */
    assert_int_equal(set_table_begin_check(st.sets, 0, 2), 0);
    assert_int_equal(set_table_accept(st.sets, 0, 2), 0);
    assert_int_equal(set_table_begin_check(st.sets, 0, 1), -1);
    assert_int_equal(set_table_count(st.sets, SET_COUNTED), 3);
    jrec_state_fini(&st);
}

/* A new ambassador on a snapshot with a backup running: the backup is
 * dropped at its first tick (journaled, replayable), the first attempt
 * waits for its node, which reattaches it; its result counts once. */
static void
test_backup_after_restart(void **state)
{
    struct fix *f = *state;
    uint64_t t = backup_made(f);
    const struct lease_held held = {.set = 0, .epoch = 1};
    const struct jrec *snap, *rec;
    struct jrec_state st;
    struct amb_core *next;
    size_t n;

    snap = snapshot(f->core, &n);
    memset(&st, 0, sizeof(st));
    for (size_t i = 0; i < n; i++)
        replay_one(&st, &snap[i]);
    next = amb_core_new(&f->cfg, &f->job, &st, t += TICK_MS);
    assert_non_null(next);
    jrec_state_fini(&st);
    amb_core_free(f->core);
    f->core = next;
    share(f, t += TICK_MS, 1, GEN);
    tick(f, t += TICK_MS);
    rec = expect_rec(f, JREC_RECLAIM, 0, "the backup dropped");
    assert_int_equal(rec->epoch, 2);
    assert_string_equal(rec->node, "n2");
    expect_set(f, 0, SET_PROCESSING, 1, JREC_SESSION);
    assert_string_equal(set_of(f, 0)->alt_name, "");
    accepted(f, S1 + 10, t += TICK_MS);
    hello(f, S1 + 10, "n1", 1, &held, 1, t);
    expect_set(f, 0, SET_PROCESSING, 1, S1 + 10);
    count_set(f, S1 + 10, "n1", 0, 1, t += TICK_MS);
    expect_set(f, 0, SET_COUNTED, 1, 0);
}

#define T(name) cmocka_unit_test_setup_teardown(name, fix_setup, fix_teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_no_dispatch_before_share_answers),
        T(test_share_silent_pauses_dispatch),
        T(test_suspect_node_gets_no_work),
        T(test_second_hello_with_same_name_refused),
        T(test_done_checked_counted),
        T(test_done_with_wrong_frames_or_path_rejected),
        T(test_failed_check_rejects),
        T(test_done_from_other_session_or_stale_epoch_refused),
        T(test_duplicate_done_keeps_the_file),
        T(test_fail_makes_set_assignable_at_new_epoch),
        T(test_decline_and_share_io_cost_no_failure),
        T(test_failed_set_not_stranded_by_node_that_cannot_work),
        T(test_job_stops_after_max_failures),
        T(test_job_stops_after_max_nodes),
        T(test_dead_node_sets_reclaimed_at_once),
        T(test_detached_node_keeps_sets_until_lease_still),
        T(test_detached_node_reattaches_its_sets),
        T(test_node_back_without_its_set),
        T(test_lease_without_set_reclaims),
        T(test_still_lease_stops_new_work),
        T(test_still_lease_reclaims_from_connected_node),
        T(test_failed_results_open_breaker),
        T(test_breaker_carried_over_admits_one_probe),
        T(test_undelivered_probe_released),
        T(test_newer_generation_exits),
        T(test_all_counted_concat_then_done),
        T(test_progress_kept_for_current_epoch),
        T(test_failed_concat_stops_job),
        T(test_concat_short_of_resources_retried),
        T(test_concat_finds_changed_results),
        T(test_full_share_pauses_dispatch),
        T(test_node_out_of_space_returns_set),
        T(test_snapshot_replays_to_same_table),
        T(test_records_replay_to_same_table),
        T(test_resume_from_snapshot_reattaches),
        T(test_idle_core_gives_nothing),
        T(test_start_job_on_idle_core_dispatches),
        T(test_end_of_cancelled_job_cancels_held_sets),
        T(test_end_of_done_job_cancels_nothing),
        T(test_end_of_job_frees_half_open_probe),
        T(test_old_job_done_is_stale_in_next_job),
        T(test_old_job_check_is_stale_in_next_job),
        T(test_cancel_stops_job_before_concat),
        T(test_cancel_refused_once_concat_began),
        T(test_backup_only_for_idle_node_with_nothing_available),
        T(test_backup_only_when_sooner),
        T(test_no_backup_with_backups_zero),
        T(test_backup_original_wins),
        T(test_backup_wins),
        T(test_backup_done_while_other_checked),
        T(test_backup_keeps_set_when_original_fails),
        T(test_backup_keeps_set_when_original_dies),
        T(test_backup_failing_leaves_original),
        T(test_backup_dropped_when_its_session_ends),
        T(test_backup_replays),
        T(test_backup_after_restart),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
