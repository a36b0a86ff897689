/*
 * test_sets.c - the set table (coordinator/sets.h): the A/B/C/D state
 * machine, its epochs that only grow, stale and duplicate results that
 * change nothing, which set a node gets next, and the floor a service's
 * job raises its epochs to. The last test drives the
 * table with a seeded random sequence against a small model of the
 * contract.
 */
#include "tests/unit/unit.h"

#include "coordinator/sets.h"

#define SESSION_A 11
#define SESSION_B 22

static struct set_table *
table_new(uint32_t n)
{
    struct set_table *t = set_table_new(n);
    assert_non_null(t);
    return t;
}

static uint64_t
assign_ok(struct set_table *t, uint32_t set, uint64_t session, const char *name)
{
    uint64_t epoch = 0;
    if (set_table_assign(t, set, session, name, &epoch) != 0)
        fail_msg("assign set %u to %s refused (status %c)", set, name,
                 (char)set_table_get(t, set)->status);
    return epoch;
}

static void
expect_status(const struct set_table *t, uint32_t set, enum set_status want)
{
    const struct set_info *s = set_table_get(t, set);
    assert_non_null(s);
    if (s->status != want)
        fail_msg("set %u: status %c, want %c", set, (char)s->status,
                 (char)want);
}

static void
test_full_lifecycle(void **state)
{
    struct set_table *t = table_new(2);
    const struct set_info *s;
    uint64_t e;
    (void)state;

    assert_int_equal(set_table_size(t), 2);
    assert_int_equal(set_table_count(t, SET_AVAILABLE), 2);
    assert_false(set_table_done(t));
    for (uint32_t set = 0; set < 2; set++) {
        assert_int_equal(set_table_pick(t, "n1"), set);
        e = assign_ok(t, set, SESSION_A, "n1");
        s = set_table_get(t, set);
        expect_status(t, set, SET_PROCESSING);
        assert_int_equal(s->epoch, e);
        assert_int_equal(s->holder, SESSION_A);
        assert_string_equal(s->holder_name, "n1");
        assert_int_equal(s->attempts, 1);
        assert_int_equal(set_table_begin_check(t, set, e), 0);
        assert_true(s->checking);
        expect_status(t, set, SET_PROCESSING);
        assert_int_equal(set_table_accept(t, set, e), 0);
        expect_status(t, set, SET_COUNTED);
        assert_int_equal(s->holder, 0);
        assert_int_equal(set_table_count(t, SET_COUNTED), set + 1);
    }
    assert_true(set_table_done(t));
    assert_int_equal(set_table_pick(t, "n1"), -1);
    assert_null(set_table_get(t, 2));
    set_table_free(t);
}

/* Out of memory for a node's name or a set's first failure: the call is
 * refused and the set is as it was; once memory is back it goes through.
 * Names are kept once: a name already seen needs no memory. */
static void
test_out_of_memory_changes_nothing(void **state)
{
    struct set_table *t = table_new(2);
    const struct set_info *s = set_table_get(t, 0);
    uint64_t e, e2;
    uint32_t nodes = 0;
    (void)state;

    set_table_fail_allocs(t, 1);
    assert_int_equal(set_table_assign(t, 0, SESSION_A, "n1", &e), -1);
    expect_status(t, 0, SET_AVAILABLE);
    assert_int_equal(s->epoch, 0);
    assert_int_equal(s->attempts, 0);
    set_table_fail_allocs(t, 0);
    e = assign_ok(t, 0, SESSION_A, "n1");

    set_table_fail_allocs(t, 1);
    e2 = assign_ok(t, 1, SESSION_B, "n1"); /* n1 is known */
    assert_int_equal(set_table_fail(t, 0, e, "boom", &nodes), -1);
    assert_int_equal(set_table_reclaim(t, 0, e, "gone"), -1);
    expect_status(t, 0, SET_PROCESSING);
    assert_int_equal(s->epoch, e);
    assert_int_equal(s->failures, 0);
    assert_int_equal(s->reclaims, 0);
    assert_null(s->hist);
    assert_string_equal(set_info_error(s), "");
    set_table_fail_allocs(t, 0);
    assert_int_equal(set_table_fail(t, 0, e, "boom", &nodes), 0);
    assert_int_equal(nodes, 1);
    assert_string_equal(set_info_error(s), "boom");
    assert_string_equal(s->hist->failed_on[0], "n1");
    assert_int_equal(set_table_holds(t, 1, SESSION_B, e2), 1);
    set_table_free(t);
}

