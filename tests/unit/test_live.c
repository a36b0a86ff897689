/*
 * test_live.c - what the HTTP API shows (coordinator/live.h), rendered
 * from a real core (amb_core.h) driven event by event on a virtual clock
 * with a tiny job, and the requests the API hands the core (EV_REQUEUE,
 * EV_DRAIN). The state JSON holds the job's set grid (a letter a set,
 * epochs and attempts), each node's breaker, held sets, slots and its
 * attempts with their outcomes, and the events (a reclaim by request);
 * /api/jobs/ID holds the grid; /metrics has sets by job and state, nodes
 * by breaker and counters that keep growing across a service's jobs. A
 * node gone with its breaker open shows open. A requeue takes a set in B
 * from its node (a reclaim, journaled, the node told to cancel) and
 * forgives one in C (journaled as the set's new state); one in D is
 * refused. A drained node gets nothing until undrained.
 */
#include "tests/unit/unit.h"

#include <cjson/cJSON.h>

#include "coordinator/amb_core.h"
#include "coordinator/board.h"
#include "coordinator/live.h"

#define JOB_ID "job1"
#define NEXT_ID "job2"
#define NSETS 4
#define SET_FRAMES 2
#define FRAMES (NSETS * SET_FRAMES)
#define T0 1000000
#define GEN 3
#define S1 1
#define S2 2
#define WALL_MS 1700000000000ull
#define FREE_BYTES (1ull << 40)

struct fix {
    struct coord_config cfg;
    struct job job, next;
    struct zipf_listing listing;
    struct zipf_frame frame[FRAMES];
    char names[FRAMES][32];
    struct amb_core *core;
    struct live *live;
    uint64_t now;
    struct amb_act acts[64]; /* the last step's */
    size_t n;
};

static void
job_fill(struct fix *f, struct job *j, const char *id, uint64_t seq)
{
    memset(j, 0, sizeof(*j));
    snprintf(j->id, sizeof(j->id), "%s", id);
    snprintf(j->share, sizeof(j->share), "/share");
    snprintf(j->output, sizeof(j->output), "/share/%s.mp4", id);
    j->epoch_base = seq << JOB_EPOCH_SHIFT;
    j->set_size = SET_FRAMES;
    j->nsets = NSETS;
    j->frames = &f->listing;
}

static int
fix_setup(void **state)
{
    const char *names[FRAMES];
    struct fix *f = calloc(1, sizeof(*f));
    if (f == NULL)
        return -1;
    config_defaults(&f->cfg);
    f->cfg.gen = GEN;
    f->listing.count = FRAMES;
    f->listing.frames = f->frame;
    for (int i = 0; i < FRAMES; i++) {
        snprintf(f->names[i], sizeof(f->names[i]), "frame-%04d.jpg", i);
        names[i] = f->names[i];
    }
    if (zipf_listing_set_names(&f->listing, names) == -1)
        return -1;
    job_fill(f, &f->job, JOB_ID, 0);
    job_fill(f, &f->next, NEXT_ID, 1);
    f->now = T0;
    f->core = amb_core_new(&f->cfg, &f->job, NULL, T0);
    f->live = live_new();
    if (f->core == NULL || f->live == NULL)
        return -1;
    *state = f;
    return 0;
}

static int
fix_teardown(void **state)
{
    struct fix *f = *state;
    amb_core_free(f->core);
    live_free(f->live);
    free(f->listing.names);
    free(f);
    return 0;
}

/* One event, as the loop does it: the core decides, live watches. */
static void
step(struct fix *f, struct amb_event *ev)
{
    size_t n;
    const struct amb_act *a = amb_core_step(f->core, ev, f->now, &n);
    assert_true(n <= sizeof(f->acts) / sizeof(f->acts[0]));
    if (n > 0)
        memcpy(f->acts, a, n * sizeof(*a));
    f->n = n;
    for (size_t i = 0; i < n; i++)
        live_act(f->live, f->core, &f->acts[i], f->now);
}

static void
ev_simple(struct fix *f, enum amb_event_type type, uint64_t session)
{
    struct amb_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.type = type;
    ev.session = session;
    if (type == EV_SHARE) {
        ev.u.share.ok = 1;
        ev.u.share.gen = GEN;
        ev.u.share.free_bytes = FREE_BYTES;
    }
    step(f, &ev);
}

