/*
 * breaker.h - a circuit breaker around something that can keep failing:
 * the ambassador keeps one per connected node, a render node one per
 * hardware encoder. Closed (work flows), open (no work until a cool-down
 * passes), half-open (exactly one probe set admitted; its outcome closes or
 * re-opens the breaker). Opens on lost liveness, on N consecutive failures,
 * or when at least half of the last W outcomes failed. The cool-down
 * doubles on each re-open up to a cap, with full jitter. Pure: time comes
 * in as now_ms, randomness from a seeded generator. Not thread-safe: one
 * owner (a node's thread on the ambassador; on a render node, encsel under
 * its mutex).
 */
#ifndef FF_BREAKER_H
#define FF_BREAKER_H

#include <stdbool.h>
#include <stdint.h>

#define BREAKER_DEFAULT_CONSECUTIVE 3
#define BREAKER_DEFAULT_WINDOW 10
#define BREAKER_DEFAULT_WINDOW_MIN 4 /* outcomes before the ratio counts */
#define BREAKER_DEFAULT_COOLDOWN_MS 10000
#define BREAKER_DEFAULT_COOLDOWN_MAX_MS 300000
#define BREAKER_WINDOW_MAX 32

enum breaker_state { BREAKER_CLOSED, BREAKER_OPEN, BREAKER_HALF_OPEN };

struct breaker_config {
    uint32_t consecutive; /* failures in a row that open it */
    uint32_t window;      /* outcomes remembered (<= BREAKER_WINDOW_MAX) */
    uint32_t window_min;  /* outcomes needed before the ratio applies */
    uint64_t cooldown_ms, cooldown_max_ms;
};

struct breaker {
    struct breaker_config cfg;
    enum breaker_state state;
    uint32_t consecutive;
    uint32_t history;   /* bit i = outcome i ago failed */
    uint32_t recorded;  /* outcomes in history, <= window */
    uint32_t opens;     /* times opened since last closed */
    uint64_t reopen_ms; /* OPEN: when a probe may go */
    bool probe_out;     /* HALF_OPEN: the probe is in flight */
    uint64_t rng;
    char reason[96]; /* why it last opened */
};

void breaker_config_default(struct breaker_config *c);
void breaker_init(struct breaker *b, const struct breaker_config *c,
                  uint64_t seed);
/* May this node get a set now? Moves OPEN -> HALF_OPEN once the cool-down
 * has passed; in HALF_OPEN, true exactly once (the probe). */
bool breaker_allow(struct breaker *b, uint64_t now_ms);
/* HALF_OPEN: the probe asked for was never handed out (the request was
 * withdrawn), so the next breaker_allow may ask again. */
void breaker_release_probe(struct breaker *b);
/* The outcome of a set this node held. */
void breaker_record(struct breaker *b, bool ok, uint64_t now_ms,
                    const char *why);
/* Liveness lost (missed heartbeats, lease expired): open at once. */
void breaker_trip(struct breaker *b, uint64_t now_ms, const char *why);
const char *breaker_state_name(enum breaker_state s);

#endif