/* A counted set whose file was lost goes back to C with a new epoch, only
 * from D at its counted epoch; the table is no longer done; the old
 * epoch's result can never count again, the new attempt's can. */
static void
test_lose_counted(void **state)
{
    struct set_table *t = table_new(1);
    const struct set_info *s = set_table_get(t, 0);
    uint64_t e, e2;
    (void)state;

    e = assign_ok(t, 0, SESSION_A, "n1");
    assert_int_equal(set_table_lose(t, 0, e, "gone"), -1); /* not D */
    assert_int_equal(set_table_begin_check(t, 0, e), 0);
    assert_int_equal(set_table_accept(t, 0, e), 0);
    assert_true(set_table_done(t));
    assert_int_equal(set_table_lose(t, 0, e + 1, "gone"), -1); /* epoch */
    assert_int_equal(set_table_lose(t, 0, e, "its file is gone"), 0);
    expect_status(t, 0, SET_FAILED);
    assert_int_equal(s->epoch, e + 1);
    assert_int_equal(s->losses, 1);
    assert_int_equal(s->failures, 0);
    assert_string_equal(set_info_error(s), "its file is gone");
    assert_false(set_table_done(t));
    assert_int_equal(set_table_count(t, SET_COUNTED), 0);
    assert_int_equal(set_table_lose(t, 0, e, "again"), -1);
    assert_int_equal(set_table_begin_check(t, 0, e), -1);
    assert_int_equal(set_table_pick(t, "n2"), 0);
    e2 = assign_ok(t, 0, SESSION_B, "n2");
    assert_true(e2 > e + 1);
    assert_int_equal(set_table_begin_check(t, 0, e2), 0);
    assert_int_equal(set_table_accept(t, 0, e2), 0);
    assert_true(set_table_done(t));
    set_table_free(t);
}

static void
test_epochs_grow_on_assign_and_fail(void **state)
{
    struct set_table *t = table_new(1);
    const struct set_info *s = set_table_get(t, 0);
    uint64_t last = s->epoch, e;
    uint32_t nodes = 0;
    (void)state;

    assert_int_equal(last, 0);
    for (int round = 0; round < 3; round++) {
        e = assign_ok(t, 0, SESSION_A, "n1");
        assert_true(e > last);
        last = e;
        assert_int_equal(set_table_fail(t, 0, e, "decode error", &nodes), 0);
        expect_status(t, 0, SET_FAILED);
        assert_true(s->epoch > last);
        last = s->epoch;
        assert_int_equal(nodes, 1);
        assert_int_equal(s->failures, (uint32_t)round + 1);
        assert_string_equal(set_info_error(s), "decode error");
        assert_int_equal(s->holder, 0);
    }
    set_table_free(t);
}