static void
node_hello(struct fix *f, uint64_t session, const char *name)
{
    struct amb_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.type = EV_ACCEPTED;
    ev.session = session;
    snprintf(ev.u.accepted.peer, sizeof(ev.u.accepted.peer), "127.0.0.1:%llu",
             (unsigned long long)(1000 + session));
    step(f, &ev);
    memset(&ev, 0, sizeof(ev));
    ev.type = EV_HELLO;
    ev.session = session;
    snprintf(ev.name, sizeof(ev.name), "%s", name);
    ev.u.hello.slots = 1;
    snprintf(ev.u.hello.encoders, sizeof(ev.u.hello.encoders), "libx264");
    step(f, &ev);
}

static void
tick(struct fix *f, uint64_t ms)
{
    f->now += ms;
    ev_simple(f, EV_TICK, 0);
}

/* The node reports set done at epoch, and its check passes. */
static void
render(struct fix *f, uint64_t session, const char *node, const struct job *j,
       uint32_t set, uint64_t epoch)
{
    struct amb_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.type = EV_DONE;
    ev.session = session;
    ev.u.result.set = set;
    ev.u.result.epoch = epoch;
    ev.u.result.frames = SET_FRAMES;
    ev.u.result.bytes = 1000;
    snprintf(ev.u.result.encoder, sizeof(ev.u.result.encoder), "libx264");
    assert_int_equal(job_result_rel(j, set, epoch, node, ev.u.result.path,
                                    sizeof(ev.u.result.path)),
                     0);
    f->now += 1500; /* the render took 1.5 s */
    step(f, &ev);
    ev.type = EV_CHECKED;
    ev.u.checked.r = ev.u.result;
    ev.u.checked.ok = 1;
    ev.u.checked.info.frames = SET_FRAMES;
    step(f, &ev);
}

static cJSON *
snapshot(struct fix *f, struct board_snap **out, const cJSON *queue)
{
    struct live_ctx x = {
        .mode = queue != NULL ? "service" : "job",
        .actions = "secret",
        .generation = GEN,
        .job_state = "running",
        .queue = queue,
        .wall_ms = WALL_MS,
    };
    struct board_snap *s = live_snapshot(f->live, f->core, &x, f->now);
    cJSON *state;
    assert_non_null(s);
    state = cJSON_Parse(s->state);
    assert_non_null(state);
    if (out != NULL)
        *out = s;
    else
        board_snap_free(s);
    return state;
}

/* The value at a dotted path ("nodes.0.name") as text; numbers are
 * whole here. Valid until the next call. */
static const char *
str_at(const cJSON *o, const char *path)
{
    static char num[64];
    char buf[128], *save = NULL;
    snprintf(buf, sizeof(buf), "%s", path);
    for (char *k = strtok_r(buf, ".", &save); k != NULL && o != NULL;
         k = strtok_r(NULL, ".", &save))
        o = cJSON_IsArray(o) ? cJSON_GetArrayItem(o, atoi(k))
                             : cJSON_GetObjectItemCaseSensitive(o, k);
    if (o == NULL)
        fail_msg("no %s", path);
    if (cJSON_IsString(o))
        return o->valuestring;
    if (cJSON_IsBool(o))
        return cJSON_IsTrue(o) ? "true" : "false";
    if (cJSON_IsNull(o))
        return "null";
    snprintf(num, sizeof(num), "%.0f", cJSON_GetNumberValue(o));
    return num;
}

static long
act_find(const struct fix *f, enum amb_act_type type, int kind)
{
    for (size_t i = 0; i < f->n; i++) {
        const struct amb_act *a = &f->acts[i];
        if (a->type != type)
            continue;
        if (type == ACT_RECORD && (int)a->u.rec.r.type != kind)
            continue;
        if (type == ACT_SEND && (int)a->u.send.msg != kind)
            continue;
        return (long)i;
    }
    return -1;
}

/* Share up, one node, two sets counted and one in hand. */
static void
run_some(struct fix *f)
{
    ev_simple(f, EV_SHARE, 0);
    node_hello(f, S1, "n1");
    tick(f, 100);
    assert_true(act_find(f, ACT_SEND, AMB_MSG_ASSIGN) >= 0);
    render(f, S1, "n1", &f->job, 0, 1);
    tick(f, 100);
    render(f, S1, "n1", &f->job, 1, 1);
    tick(f, 100); /* set 2 to n1 */
}

