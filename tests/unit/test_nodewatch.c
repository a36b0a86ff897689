/*
 * test_nodewatch.c - the breaker of one connected node
 * (coordinator/nodewatch.h), driven by a virtual clock: the conditions
 * that keep work from a node (silence, a still lease, full slots, an open
 * breaker), the single half-open probe that only a real hand-out spends,
 * the breaker carried over from the name's last session, the lease trip
 * that happens once per change, the state changes reported once each, and
 * the sets it holds.
 */
#include "tests/unit/unit.h"

#include "coordinator/nodewatch.h"

#define COOLDOWN_MS 1000
#define COOLDOWN_MAX_MS 8000
#define T0 1000000 /* virtual start time */
#define SEED 7
#define SLOTS 2

static void
watch_new(struct nodewatch *w, int slots)
{
    struct breaker_config c;
    breaker_config_default(&c);
    c.cooldown_ms = COOLDOWN_MS;
    c.cooldown_max_ms = COOLDOWN_MAX_MS;
    nodewatch_init(w, &c, SEED, slots);
}

static void
expect_state(const struct nodewatch *w, enum breaker_state want)
{
    if (w->br.state != want)
        fail_msg("breaker is %s, want %s", breaker_state_name(w->br.state),
                 breaker_state_name(want));
}

static void
expect_can_take(const struct nodewatch *w, uint64_t now, bool want,
                const char *what)
{
    bool got = nodewatch_can_take(w, now);
    if (got != want)
        fail_msg("%s: can_take at +%llu ms is %s, want %s (breaker %s, "
                 "suspect %d, lease stale %d, %d of %d slots held)",
                 what, (unsigned long long)(now - T0), got ? "yes" : "no",
                 want ? "yes" : "no", breaker_state_name(w->br.state),
                 w->suspect, w->lease_stale, w->nheld, w->slots);
}

static void
expect_changed(struct nodewatch *w, int want, const char *what)
{
    int got = nodewatch_changed(w);
    if (got != want)
        fail_msg("%s: changed() %d, want %d (breaker %s, reported %s)", what,
                 got, want, breaker_state_name(w->br.state),
                 breaker_state_name(w->reported));
}

static void
test_fresh_node_takes_work_up_to_its_slots(void **state)
{
    struct nodewatch w;
    (void)state;

    watch_new(&w, SLOTS);
    expect_state(&w, BREAKER_CLOSED);
    assert_int_equal(w.nheld, 0);
    expect_can_take(&w, T0, true, "fresh");
    assert_true(nodewatch_take(&w, T0));
    assert_int_equal(nodewatch_hold(&w, 0, 1), 0);
    expect_can_take(&w, T0, true, "one of two slots held");
    assert_true(nodewatch_take(&w, T0));
    assert_int_equal(nodewatch_hold(&w, 1, 1), 0);
    expect_can_take(&w, T0, false, "all slots held");

    /* A report frees its slot. */
    assert_int_equal(nodewatch_release(&w, 0, 1), 1);
    expect_can_take(&w, T0, true, "slot freed");
    expect_changed(&w, 0, "closed all along");
}

static void
test_slots_clamped_to_max(void **state)
{
    struct nodewatch w;
    (void)state;

    watch_new(&w, CONFIG_MAX_SLOTS + 10);
    assert_int_equal(w.slots, CONFIG_MAX_SLOTS);
    watch_new(&w, 0);
    expect_can_take(&w, T0, false, "no slots at all");
}

static void
test_suspect_blocks_until_heard_again(void **state)
{
    struct nodewatch w;
    (void)state;

    watch_new(&w, SLOTS);
    nodewatch_suspect(&w, true);
    expect_can_take(&w, T0, false, "suspect");
    expect_can_take(&w, T0 + 60000, false, "still suspect, later");
    /* Silence alone does not open the breaker (a timeout trips it). */
    expect_state(&w, BREAKER_CLOSED);
    expect_changed(&w, 0, "suspect");
    nodewatch_suspect(&w, false);
    expect_can_take(&w, T0, true, "heard again");
}

static void
test_stale_lease_trips_once_and_blocks(void **state)
{
    struct nodewatch w;
    uint64_t reopen;
    (void)state;

    watch_new(&w, SLOTS);
    assert_int_equal(nodewatch_lease(&w, false, T0), 0); /* no change */
    expect_state(&w, BREAKER_CLOSED);

    assert_int_equal(nodewatch_lease(&w, true, T0), 1);
    assert_true(w.lease_stale);
    expect_state(&w, BREAKER_OPEN);
    assert_string_equal(w.br.reason, "its lease stopped advancing");
    assert_int_equal(w.br.opens, 1);
    reopen = w.br.reopen_ms;
    assert_in_range(reopen, T0, T0 + COOLDOWN_MS);

    /* Still stale at the next look: no second trip, the cool-down stands. */
    assert_int_equal(nodewatch_lease(&w, true, T0 + 500), 0);
    assert_int_equal(w.br.opens, 1);
    assert_int_equal(w.br.reopen_ms, reopen);

    /* Past the cool-down, a still lease alone keeps work away. */
    expect_can_take(&w, reopen + COOLDOWN_MAX_MS, false, "lease stale");
    expect_state(&w, BREAKER_OPEN);

    /* It moves again: the breaker decides, and it lets a probe through. */
    assert_int_equal(nodewatch_lease(&w, false, reopen + COOLDOWN_MAX_MS), 1);
    assert_false(w.lease_stale);
    assert_int_equal(nodewatch_lease(&w, false, reopen + COOLDOWN_MAX_MS), 0);
    expect_state(&w, BREAKER_OPEN);
    expect_can_take(&w, reopen + COOLDOWN_MAX_MS, true, "lease moves again");
}