/* A result for an old epoch, or for a set not in B, changes nothing. */
static void
test_stale_fail_rejected(void **state)
{
    struct set_table *t = table_new(2);
    struct set_info before;
    uint32_t nodes = 77;
    uint64_t e;
    (void)state;

    assert_int_equal(set_table_fail(t, 0, 0, "x", &nodes), -1); /* A */
    e = assign_ok(t, 0, SESSION_A, "n1");
    before = *set_table_get(t, 0);
    assert_int_equal(set_table_fail(t, 0, e - 1, "old", &nodes), -1);
    assert_int_equal(set_table_fail(t, 0, e + 1, "future", &nodes), -1);
    assert_int_equal(set_table_unassign(t, 0, e - 1), -1);
    assert_int_equal(set_table_fail(t, 2, e, "no such set", &nodes), -1);
    assert_memory_equal(&before, set_table_get(t, 0), sizeof(before));
    assert_int_equal(nodes, 77);

    /* After a reassignment the first attempt's epoch is stale. */
    assert_int_equal(set_table_fail(t, 0, e, "timeout", NULL), 0);
    uint64_t e2 = assign_ok(t, 0, SESSION_B, "n2");
    before = *set_table_get(t, 0);
    assert_int_equal(set_table_fail(t, 0, e, "late", &nodes), -1);
    assert_int_equal(set_table_begin_check(t, 0, e), -1);
    assert_memory_equal(&before, set_table_get(t, 0), sizeof(before));
    assert_int_equal(set_table_begin_check(t, 0, e2), 0);
    set_table_free(t);
}

static void
test_duplicate_done_rejected(void **state)
{
    struct set_table *t = table_new(1);
    struct set_info before;
    uint64_t e;
    (void)state;

    e = assign_ok(t, 0, SESSION_A, "n1");
    assert_int_equal(set_table_begin_check(t, 0, e), 0);
    before = *set_table_get(t, 0);
    assert_int_equal(set_table_begin_check(t, 0, e), -1);
    assert_memory_equal(&before, set_table_get(t, 0), sizeof(before));
    /* Nor may the node fail a set whose done is being checked. */
    assert_int_equal(set_table_fail(t, 0, e, "oops", NULL), -1);
    assert_memory_equal(&before, set_table_get(t, 0), sizeof(before));

    assert_int_equal(set_table_accept(t, 0, e), 0);
    before = *set_table_get(t, 0);
    assert_int_equal(set_table_begin_check(t, 0, e), -1);
    assert_int_equal(set_table_accept(t, 0, e), -1);
    assert_int_equal(set_table_reject(t, 0, e, "late", NULL), -1);
    assert_int_equal(set_table_fail(t, 0, e, "late", NULL), -1);
    assert_int_equal(set_table_unassign(t, 0, e), -1);
    assert_memory_equal(&before, set_table_get(t, 0), sizeof(before));
    assert_int_equal(set_table_count(t, SET_COUNTED), 1);
    set_table_free(t);
}

static void
test_accept_needs_begin_check(void **state)
{
    struct set_table *t = table_new(1);
    struct set_info before;
    uint64_t e;
    (void)state;

    assert_int_equal(set_table_accept(t, 0, 0), -1); /* A */
    e = assign_ok(t, 0, SESSION_A, "n1");
    before = *set_table_get(t, 0);
    assert_int_equal(set_table_accept(t, 0, e), -1);
    assert_int_equal(set_table_reject(t, 0, e, "bad", NULL), -1);
    assert_memory_equal(&before, set_table_get(t, 0), sizeof(before));
    assert_int_equal(set_table_count(t, SET_COUNTED), 0);

    assert_int_equal(set_table_begin_check(t, 0, e), 0);
    assert_int_equal(set_table_accept(t, 0, e + 1), -1); /* wrong epoch */
    expect_status(t, 0, SET_PROCESSING);
    set_table_free(t);
}

