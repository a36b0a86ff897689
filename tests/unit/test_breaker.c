/*
 * test_breaker.c - the per-node circuit breaker (common/breaker.h),
 * driven by a virtual clock: when it opens, how long it stays open (a
 * doubling, capped, fully jittered cool-down), the single half-open probe,
 * and reproducibility from the seed.
 */
#include "tests/unit/unit.h"

#include "common/breaker.h"

#define COOLDOWN_MS 1000
#define COOLDOWN_MAX_MS 8000
#define T0 1000000 /* virtual start time */
#define SEEDS 2000
#define REOPENS 7

static void
test_config(struct breaker_config *c)
{
    c->consecutive = 3;
    c->window = 10;
    c->window_min = 4;
    c->cooldown_ms = COOLDOWN_MS;
    c->cooldown_max_ms = COOLDOWN_MAX_MS;
}

static void
breaker_new(struct breaker *b, uint64_t seed)
{
    struct breaker_config c;
    test_config(&c);
    breaker_init(b, &c, seed);
}

static void
expect_state(const struct breaker *b, enum breaker_state want)
{
    if (b->state != want)
        fail_msg("breaker is %s, want %s", breaker_state_name(b->state),
                 breaker_state_name(want));
}

/* Record outcomes from a string: 'S' success, 'F' failure; the breaker
 * must stay closed until the last one, after which it must be in want. */
static void
feed(struct breaker *b, const char *outcomes, enum breaker_state want)
{
    uint64_t now = T0;
    for (const char *p = outcomes; *p != '\0'; p++, now++) {
        expect_state(b, BREAKER_CLOSED);
        assert_true(breaker_allow(b, now));
        breaker_record(b, *p == 'S', now, "set failed");
        if (p[1] != '\0' && b->state != BREAKER_CLOSED)
            fail_msg("\"%s\": %s after %td outcomes, want closed", outcomes,
                     breaker_state_name(b->state), p - outcomes + 1);
    }
    expect_state(b, want);
}

/* Open the breaker, then let its cool-down pass and take the probe. */
static uint64_t
to_half_open(struct breaker *b)
{
    uint64_t at;
    breaker_trip(b, T0, "heartbeats lost");
    expect_state(b, BREAKER_OPEN);
    at = b->reopen_ms;
    assert_true(breaker_allow(b, at));
    expect_state(b, BREAKER_HALF_OPEN);
    return at;
}

static void
test_closed_stays_closed_on_success(void **state)
{
    struct breaker b;
    (void)state;

    breaker_new(&b, 1);
    for (uint64_t i = 0; i < 1000; i++) {
        assert_true(breaker_allow(&b, T0 + i));
        breaker_record(&b, true, T0 + i, "");
    }
    expect_state(&b, BREAKER_CLOSED);
    assert_int_equal(b.opens, 0);
}

static void
test_opens_after_consecutive_failures(void **state)
{
    struct breaker b;
    (void)state;

    /* 3 of 10 failed: the ratio is fine, the run of three is not. */
    breaker_new(&b, 1);
    feed(&b, "SSSSSSSFFF", BREAKER_OPEN);
    assert_string_equal(b.reason, "set failed");
    assert_false(breaker_allow(&b, T0 + 10));

    /* Two in a row, then a success: the run starts over. */
    breaker_new(&b, 1);
    feed(&b, "SSSSSSSFFSFFS", BREAKER_CLOSED);
}

static void
test_opens_on_failure_ratio(void **state)
{
    struct breaker b;
    (void)state;

    breaker_new(&b, 1);
    feed(&b, "SFSF", BREAKER_OPEN); /* 2 of 4: at least half */

    breaker_new(&b, 1);
    feed(&b, "SFS", BREAKER_CLOSED); /* fewer than window_min outcomes */

    breaker_new(&b, 1);
    feed(&b, "SSFSSFFSF", BREAKER_CLOSED); /* 4 of 9 */
    breaker_new(&b, 1);
    feed(&b, "SSFSSFFSFF", BREAKER_OPEN); /* 5 of 10 */
}

