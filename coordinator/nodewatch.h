/*
 * nodewatch.h - the circuit breaker of one connected render node: the one
 * place that decides whether a node may be given work. It watches what
 * the node's thread hears (heartbeats: a silent node turns suspect), what
 * the share shows (a lease that stopped advancing), the node's failures
 * and the checks of its results, and the breaker the node's name ended
 * its last session with (an open or half-open one carries over, so
 * reconnecting never closes a breaker). It also counts the sets in the node's
 * hands against its slots.
 *
 * Pure: time comes in as now_ms; it never reads a clock, a socket or a
 * file. One instance per node session, owned by the ambassador core
 * (amb_core.c, the loop thread); the simulation drives the same code.
 * The node's thread (nodeconn.c) only moves bytes and keeps time for
 * heartbeats: it reports silence and death, and this decides.
 */
#ifndef FF_NODEWATCH_H
#define FF_NODEWATCH_H

#include <stdbool.h>
#include <stdint.h>

#include "common/breaker.h"
#include "coordinator/config.h"

struct nodewatch_held {
    uint32_t set;
    uint64_t epoch;
};

struct nodewatch {
    struct breaker br;
    enum breaker_state reported; /* the state last logged */
    int slots;
    struct nodewatch_held held[CONFIG_MAX_SLOTS]; /* assigned, unreported */
    int nheld;
    bool suspect;     /* silent past suspect_ms (its thread says) */
    bool lease_stale; /* its lease stopped advancing while it is connected */
    uint64_t declined_until; /* it declined a set (busy, fenced, its share
                                gone): no offer before then */
};

/* A fresh breaker (seeded for its jitter) and no sets in hand. */
void nodewatch_init(struct nodewatch *w, const struct breaker_config *bc,
                    uint64_t seed, int slots);
/* The name's breaker from its last session applies from now on. A
 * half-open probe that session took ended with it: this one probes
 * afresh. */
void nodewatch_carry(struct nodewatch *w, const struct breaker *last);
/* A set is in the node's hands (assigned, or listed in its hello). 0, or
 * -1 when every slot is taken. */
int nodewatch_hold(struct nodewatch *w, uint32_t set, uint64_t epoch);
/* The node reported the set (done or fail), or it was cancelled. 1 when it
 * was held. */
int nodewatch_release(struct nodewatch *w, uint32_t set, uint64_t epoch);
/* May the node be offered a set now? Changes nothing: no probe is taken.
 */
bool nodewatch_can_take(const struct nodewatch *w, uint64_t now_ms);
/* Could the node work at all, busy or not: heard, its lease advancing,
 * its breaker not cooling down? (A set held back from a node it failed on
 * waits only for nodes that can work.) */
bool nodewatch_usable(const struct nodewatch *w, uint64_t now_ms);
/* A set is being handed to the node: takes the half-open probe. Call only
 * after nodewatch_can_take said yes; returns what breaker_allow says. */
bool nodewatch_take(struct nodewatch *w, uint64_t now_ms);
/* The outcome of one of its sets: a failure it reported, or the check of
 * a result it sent (a result refused as stale or duplicate counts as a
 * failure, as before). */
void nodewatch_outcome(struct nodewatch *w, bool ok, uint64_t now_ms,
                       const char *why);
/* It declined a set for its environment (no free slot, fenced, its share
 * gone): not a failure of the set or of the node's rendering, so the
 * breaker is not charged; it is offered nothing before until_ms. */
void nodewatch_decline(struct nodewatch *w, uint64_t until_ms);
/* Liveness lost (heartbeat timeout, protocol error): open at once. */
void nodewatch_trip(struct nodewatch *w, uint64_t now_ms, const char *why);
/* Its thread says it turned silent (on) or is heard again (off). */
void nodewatch_suspect(struct nodewatch *w, bool on);
/* Its lease stopped advancing (stale) or advances again. Trips the
 * breaker when it becomes stale. 1 when this changed the lease state. */
int nodewatch_lease(struct nodewatch *w, bool stale, uint64_t now_ms);
/* 1 when the breaker's state differs from the one last reported, which
 * becomes the reported one. */
int nodewatch_changed(struct nodewatch *w);

#endif