static void
test_reject_then_reassign(void **state)
{
    struct set_table *t = table_new(1);
    const struct set_info *s = set_table_get(t, 0);
    uint32_t nodes = 0;
    uint64_t e, e2, rejected;
    (void)state;

    e = assign_ok(t, 0, SESSION_A, "n1");
    assert_int_equal(set_table_begin_check(t, 0, e), 0);
    assert_int_equal(set_table_reject(t, 0, e, "3 frames, want 4", &nodes), 0);
    expect_status(t, 0, SET_FAILED);
    assert_true(s->epoch > e);
    assert_false(s->checking);
    assert_int_equal(s->holder, 0);
    assert_int_equal(s->failures, 1);
    assert_int_equal(nodes, 1);
    assert_string_equal(s->hist->failed_on[0], "n1");
    assert_string_equal(set_info_error(s), "3 frames, want 4");
    rejected = s->epoch;

    assert_int_equal(set_table_pick(t, "n2"), 0);
    e2 = assign_ok(t, 0, SESSION_B, "n2");
    assert_true(e2 > rejected);
    assert_int_equal(set_table_begin_check(t, 0, e), -1); /* old done */
    assert_int_equal(set_table_begin_check(t, 0, e2), 0);
    assert_int_equal(set_table_accept(t, 0, e2), 0);
    assert_int_equal(s->attempts, 2);
    set_table_free(t);
}

static void
test_pick_prefers_sets_not_failed_on_node(void **state)
{
    struct set_table *t = table_new(3);
    uint64_t e;
    (void)state;

    e = assign_ok(t, 0, SESSION_A, "n1");
    assert_int_equal(set_table_fail(t, 0, e, "x", NULL), 0);
    assert_int_equal(set_table_pick(t, "n1"), 1);
    assert_int_equal(set_table_pick(t, "n2"), 0);

    /* Set 1 and 2 go elsewhere: n1 gets set 0 back rather than nothing. */
    assign_ok(t, 1, SESSION_B, "n2");
    e = assign_ok(t, 2, SESSION_B, "n2");
    assert_int_equal(set_table_begin_check(t, 2, e), 0);
    assert_int_equal(set_table_accept(t, 2, e), 0);
    assert_int_equal(set_table_pick(t, "n1"), 0);
    set_table_free(t);
}

static void
test_unassign_counts_no_failure(void **state)
{
    struct set_table *t = table_new(2);
    const struct set_info *s = set_table_get(t, 0);
    uint64_t e;
    (void)state;

    e = assign_ok(t, 0, SESSION_A, "n1");
    assert_int_equal(set_table_unassign(t, 0, e), 0);
    expect_status(t, 0, SET_AVAILABLE);
    assert_true(s->epoch > e);
    assert_int_equal(s->failures, 0);
    assert_int_equal(s->nfailed_on, 0);
    assert_int_equal(s->attempts, 0);
    assert_int_equal(s->holder, 0);
    assert_int_equal(set_table_pick(t, "n1"), 0); /* not avoided */
    assert_int_equal(set_table_unassign(t, 0, e), -1);
    assert_int_equal(set_table_fail(t, 0, e, "late", NULL), -1);
    set_table_free(t);
}

static void
test_failed_on_distinct_nodes(void **state)
{
    struct set_table *t = table_new(1);
    char name[IDENT_MAX + 1];
    uint32_t nodes = 0;
    uint64_t e;
    (void)state;

    e = assign_ok(t, 0, SESSION_A, "n0");
    assert_int_equal(set_table_fail(t, 0, e, "x", &nodes), 0);
    e = assign_ok(t, 0, SESSION_A, "n0");
    assert_int_equal(set_table_fail(t, 0, e, "x", &nodes), 0);
    assert_int_equal(nodes, 1); /* the same node twice */
    for (uint32_t i = 1; i < SETS_MAX_FAILED_NODES + 3; i++) {
        snprintf(name, sizeof(name), "n%u", i);
        e = assign_ok(t, 0, SESSION_A + i, name);
        assert_int_equal(set_table_fail(t, 0, e, "x", &nodes), 0);
        assert_int_equal(nodes, i + 1 < SETS_MAX_FAILED_NODES
                                    ? i + 1
                                    : SETS_MAX_FAILED_NODES);
    }
    /* twice on n0, once on each of n1 .. n(MAX + 2) */
    assert_int_equal(set_table_get(t, 0)->failures, SETS_MAX_FAILED_NODES + 4);
    set_table_free(t);
}