/* Outcomes older than the window no longer count. */
static void
test_window_forgets(void **state)
{
    struct breaker_config c;
    struct breaker b;
    (void)state;

    test_config(&c);
    c.window = 4;
    c.consecutive = 100;
    breaker_init(&b, &c, 1);
    /* The last F sees S S S F in its window: 1 of 4. */
    feed(&b, "FSSSSSSF", BREAKER_CLOSED);
    feed(&b, "F", BREAKER_OPEN); /* S S F F: 2 of 4 */
}

/* A window over BREAKER_WINDOW_MAX is clamped to it. */
static void
test_window_clamped(void **state)
{
    struct breaker_config c;
    struct breaker b;
    char seq[80];
    size_t n = 0;
    (void)state;

    test_config(&c);
    c.window = 3 * BREAKER_WINDOW_MAX;
    c.consecutive = 100;
    breaker_init(&b, &c, 1);
    assert_int_equal(b.cfg.window, BREAKER_WINDOW_MAX);
    /* 40 successes, then F S F S ... F: 16 F among the last 32. */
    while (n < 40)
        seq[n++] = 'S';
    for (int i = 0; i < BREAKER_WINDOW_MAX - 1; i++)
        seq[n++] = i % 2 == 0 ? 'F' : 'S';
    seq[n] = '\0';
    feed(&b, seq, BREAKER_OPEN);
}

static void
test_open_refuses_until_cooldown(void **state)
{
    struct breaker b;
    uint64_t reopen;
    (void)state;

    breaker_new(&b, 42);
    breaker_trip(&b, T0, "lease expired");
    expect_state(&b, BREAKER_OPEN);
    reopen = b.reopen_ms;
    assert_in_range(reopen, T0 + 1, T0 + COOLDOWN_MS);
    for (uint64_t now = T0; now < reopen; now += 7)
        assert_false(breaker_allow(&b, now));
    assert_false(breaker_allow(&b, reopen - 1));
    expect_state(&b, BREAKER_OPEN);
    assert_true(breaker_allow(&b, reopen));
    expect_state(&b, BREAKER_HALF_OPEN);
}

/* A late outcome of a set given out before the breaker opened does not
 * close it. */
static void
test_outcome_while_open_keeps_it_open(void **state)
{
    struct breaker b;
    uint64_t reopen;
    (void)state;

    breaker_new(&b, 42);
    breaker_trip(&b, T0, "lease expired");
    reopen = b.reopen_ms;
    breaker_record(&b, true, T0 + 1, "");
    expect_state(&b, BREAKER_OPEN);
    assert_int_equal(b.reopen_ms, reopen);
    assert_false(breaker_allow(&b, reopen - 1));
}

static void
test_half_open_admits_one_probe(void **state)
{
    struct breaker b;
    uint64_t at;
    (void)state;

    breaker_new(&b, 7);
    at = to_half_open(&b);
    for (uint64_t i = 0; i < 100; i++)
        assert_false(breaker_allow(&b, at + i * 1000));
    expect_state(&b, BREAKER_HALF_OPEN);
}

static void
test_probe_success_closes_and_forgets(void **state)
{
    struct breaker b;
    uint64_t at;
    (void)state;

    breaker_new(&b, 7);
    feed(&b, "SFSF", BREAKER_OPEN);
    at = b.reopen_ms;
    assert_true(breaker_allow(&b, at));
    breaker_record(&b, true, at, "");
    expect_state(&b, BREAKER_CLOSED);
    assert_int_equal(b.opens, 0);
    assert_true(breaker_allow(&b, at));
    assert_true(breaker_allow(&b, at)); /* no longer one at a time */
    /* The failures before the probe are forgotten: with them, the window
     * would read S F S F S S S S F, 3 failures in 4 new outcomes. */
    feed(&b, "SSSF", BREAKER_CLOSED);
}

static void
test_probe_failure_reopens(void **state)
{
    struct breaker b;
    uint64_t at;
    (void)state;

    breaker_new(&b, 7);
    at = to_half_open(&b);
    breaker_record(&b, false, at, "probe failed");
    expect_state(&b, BREAKER_OPEN);
    assert_string_equal(b.reason, "probe failed");
    assert_in_range(b.reopen_ms, at, at + 2 * COOLDOWN_MS);
    assert_false(breaker_allow(&b, at));
    assert_int_equal(b.opens, 2);
}