static void
test_state(void **state)
{
    struct fix *f = *state;
    struct board_snap *s;
    cJSON *st, *doc;
    run_some(f);
    st = snapshot(f, &s, NULL);
    assert_string_equal(str_at(st, "mode"), "job");
    assert_string_equal(str_at(st, "job.job"), JOB_ID);
    assert_string_equal(str_at(st, "job.grid.status"), "DDBA");
    assert_string_equal(str_at(st, "job.grid.epoch.2"), "1");
    assert_string_equal(str_at(st, "job.grid.holder.2"), "n1");
    assert_string_equal(str_at(st, "job.sets.D"), "2");
    assert_string_equal(str_at(st, "job.progress.done"), "4");
    assert_string_equal(str_at(st, "jobs.0.state"), "running");
    assert_string_equal(str_at(st, "nodes.0.name"), "n1");
    assert_string_equal(str_at(st, "nodes.0.breaker"), "closed");
    assert_string_equal(str_at(st, "nodes.0.connected"), "true");
    assert_string_equal(str_at(st, "nodes.0.held"), "1");
    assert_string_equal(str_at(st, "nodes.0.slots"), "1");
    assert_string_equal(str_at(st, "nodes.0.encoder"), "libx264");
    assert_string_equal(str_at(st, "nodes.0.frames"), "4");
    assert_string_equal(str_at(st, "nodes.0.attempts.0.outcome"), "counted");
    assert_string_equal(str_at(st, "nodes.0.attempts.1.outcome"), "counted");
    assert_string_equal(str_at(st, "nodes.0.attempts.2.outcome"), "running");
    assert_string_equal(str_at(st, "nodes.0.attempts.2.end_ms"), "null");
    assert_string_equal(str_at(st, "events.0.kind"), "job");
    /* /api/jobs/ID carries the grid; /api/nodes the same rows. */
    assert_non_null(board_snap_job(s, JOB_ID));
    doc = cJSON_Parse(board_snap_job(s, JOB_ID));
    assert_string_equal(str_at(doc, "grid.status"), "DDBA");
    cJSON_Delete(doc);
    assert_true(board_snap_has_node(s, "n1"));
    assert_contains(s->nodes, "\"name\":\"n1\"");
    assert_contains(s->metrics, "framefarm_sets{job=\"job1\",state=\"D\"} 2\n");
    assert_contains(s->metrics, "framefarm_sets{job=\"job1\",state=\"B\"} 1\n");
    assert_contains(s->metrics, "framefarm_nodes{breaker=\"closed\"} 1\n");
    assert_contains(s->metrics, "framefarm_assignments_total 3\n");
    assert_contains(s->metrics, "framefarm_frames_encoded_total 4\n");
    assert_contains(s->metrics, "framefarm_jobs{state=\"running\"} 1\n");
    board_snap_free(s);
    cJSON_Delete(st);
}

/* A node whose session ended with a heartbeat timeout shows gone, its
 * breaker open. */
static void
test_gone_open(void **state)
{
    struct fix *f = *state;
    struct amb_event ev;
    struct board_snap *s;
    cJSON *st;
    run_some(f);
    cJSON_Delete(snapshot(f, NULL, NULL));
    memset(&ev, 0, sizeof(ev));
    ev.type = EV_GONE;
    ev.session = S1;
    ev.u.gone.trip = 1;
    snprintf(ev.u.gone.text, sizeof(ev.u.gone.text), "heartbeat timeout");
    step(f, &ev);
    st = snapshot(f, &s, NULL);
    assert_string_equal(str_at(st, "nodes.0.name"), "n1");
    assert_string_equal(str_at(st, "nodes.0.connected"), "false");
    assert_string_equal(str_at(st, "nodes.0.breaker"), "open");
    assert_contains(str_at(st, "nodes.0.breaker_why"), "heartbeat timeout");
    assert_contains(s->metrics, "framefarm_nodes_gone 1\n");
    assert_contains(s->state, "node n1: gone, breaker open");
    board_snap_free(s);
    cJSON_Delete(st);
}

/* An action asked for over HTTP, as the loop hands it to the core. */
static void
request(struct fix *f, enum amb_event_type type, const char *name, uint32_t set,
        int on)
{
    struct amb_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.type = type;
    snprintf(ev.name, sizeof(ev.name), "%s", name);
    if (type == EV_DRAIN)
        ev.u.drain.on = on;
    else
        ev.u.set.set = set;
    step(f, &ev);
}

static void
requeue(struct fix *f, uint32_t set)
{
    request(f, EV_REQUEUE, JOB_ID, set, 0);
}