static void
test_stale_lease_blocks_while_cooldown_runs(void **state)
{
    struct nodewatch w;
    (void)state;

    watch_new(&w, SLOTS);
    assert_int_equal(nodewatch_lease(&w, true, T0), 1);
    assert_int_equal(nodewatch_lease(&w, false, T0 + 1), 1);
    /* The lease moves again at once, but the trip it caused stands. */
    if (w.br.reopen_ms > T0 + 1)
        expect_can_take(&w, T0 + 1, false, "lease back, breaker cooling");
    expect_can_take(&w, w.br.reopen_ms, true, "cool-down over");
}

static void
test_half_open_admits_one_probe(void **state)
{
    struct nodewatch w;
    uint64_t at;
    (void)state;

    watch_new(&w, SLOTS);
    nodewatch_trip(&w, T0, "heartbeats lost");
    expect_state(&w, BREAKER_OPEN);
    at = w.br.reopen_ms;
    if (at > T0)
        expect_can_take(&w, at - 1, false, "open, cooling");

    /* Looking does not spend the probe, however often. */
    for (int i = 0; i < 5; i++)
        expect_can_take(&w, at, true, "cool-down over, probe not taken");
    expect_state(&w, BREAKER_OPEN);
    assert_false(w.br.probe_out);

    assert_true(nodewatch_take(&w, at));
    expect_state(&w, BREAKER_HALF_OPEN);
    assert_int_equal(nodewatch_hold(&w, 0, 1), 0);
    /* One slot is still free, but the probe is out. */
    expect_can_take(&w, at, false, "probe out");
    expect_can_take(&w, at + 100000, false, "probe out, much later");
    assert_false(nodewatch_take(&w, at + 1));

    /* The probe succeeds: closed, work flows again. */
    assert_int_equal(nodewatch_release(&w, 0, 1), 1);
    nodewatch_outcome(&w, true, at + 2, "");
    expect_state(&w, BREAKER_CLOSED);
    expect_can_take(&w, at + 2, true, "probe succeeded");
    assert_true(nodewatch_take(&w, at + 2));
    assert_true(nodewatch_take(&w, at + 2));
}

static void
test_failed_probe_reopens(void **state)
{
    struct nodewatch w;
    uint64_t at;
    (void)state;

    watch_new(&w, SLOTS);
    nodewatch_trip(&w, T0, "heartbeats lost");
    at = w.br.reopen_ms;
    assert_true(nodewatch_take(&w, at));
    nodewatch_outcome(&w, false, at + 1, "the node failed a set");
    expect_state(&w, BREAKER_OPEN);
    assert_string_equal(w.br.reason, "the node failed a set");
    if (w.br.reopen_ms > at + 1)
        expect_can_take(&w, at + 1, false, "probe failed");
}

static void
test_failures_open_the_breaker(void **state)
{
    struct nodewatch w;
    (void)state;

    watch_new(&w, SLOTS);
    for (uint64_t i = 0; i + 1 < BREAKER_DEFAULT_CONSECUTIVE; i++) {
        nodewatch_outcome(&w, false, T0 + i, "the node failed a set");
        expect_can_take(&w, T0 + i, true, "fewer failures than the limit");
    }
    nodewatch_outcome(&w, false, T0 + BREAKER_DEFAULT_CONSECUTIVE,
                      "the node failed a set");
    expect_state(&w, BREAKER_OPEN);
    if (w.br.reopen_ms > T0 + BREAKER_DEFAULT_CONSECUTIVE)
        expect_can_take(&w, T0 + BREAKER_DEFAULT_CONSECUTIVE, false,
                        "failures in a row up to the limit");
    expect_changed(&w, 1, "opened by failures");
}

/* The name's breaker from its last session applies: reconnecting never
 * resets it, and a probe that session took ended with it. */
static void
test_carry_over_applies_and_releases_probe(void **state)
{
    struct nodewatch last, w;
    uint64_t at;
    (void)state;

    /* The last session was half-open with its probe out when it ended. */
    watch_new(&last, SLOTS);
    nodewatch_trip(&last, T0, "heartbeats lost");
    at = last.br.reopen_ms;
    assert_true(nodewatch_take(&last, at));
    assert_true(last.br.probe_out);

    watch_new(&w, SLOTS);
    nodewatch_carry(&w, &last.br);
    expect_state(&w, BREAKER_HALF_OPEN);
    assert_false(w.br.probe_out);
    assert_int_equal(w.br.opens, last.br.opens);
    expect_changed(&w, 0, "carried over: already the reported state");
    expect_can_take(&w, at + 1, true, "carried half-open, probe released");
    assert_true(nodewatch_take(&w, at + 1));
    expect_can_take(&w, at + 1, false, "new session's probe out");
    /* The last session's struct is a copy: it is not touched. */
    assert_true(last.br.probe_out);
}