static void
test_trip_opens_at_once(void **state)
{
    struct breaker b;
    (void)state;

    breaker_new(&b, 3);
    feed(&b, "SSSS", BREAKER_CLOSED);
    breaker_trip(&b, T0, "missed 3 heartbeats");
    expect_state(&b, BREAKER_OPEN);
    assert_string_equal(b.reason, "missed 3 heartbeats");
    assert_in_range(b.reopen_ms, T0, T0 + COOLDOWN_MS);
}

static uint64_t
cap_for(int k) /* the cool-down cap of the k-th re-open (0: first open) */
{
    uint64_t cap = COOLDOWN_MS;
    for (int i = 0; i < k; i++)
        cap = cap * 2 > COOLDOWN_MAX_MS ? COOLDOWN_MAX_MS : cap * 2;
    return cap;
}

/* Over many seeds, the k-th cool-down lies in [0, cap_k]; its largest
 * values approach cap_k (so the cap does double) and its smallest approach
 * 0 (full jitter); once the cap is reached it stays there. */
static void
test_cooldown_doubles_to_cap_with_full_jitter(void **state)
{
    uint64_t lo[REOPENS + 1], hi[REOPENS + 1];
    (void)state;

    for (int k = 0; k <= REOPENS; k++) {
        lo[k] = UINT64_MAX;
        hi[k] = 0;
    }
    for (uint64_t seed = 1; seed <= SEEDS; seed++) {
        struct breaker b;
        uint64_t now = T0;
        breaker_new(&b, seed * 0x9e3779b97f4a7c15ull);
        breaker_trip(&b, now, "lost");
        for (int k = 0; k <= REOPENS; k++) {
            uint64_t d;
            expect_state(&b, BREAKER_OPEN);
            assert_true(b.reopen_ms >= now);
            d = b.reopen_ms - now;
            if (d > cap_for(k))
                fail_msg("seed %llu open %d: cool-down %llu over cap %llu",
                         (unsigned long long)seed, k, (unsigned long long)d,
                         (unsigned long long)cap_for(k));
            lo[k] = d < lo[k] ? d : lo[k];
            hi[k] = d > hi[k] ? d : hi[k];
            now = b.reopen_ms;
            assert_true(breaker_allow(&b, now)); /* the probe */
            breaker_record(&b, false, now, "probe failed");
        }
    }
    for (int k = 0; k <= REOPENS; k++) {
        uint64_t cap = cap_for(k);
        if (hi[k] < cap - cap / 50 || lo[k] > cap / 50)
            fail_msg("open %d: cool-downs spread over [%llu, %llu], want "
                     "about [0, %llu]",
                     k, (unsigned long long)lo[k], (unsigned long long)hi[k],
                     (unsigned long long)cap);
        if (k > 0 && cap > cap_for(k - 1))
            assert_true(hi[k] > cap_for(k - 1));
    }
    assert_int_equal(cap_for(REOPENS), COOLDOWN_MAX_MS);
}

/* After the probe closes the breaker, the next open starts again from the
 * base cool-down. */
static void
test_cooldown_resets_after_close(void **state)
{
    (void)state;

    for (uint64_t seed = 1; seed <= SEEDS / 10; seed++) {
        struct breaker b;
        uint64_t at;
        breaker_new(&b, seed);
        at = to_half_open(&b);
        for (int k = 0; k < 4; k++) { /* the cap goes up to 8x */
            breaker_record(&b, false, at, "probe failed");
            at = b.reopen_ms;
            assert_true(breaker_allow(&b, at));
        }
        assert_int_equal(b.opens, 5);
        breaker_record(&b, true, at, "");
        expect_state(&b, BREAKER_CLOSED);
        breaker_trip(&b, at, "lost");
        assert_in_range(b.reopen_ms - at, 0, COOLDOWN_MS);
    }
}