static void
test_held_lists_unchecked_sets_of_session(void **state)
{
    struct set_table *t = table_new(5);
    uint32_t out[5] = {0};
    uint64_t e2;
    (void)state;

    assign_ok(t, 0, SESSION_A, "n1");
    assign_ok(t, 1, SESSION_B, "n2");
    e2 = assign_ok(t, 2, SESSION_A, "n1");
    assign_ok(t, 3, SESSION_A, "n1");
    assert_int_equal(set_table_begin_check(t, 2, e2), 0);

    assert_int_equal(set_table_held(t, SESSION_A, out, 5), 2);
    assert_int_equal(out[0], 0);
    assert_int_equal(out[1], 3);
    assert_int_equal(set_table_held(t, SESSION_B, out, 5), 1);
    assert_int_equal(out[0], 1);
    assert_int_equal(set_table_held(t, 999, out, 5), 0);

    /* A short buffer gets the first ones; the count is still the total. */
    out[1] = 4242;
    assert_int_equal(set_table_held(t, SESSION_A, out, 1), 2);
    assert_int_equal(out[0], 0);
    assert_int_equal(out[1], 4242);
    set_table_free(t);
}

static void
test_counted_never_picked_or_assigned(void **state)
{
    struct set_table *t = table_new(3);
    uint64_t e, dummy = 0;
    (void)state;

    for (uint32_t set = 0; set < 3; set += 2) {
        e = assign_ok(t, set, SESSION_A, "n1");
        assert_int_equal(set_table_begin_check(t, set, e), 0);
        assert_int_equal(set_table_accept(t, set, e), 0);
    }
    assert_int_equal(set_table_pick(t, "n1"), 1);
    assert_int_equal(set_table_assign(t, 0, SESSION_A, "n1", &dummy), -1);
    assert_int_equal(set_table_assign(t, 2, SESSION_A, "n1", &dummy), -1);
    assign_ok(t, 1, SESSION_A, "n1");
    assert_int_equal(set_table_pick(t, "n1"), -1);
    assert_int_equal(set_table_assign(t, 1, SESSION_B, "n2", &dummy), -1);
    set_table_free(t);
}

static void
test_assign_rejects_bad_arguments(void **state)
{
    struct set_table *t = table_new(1);
    uint64_t e = 0;
    (void)state;

    assert_int_equal(set_table_assign(t, 1, SESSION_A, "n1", &e), -1);
    assert_int_equal(set_table_assign(t, 0, 0, "n1", &e), -1);
    expect_status(t, 0, SET_AVAILABLE);
    assert_int_equal(set_table_get(t, 0)->epoch, 0);
    set_table_free(t);
}

/* ---- the seeded random walk ---------------------------------------- */

#define PROP_OPS 100000
#define PROP_SETS_MAX 24
#define PROP_NODES 4

/* What the header promises, kept independently of sets.c. */
struct model_set {
    enum set_status status;
    uint64_t epoch;
    uint64_t holder;
    int checking;
    unsigned failed_nodes; /* bit k: failed on node k */
};

struct model {
    uint32_t n;
    struct model_set s[PROP_SETS_MAX];
    struct set_info counted[PROP_SETS_MAX]; /* snapshot when it became D */
};

static uint64_t
rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static const char *
node_name(unsigned k)
{
    static const char *const names[PROP_NODES] = {"n0", "n1", "n2", "n3"};
    return names[k];
}

static unsigned
node_of_session(uint64_t session)
{
    return (unsigned)(session - 1);
}

static uint32_t
popcount(unsigned v)
{
    uint32_t c = 0;
    for (; v != 0; v &= v - 1)
        c++;
    return c;
}

static int64_t
model_pick(const struct model *m, unsigned node)
{
    int64_t fallback = -1;
    for (uint32_t i = 0; i < m->n; i++) {
        if (m->s[i].status != SET_AVAILABLE && m->s[i].status != SET_FAILED)
            continue;
        if (!(m->s[i].failed_nodes & 1u << node))
            return i;
        if (fallback == -1)
            fallback = i;
    }
    return fallback;
}