static void
test_carry_over_of_open_breaker_keeps_cooldown(void **state)
{
    struct nodewatch last, w;
    uint64_t reopen;
    (void)state;

    watch_new(&last, SLOTS);
    nodewatch_trip(&last, T0, "heartbeats lost");
    reopen = last.br.reopen_ms;

    watch_new(&w, SLOTS);
    nodewatch_carry(&w, &last.br);
    expect_state(&w, BREAKER_OPEN);
    assert_int_equal(w.br.reopen_ms, reopen);
    assert_string_equal(w.br.reason, "heartbeats lost");
    expect_changed(&w, 0, "carried over open");
    if (reopen > T0)
        expect_can_take(&w, reopen - 1, false, "carried open, cooling");
    expect_can_take(&w, reopen, true, "carried open, cool-down over");
}

static void
test_changed_reports_each_change_once(void **state)
{
    struct nodewatch w;
    uint64_t at;
    (void)state;

    watch_new(&w, SLOTS);
    expect_changed(&w, 0, "fresh");
    nodewatch_trip(&w, T0, "heartbeats lost");
    expect_changed(&w, 1, "closed -> open");
    expect_changed(&w, 0, "open, asked again");
    at = w.br.reopen_ms;
    (void)nodewatch_can_take(&w, at);
    expect_changed(&w, 0, "can_take changes nothing");
    assert_true(nodewatch_take(&w, at));
    expect_changed(&w, 1, "open -> half-open");
    expect_changed(&w, 0, "half-open, asked again");
    nodewatch_outcome(&w, true, at, "");
    expect_changed(&w, 1, "half-open -> closed");
    expect_changed(&w, 0, "closed, asked again");

    /* Open and closed again between two looks: nothing to report. */
    nodewatch_trip(&w, at + 1, "x");
    assert_true(nodewatch_take(&w, w.br.reopen_ms));
    nodewatch_outcome(&w, true, w.br.reopen_ms, "");
    expect_state(&w, BREAKER_CLOSED);
    expect_changed(&w, 0, "back where it was last reported");
}

static void
test_hold_and_release(void **state)
{
    struct nodewatch w;
    (void)state;

    watch_new(&w, SLOTS);
    /* A hello may list more sets than slots (results still unreported):
     * they are held, up to CONFIG_MAX_SLOTS. */
    for (uint32_t set = 0; set < CONFIG_MAX_SLOTS; set++)
        if (nodewatch_hold(&w, set, set + 1) != 0)
            fail_msg("hold of set %u refused with %d held, want accepted up "
                     "to %d",
                     set, w.nheld, CONFIG_MAX_SLOTS);
    assert_int_equal(w.nheld, CONFIG_MAX_SLOTS);
    assert_int_equal(nodewatch_hold(&w, 99, 1), -1);
    assert_int_equal(w.nheld, CONFIG_MAX_SLOTS);
    expect_can_take(&w, T0, false, "more held than slots");

    assert_int_equal(nodewatch_release(&w, 99, 1), 0); /* refused above */
    assert_int_equal(nodewatch_release(&w, 3, 3), 0);  /* wrong epoch */
    assert_int_equal(w.nheld, CONFIG_MAX_SLOTS);
    assert_int_equal(nodewatch_release(&w, 3, 4), 1);
    assert_int_equal(nodewatch_release(&w, 3, 4), 0); /* only once */
    assert_int_equal(w.nheld, CONFIG_MAX_SLOTS - 1);
    /* The others are still there. */
    for (uint32_t set = 0; set < CONFIG_MAX_SLOTS; set++)
        if (set != 3 && nodewatch_release(&w, set, set + 1) != 1)
            fail_msg("set %u epoch %u: no longer held after releasing set 3",
                     set, set + 1);
    assert_int_equal(w.nheld, 0);
    expect_can_take(&w, T0, true, "all released");
    assert_int_equal(nodewatch_release(&w, 0, 1), 0); /* empty */
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fresh_node_takes_work_up_to_its_slots),
        cmocka_unit_test(test_slots_clamped_to_max),
        cmocka_unit_test(test_suspect_blocks_until_heard_again),
        cmocka_unit_test(test_stale_lease_trips_once_and_blocks),
        cmocka_unit_test(test_stale_lease_blocks_while_cooldown_runs),
        cmocka_unit_test(test_half_open_admits_one_probe),
        cmocka_unit_test(test_failed_probe_reopens),
        cmocka_unit_test(test_failures_open_the_breaker),
        cmocka_unit_test(test_carry_over_applies_and_releases_probe),
        cmocka_unit_test(test_carry_over_of_open_breaker_keeps_cooldown),
        cmocka_unit_test(test_changed_reports_each_change_once),
        cmocka_unit_test(test_hold_and_release),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