static void
test_requeue(void **state)
{
    struct fix *f = *state;
    const struct set_info *si;
    const struct amb_act *a;
    long i;
    cJSON *st;
    run_some(f);
    /* B: taken from n1, journaled as a reclaim, n1 told to drop it. */
    requeue(f, 2);
    i = act_find(f, ACT_RECORD, JREC_RECLAIM);
    assert_true(i >= 0);
    a = &f->acts[i];
    assert_int_equal(a->u.rec.r.set, 2);
    assert_int_equal(a->u.rec.why, AMB_RECLAIM_REQUEST);
    assert_string_equal(a->u.rec.r.node, "n1");
    i = act_find(f, ACT_SEND, AMB_MSG_CANCEL);
    assert_true(i >= 0);
    assert_int_equal(f->acts[i].session, S1);
    si = set_table_get(amb_core_sets(f->core), 2);
    assert_int_equal(si->status, SET_FAILED);
    assert_int_equal(si->reclaims, 1);
    st = snapshot(f, NULL, NULL);
    assert_string_equal(str_at(st, "nodes.0.attempts.2.outcome"), "reclaimed");
    cJSON_Delete(st);
    /* C: forgiven; journaled as its new state (epoch kept, counts 0). */
    requeue(f, 2);
    i = act_find(f, ACT_RECORD, JREC_SET);
    assert_true(i >= 0);
    a = &f->acts[i];
    assert_int_equal(a->u.rec.r.set, 2);
    assert_int_equal(a->u.rec.r.info.status, SET_AVAILABLE);
    assert_int_equal(a->u.rec.r.info.reclaims, 0);
    assert_int_equal(a->u.rec.r.info.epoch, si->epoch);
    assert_int_equal(si->status, SET_AVAILABLE);
    /* D, or another job's name: refused, nothing journaled. */
    requeue(f, 0);
    assert_true(act_find(f, ACT_RECORD, JREC_SET) < 0);
    assert_true(act_find(f, ACT_RECORD, JREC_RECLAIM) < 0);
    assert_int_equal(set_table_get(amb_core_sets(f->core), 0)->status,
                     SET_COUNTED);
}

static void
drain(struct fix *f, const char *name, int on)
{
    request(f, EV_DRAIN, name, 0, on);
}

static void
test_drain(void **state)
{
    struct fix *f = *state;
    cJSON *st;
    ev_simple(f, EV_SHARE, 0);
    node_hello(f, S1, "n1");
    drain(f, "n1", 1);
    tick(f, 100);
    assert_true(act_find(f, ACT_SEND, AMB_MSG_ASSIGN) < 0);
    st = snapshot(f, NULL, NULL);
    assert_string_equal(str_at(st, "nodes.0.drained"), "true");
    cJSON_Delete(st);
    /* A second node gets the work; the drained one still nothing. */
    node_hello(f, S2, "n2");
    tick(f, 100);
    assert_true(act_find(f, ACT_SEND, AMB_MSG_ASSIGN) >= 0);
    for (size_t i = 0; i < f->n; i++)
        if (f->acts[i].type == ACT_SEND)
            assert_int_equal(f->acts[i].session, S2);
    drain(f, "n1", 0);
    tick(f, 100);
    assert_true(act_find(f, ACT_SEND, AMB_MSG_ASSIGN) >= 0);
    assert_int_equal(f->acts[act_find(f, ACT_SEND, AMB_MSG_ASSIGN)].session,
                     S1);
}

/* A service's next job: the core's stats restart, /metrics's counters go
 * on growing. */
static void
test_counters_across_jobs(void **state)
{
    struct fix *f = *state;
    struct board_snap *s;
    size_t n;
    cJSON *queue = cJSON_CreateArray();
    run_some(f);
    cJSON_Delete(snapshot(f, &s, queue));
    assert_contains(s->metrics, "framefarm_assignments_total 3\n");
    board_snap_free(s);
    assert_int_equal(amb_core_cancel(f->core, "by request"), 0);
    (void)amb_core_end_job(f->core, f->now, &n);
    assert_int_equal(amb_core_start_job(f->core, &f->next, NULL, f->now), 0);
    tick(f, 100); /* one set of job2 to n1 */
    cJSON_Delete(snapshot(f, &s, queue));
    assert_contains(s->metrics, "framefarm_assignments_total 4\n");
    assert_contains(s->metrics, "framefarm_sets{job=\"job2\",state=\"B\"} 1\n");
    assert_contains(s->state, "job job2 runs");
    board_snap_free(s);
    cJSON_Delete(queue);
}

#define T(name) cmocka_unit_test_setup_teardown(name, fix_setup, fix_teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_state),
        T(test_gone_open),
        T(test_requeue),
        T(test_drain),
        T(test_counters_across_jobs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