static int
model_current(const struct model *m, uint32_t set, uint64_t epoch)
{
    return set < m->n && m->s[set].status == SET_PROCESSING &&
           m->s[set].epoch == epoch;
}

static void
model_to_failed(struct model_set *s)
{
    s->failed_nodes |= 1u << node_of_session(s->holder);
    s->status = SET_FAILED;
    s->epoch++;
    s->holder = 0;
    s->checking = 0;
}

/* Everything the table says must match the model. */
static void
check_against_model(const struct set_table *t, struct model *m,
                    const uint64_t *prev_epoch, long step)
{
    uint32_t counted = 0;
    for (uint32_t i = 0; i < m->n; i++) {
        const struct set_info *s = set_table_get(t, i);
        const struct model_set *w = &m->s[i];
        if (s->epoch < prev_epoch[i])
            fail_msg("step %ld: set %u epoch went down %llu -> %llu", step, i,
                     (unsigned long long)prev_epoch[i],
                     (unsigned long long)s->epoch);
        if (s->status != w->status || s->epoch != w->epoch ||
            s->holder != w->holder || !s->checking != !w->checking)
            fail_msg("step %ld: set %u is %c epoch %llu holder %llu "
                     "checking %d; want %c %llu %llu %d",
                     step, i, (char)s->status, (unsigned long long)s->epoch,
                     (unsigned long long)s->holder, s->checking,
                     (char)w->status, (unsigned long long)w->epoch,
                     (unsigned long long)w->holder, w->checking);
        if (s->status == SET_COUNTED) {
            counted++;
            if (memcmp(s, &m->counted[i], sizeof(*s)) != 0)
                fail_msg("step %ld: counted set %u changed", step, i);
        }
    }
    assert_int_equal(set_table_count(t, SET_COUNTED), counted);
    assert_int_equal(set_table_done(t), counted == m->n);
    for (unsigned k = 0; k < PROP_NODES; k++) {
        int64_t got = set_table_pick(t, node_name(k)), want = model_pick(m, k);
        if (got != want)
            fail_msg("step %ld: pick for %s gave %lld, want %lld", step,
                     node_name(k), (long long)got, (long long)want);
    }
}

/* One random operation, with an epoch that is usually current and
 * sometimes stale. Returns after checking the outcome against the model. */
