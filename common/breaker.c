/*
 * breaker.c - see breaker.h.
 */
#include "common/breaker.h"

#include <stdio.h>
#include <string.h>

#define BREAKER_PCT_OPEN 50

void
breaker_config_default(struct breaker_config *c)
{
    c->consecutive = BREAKER_DEFAULT_CONSECUTIVE;
    c->window = BREAKER_DEFAULT_WINDOW;
    c->window_min = BREAKER_DEFAULT_WINDOW_MIN;
    c->cooldown_ms = BREAKER_DEFAULT_COOLDOWN_MS;
    c->cooldown_max_ms = BREAKER_DEFAULT_COOLDOWN_MAX_MS;
}

void
breaker_init(struct breaker *b, const struct breaker_config *c, uint64_t seed)
{
    memset(b, 0, sizeof(*b));
    b->cfg = *c;
    if (b->cfg.window > BREAKER_WINDOW_MAX)
        b->cfg.window = BREAKER_WINDOW_MAX;
    b->state = BREAKER_CLOSED;
    b->rng = seed != 0 ? seed : 0x9e3779b97f4a7c15ull;
}

/* xorshift64*: small, seeded, reproducible in simulations. */
static uint64_t
breaker_rand(struct breaker *b)
{
    b->rng ^= b->rng >> 12;
    b->rng ^= b->rng << 25;
    b->rng ^= b->rng >> 27;
    return b->rng * 0x2545f4914f6cdd1dull;
}

static void
breaker_open(struct breaker *b, uint64_t now_ms, const char *why)
{
    uint64_t cap = b->cfg.cooldown_ms;
    for (uint32_t i = 0; i < b->opens && cap < b->cfg.cooldown_max_ms; i++)
        cap *= 2;
    if (cap > b->cfg.cooldown_max_ms)
        cap = b->cfg.cooldown_max_ms;
    b->state = BREAKER_OPEN;
    b->opens++;
    b->probe_out = false;
    /* Full jitter: uniform in [0, cap]. */
    b->reopen_ms = now_ms + breaker_rand(b) % (cap + 1);
    snprintf(b->reason, sizeof(b->reason), "%s", why);
}

bool
breaker_allow(struct breaker *b, uint64_t now_ms)
{
    if (b->state == BREAKER_OPEN && now_ms >= b->reopen_ms) {
        b->state = BREAKER_HALF_OPEN;
        b->probe_out = false;
    }
    if (b->state == BREAKER_HALF_OPEN) {
        if (b->probe_out)
            return false;
        b->probe_out = true;
        return true;
    }
    return b->state == BREAKER_CLOSED;
}

void
breaker_release_probe(struct breaker *b)
{
    if (b->state == BREAKER_HALF_OPEN)
        b->probe_out = false;
}

static uint32_t
breaker_popcount(uint32_t v)
{
    uint32_t c = 0;
    for (; v != 0; v &= v - 1)
        c++;
    return c;
}

void
breaker_record(struct breaker *b, bool ok, uint64_t now_ms, const char *why)
{
    uint32_t mask = b->cfg.window >= BREAKER_WINDOW_MAX
                        ? UINT32_MAX
                        : (1u << b->cfg.window) - 1;

    b->history = ((b->history << 1) | (ok ? 0u : 1u)) & mask;
    if (b->recorded < b->cfg.window)
        b->recorded++;
    b->consecutive = ok ? 0 : b->consecutive + 1;

    if (b->state == BREAKER_HALF_OPEN) {
        if (ok) {
            b->state = BREAKER_CLOSED;
            b->opens = 0;
            b->probe_out = false;
            /* A fresh start: old failures no longer count. */
            b->history = 0;
            b->recorded = 0;
        } else {
            breaker_open(b, now_ms, why);
        }
        return;
    }
    if (b->state != BREAKER_CLOSED || ok)
        return;
    if (b->consecutive >= b->cfg.consecutive) {
        breaker_open(b, now_ms, why);
        return;
    }
    if (b->recorded >= b->cfg.window_min &&
        breaker_popcount(b->history) * 100 >= b->recorded * BREAKER_PCT_OPEN)
        breaker_open(b, now_ms, why);
}

void
breaker_trip(struct breaker *b, uint64_t now_ms, const char *why)
{
    breaker_open(b, now_ms, why);
}

const char *
breaker_state_name(enum breaker_state s)
{
    switch (s) {
    case BREAKER_CLOSED:
        return "closed";
    case BREAKER_OPEN:
        return "open";
    case BREAKER_HALF_OPEN:
        return "half-open";
    }
    return "?";
}