/* Same seed and inputs, same decisions: the simulation relies on it. */
static void
test_same_seed_same_reopen_times(void **state)
{
    struct breaker a, b, c;
    int differ = 0;
    (void)state;

    breaker_new(&a, 12345);
    breaker_new(&b, 12345);
    breaker_new(&c, 54321);
    for (int k = 0; k < 20; k++) {
        uint64_t now = T0 + (uint64_t)k * 100000;
        breaker_trip(&a, now, "x");
        breaker_trip(&b, now, "x");
        breaker_trip(&c, now, "x");
        assert_int_equal(a.reopen_ms, b.reopen_ms);
        differ |= a.reopen_ms != c.reopen_ms;
        assert_true(breaker_allow(&a, a.reopen_ms));
        assert_true(breaker_allow(&b, b.reopen_ms));
        assert_true(breaker_allow(&c, c.reopen_ms));
        breaker_record(&a, k % 3 == 0, a.reopen_ms, "p");
        breaker_record(&b, k % 3 == 0, b.reopen_ms, "p");
        breaker_record(&c, k % 3 == 0, c.reopen_ms, "p");
        assert_int_equal(a.state, b.state);
    }
    assert_true(differ);
}

static void
test_state_names(void **state)
{
    (void)state;
    assert_string_equal(breaker_state_name(BREAKER_CLOSED), "closed");
    assert_string_equal(breaker_state_name(BREAKER_OPEN), "open");
    assert_string_equal(breaker_state_name(BREAKER_HALF_OPEN), "half-open");
}

static void
test_default_config(void **state)
{
    struct breaker_config c;
    (void)state;

    breaker_config_default(&c);
    assert_int_equal(c.consecutive, BREAKER_DEFAULT_CONSECUTIVE);
    assert_int_equal(c.window, BREAKER_DEFAULT_WINDOW);
    assert_int_equal(c.window_min, BREAKER_DEFAULT_WINDOW_MIN);
    assert_int_equal(c.cooldown_ms, BREAKER_DEFAULT_COOLDOWN_MS);
    assert_int_equal(c.cooldown_max_ms, BREAKER_DEFAULT_COOLDOWN_MAX_MS);
}

/* A half-open node asked for its probe set, then withdrew the ask (it went
 * suspect) before any set was handed out: the probe is not spent, and the
 * node may ask again, else it would never get work again. */
static void
test_released_probe_can_be_asked_again(void **state)
{
    struct breaker b;
    (void)state;
    breaker_new(&b, 7);
    breaker_trip(&b, 0, "lost");
    expect_state(&b, BREAKER_OPEN);
    assert_true(breaker_allow(&b, COOLDOWN_MAX_MS + 1)); /* the probe */
    expect_state(&b, BREAKER_HALF_OPEN);
    assert_false(breaker_allow(&b, COOLDOWN_MAX_MS + 2));
    breaker_release_probe(&b);
    assert_true(breaker_allow(&b, COOLDOWN_MAX_MS + 3));
    assert_false(breaker_allow(&b, COOLDOWN_MAX_MS + 4));
    /* Releasing outside half-open changes nothing. */
    breaker_record(&b, true, COOLDOWN_MAX_MS + 5, "ok");
    expect_state(&b, BREAKER_CLOSED);
    breaker_release_probe(&b);
    expect_state(&b, BREAKER_CLOSED);
    assert_true(breaker_allow(&b, COOLDOWN_MAX_MS + 6));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_closed_stays_closed_on_success),
        cmocka_unit_test(test_opens_after_consecutive_failures),
        cmocka_unit_test(test_opens_on_failure_ratio),
        cmocka_unit_test(test_window_forgets),
        cmocka_unit_test(test_window_clamped),
        cmocka_unit_test(test_open_refuses_until_cooldown),
        cmocka_unit_test(test_outcome_while_open_keeps_it_open),
        cmocka_unit_test(test_half_open_admits_one_probe),
        cmocka_unit_test(test_probe_success_closes_and_forgets),
        cmocka_unit_test(test_probe_failure_reopens),
        cmocka_unit_test(test_trip_opens_at_once),
        cmocka_unit_test(test_cooldown_doubles_to_cap_with_full_jitter),
        cmocka_unit_test(test_cooldown_resets_after_close),
        cmocka_unit_test(test_same_seed_same_reopen_times),
        cmocka_unit_test(test_state_names),
        cmocka_unit_test(test_default_config),
        cmocka_unit_test(test_released_probe_can_be_asked_again),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