static void
random_op(struct set_table *t, struct model *m, uint64_t *rng, long step)
{
    unsigned node = (unsigned)(rng_next(rng) % PROP_NODES);
    uint64_t session = node + 1;
    uint32_t set = (uint32_t)(rng_next(rng) % (m->n + 1)); /* may be out */
    unsigned op = (unsigned)(rng_next(rng) % 7);
    uint64_t epoch, cur = set < m->n ? m->s[set].epoch : 0;
    uint32_t nodes = 0;
    int rc, want;

    switch (rng_next(rng) % 4) {
    case 0:
        epoch = cur > 0 ? cur - 1 : 0;
        break;
    case 1:
        epoch = cur + 1;
        break;
    default:
        epoch = cur;
        break;
    }
    struct model_set *w = set < m->n ? &m->s[set] : NULL;

    switch (op) {
    case 0: /* pick, then assign what was picked */
    case 1: {
        int64_t p = set_table_pick(t, node_name(node));
        uint64_t got = 0;
        if (op == 0 && p >= 0)
            set = (uint32_t)p;
        w = set < m->n ? &m->s[set] : NULL;
        want =
            w != NULL && (w->status == SET_AVAILABLE || w->status == SET_FAILED)
                ? 0
                : -1;
        rc = set_table_assign(t, set, session, node_name(node), &got);
        if (rc == 0 && w != NULL) {
            w->status = SET_PROCESSING;
            w->epoch++;
            w->holder = session;
            w->checking = 0;
            assert_int_equal(got, w->epoch);
        }
        break;
    }
    case 2:
        want = model_current(m, set, epoch) && !w->checking ? 0 : -1;
        rc = set_table_fail(t, set, epoch, "random failure", &nodes);
        if (rc == 0 && want == 0) {
            model_to_failed(w);
            assert_int_equal(nodes, popcount(w->failed_nodes));
        }
        break;
    case 3:
        want = model_current(m, set, epoch) && !w->checking ? 0 : -1;
        rc = set_table_unassign(t, set, epoch);
        if (rc == 0 && want == 0) {
            w->status = SET_AVAILABLE;
            w->epoch++;
            w->holder = 0;
        }
        break;
    case 4:
        want = model_current(m, set, epoch) && !w->checking ? 0 : -1;
        rc = set_table_begin_check(t, set, epoch);
        if (rc == 0 && want == 0)
            w->checking = 1;
        break;
    case 5:
        want = model_current(m, set, epoch) && w->checking ? 0 : -1;
        rc = set_table_accept(t, set, epoch);
        if (rc == 0 && want == 0) {
            w->status = SET_COUNTED;
            w->holder = 0;
            w->checking = 0;
            m->counted[set] = *set_table_get(t, set);
        }
        break;
    default:
        want = model_current(m, set, epoch) && w->checking ? 0 : -1;
        rc = set_table_reject(t, set, epoch, "random reject", &nodes);
        if (rc == 0 && want == 0) {
            model_to_failed(w);
            assert_int_equal(nodes, popcount(w->failed_nodes));
        }
        break;
    }
    if (rc != want)
        fail_msg("step %ld: op %u on set %u epoch %llu (current %llu) by "
                 "%s: got %d, want %d",
                 step, op, set, (unsigned long long)epoch,
                 (unsigned long long)cur, node_name(node), rc, want);
}

/* A service's job takes epochs from its base: the floor raises every
 * epoch below it and leaves the ones above alone; the next assignment of
 * a set at the floor is floor + 1; an old epoch is stale. */
/* A backup: only of a set in B, not under check, by another node, one at
 * a time; both attempts valid, one check at a time; the max epoch counts
 * it, and no later epoch repeats it. */
static void
test_backup_second_attempt(void **state)
{
    struct set_table *t = table_new(2);
    uint64_t e1, e2 = 0, e3 = 0;
    (void)state;

    assert_int_equal(set_table_backup(t, 0, SESSION_B, "b", &e2), -1); /* A */
    e1 = assign_ok(t, 0, SESSION_A, "a");
    assert_int_equal(set_table_backup(t, 0, SESSION_B, "a", &e2), -1);
    assert_int_equal(set_table_backup(t, 0, 0, "b", &e2), -1);
    assert_int_equal(set_table_backup(t, 0, SESSION_B, "b", &e2), 0);
    assert_true(e2 > e1);
    assert_int_equal(set_table_backup(t, 0, SESSION_B + 1, "c", &e3), -1);
    assert_true(set_table_holds(t, 0, SESSION_A, e1));
    assert_true(set_table_holds(t, 0, SESSION_B, e2));
    assert_false(set_table_holds(t, 0, SESSION_A, e2));
    assert_int_equal(set_table_max_epoch(t), e2);
    /* The backup's done under check: the first attempt's waits. */
    assert_int_equal(set_table_begin_check(t, 0, e2), 0);
    assert_int_equal(set_table_begin_check(t, 0, e1), -1);
    assert_int_equal(set_table_reject(t, 0, e2, "bad", NULL), 0);
    expect_status(t, 0, SET_PROCESSING); /* a's attempt goes on */
    assert_false(set_table_holds(t, 0, SESSION_B, e2));
    assert_int_equal(set_table_get(t, 0)->failures, 1);
    /* a fails too: C at an epoch above the backup's. */
    assert_int_equal(set_table_fail(t, 0, e1, "bad", NULL), 0);
    expect_status(t, 0, SET_FAILED);
    assert_true(set_table_get(t, 0)->epoch > e2);
    set_table_free(t);
}

