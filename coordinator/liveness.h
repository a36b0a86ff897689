/*
 * liveness.h - when may the ambassador take a set back from a node it can
 * no longer hear? Pure policy: it takes what the ambassador observed (on
 * its own monotonic clock) and returns a verdict; it never reads a clock,
 * a socket or a file. Owned by the loop thread (one struct per node name).
 *
 * The rules (../shared/research/reliability.md §3.4):
 * - a session that ended because the node's process died (the connection
 *   closed without a "detach") loses its sets at once;
 * - a node we cannot hear (heartbeat timeout, cable, SIGSTOP, or a detach)
 *   keeps its sets while its lease file keeps advancing, and loses them
 *   reclaim_ms after the lease last advanced (the node fences itself
 *   earlier, at fence_ms < reclaim_ms after its last renewal, so it has
 *   stopped before we reclaim);
 * - a lease that no longer lists a set means the node gave it up: reclaim;
 * - while the share is sick, lease-based reclaim pauses (every lease would
 *   look dead at once); process-death reclaim does not need the share.
 * Safety never depends on these timings: a late result carries an old
 * epoch and is rejected. They only decide how fast work is reclaimed.
 */
#ifndef FF_LIVENESS_H
#define FF_LIVENESS_H

#include <stdbool.h>
#include <stdint.h>

struct liveness {
    bool connected;         /* a session with this name is open */
    bool died;              /* the last session ended by process death */
    bool have_lease;        /* a valid lease record was ever read */
    uint64_t lease_counter; /* last counter seen */
    uint64_t lease_seen_ms; /* ambassador clock: when it last advanced */
    uint64_t lost_ms;       /* ambassador clock: when we stopped hearing */
};

enum liveness_verdict {
    LIVENESS_KEEP,    /* leave the node's sets where they are */
    LIVENESS_RECLAIM, /* take them back now */
};

void liveness_init(struct liveness *l, uint64_t now_ms);
/* A lease record was read with this counter. Only a higher counter is an
 * advance (a lower one is a stale read); returns 1 on an advance. */
int liveness_lease(struct liveness *l, uint64_t counter, uint64_t now_ms);
/* The session closed: died = closed without detach (process death). */
void liveness_lost(struct liveness *l, bool died, uint64_t now_ms);
/* A session said hello: counts as a sign of life for the reclaim clock. */
void liveness_connected(struct liveness *l, uint64_t now_ms);
/* A connected node's lease: how long it has gone without advancing,
 * counted from no earlier than floor_ms (when the share last became
 * healthy: a lease the share could not show us is not held against the
 * node). 0 when no session is open. The loop trips the node's breaker when
 * this passes fence_ms (plus the lag of its view): by then the node has
 * fenced itself, or its writes do not reach the share we read, and work
 * given to it would be lost. */
uint64_t liveness_lease_age(const struct liveness *l, uint64_t floor_ms,
                            uint64_t now_ms);
/* May the sets this node held, and no longer reaches us about, be taken
 * back now? Its silence counts from no earlier than floor_ms (when the
 * share last became healthy, after a pass over the leases): a share
 * outage longer than reclaim_ms is not held against a node whose lease
 * we could not read meanwhile. */
enum liveness_verdict liveness_judge(const struct liveness *l,
                                     uint64_t reclaim_ms, bool share_ok,
                                     uint64_t floor_ms, uint64_t now_ms);

#endif