static void
test_epoch_floor_and_max(void **state)
{
    struct set_table *t = table_new(3);
    const uint64_t floor = (uint64_t)5 << 24;
    uint64_t e;
    (void)state;

    assert_int_equal(set_table_max_epoch(t), 0);
    e = assign_ok(t, 2, SESSION_A, "n1");
    assert_int_equal(e, 1);
    assert_int_equal(set_table_max_epoch(t), 1);

    set_table_epoch_floor(t, floor);
    for (uint32_t set = 0; set < 3; set++)
        assert_int_equal(set_table_get(t, set)->epoch, floor);
    assert_int_equal(set_table_max_epoch(t), floor);
    /* Still held, at the floor now: the attempt at epoch 1 is stale. */
    expect_status(t, 2, SET_PROCESSING);
    assert_int_equal(set_table_begin_check(t, 2, 1), -1);
    assert_int_equal(set_table_fail(t, 2, 1, "old", NULL), -1);

    e = assign_ok(t, 0, SESSION_B, "n2");
    assert_int_equal(e, floor + 1);
    assert_int_equal(set_table_max_epoch(t), floor + 1);
    /* A lower floor changes nothing: epochs only grow. */
    set_table_epoch_floor(t, 7);
    assert_int_equal(set_table_get(t, 0)->epoch, floor + 1);
    assert_int_equal(set_table_get(t, 1)->epoch, floor);
    assert_int_equal(set_table_max_epoch(t), floor + 1);
    /* A floor between them raises only the lower ones. */
    set_table_epoch_floor(t, floor + 1);
    assert_int_equal(set_table_get(t, 1)->epoch, floor + 1);
    assert_int_equal(set_table_get(t, 0)->epoch, floor + 1);
    expect_status(t, 0, SET_PROCESSING);
    assert_int_equal(set_table_begin_check(t, 0, floor + 1), 0);
    set_table_free(t);
}

static void
test_random_walk_matches_contract(void **state)
{
    uint64_t rng = 0xf00dfacecafe1234ull, prev[PROP_SETS_MAX];
    struct set_table *t = NULL;
    struct model m;
    long tables = 0;
    (void)state;

    for (long step = 0; step < PROP_OPS; step++) {
        if (t == NULL || set_table_done(t)) {
            set_table_free(t);
            memset(&m, 0, sizeof(m));
            m.n = 1 + (uint32_t)(rng_next(&rng) % PROP_SETS_MAX);
            for (uint32_t i = 0; i < m.n; i++)
                m.s[i].status = SET_AVAILABLE;
            t = table_new(m.n);
            tables++;
        }
        for (uint32_t i = 0; i < m.n; i++)
            prev[i] = set_table_get(t, i)->epoch;
        random_op(t, &m, &rng, step);
        check_against_model(t, &m, prev, step);
    }
    set_table_free(t);
    assert_true(tables > 10); /* the walk did finish jobs */
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_lifecycle),
        cmocka_unit_test(test_lose_counted),
        cmocka_unit_test(test_epochs_grow_on_assign_and_fail),
        cmocka_unit_test(test_stale_fail_rejected),
        cmocka_unit_test(test_duplicate_done_rejected),
        cmocka_unit_test(test_accept_needs_begin_check),
        cmocka_unit_test(test_reject_then_reassign),
        cmocka_unit_test(test_pick_prefers_sets_not_failed_on_node),
        cmocka_unit_test(test_unassign_counts_no_failure),
        cmocka_unit_test(test_failed_on_distinct_nodes),
        cmocka_unit_test(test_held_lists_unchecked_sets_of_session),
        cmocka_unit_test(test_counted_never_picked_or_assigned),
        cmocka_unit_test(test_assign_rejects_bad_arguments),
        cmocka_unit_test(test_backup_second_attempt),
        cmocka_unit_test(test_epoch_floor_and_max),
        cmocka_unit_test(test_random_walk_matches_contract),
        cmocka_unit_test(test_out_of_memory_changes_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
