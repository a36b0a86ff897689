/*
 * liveness.c - see liveness.h.
 */
#include "coordinator/liveness.h"

#include <string.h>

void
liveness_init(struct liveness *l, uint64_t now_ms)
{
    memset(l, 0, sizeof(*l));
    l->lease_seen_ms = now_ms;
    l->lost_ms = now_ms;
}

int
liveness_lease(struct liveness *l, uint64_t counter, uint64_t now_ms)
{
    /* Only a higher counter is news: a lower one is a stale read (NFS
     * caches) of an older record. A restarted node starts its counter
     * from the wall clock, above anything its previous process wrote. */
    if (!l->have_lease || counter > l->lease_counter) {
        l->have_lease = true;
        l->lease_counter = counter;
        l->lease_seen_ms = now_ms;
        return 1;
    }
    return 0;
}

void
liveness_lost(struct liveness *l, bool died, uint64_t now_ms)
{
    l->connected = false;
    l->died = died;
    l->lost_ms = now_ms;
}

void
liveness_connected(struct liveness *l, uint64_t now_ms)
{
    l->connected = true;
    l->died = false;
    /* A hello is proof of life too: a node whose new process could not
     * write its lease yet still gets the full reclaim time from here. */
    if (now_ms > l->lease_seen_ms)
        l->lease_seen_ms = now_ms;
    if (now_ms > l->lost_ms)
        l->lost_ms = now_ms;
}

enum liveness_verdict
liveness_judge(const struct liveness *l, uint64_t reclaim_ms, bool share_ok,
               uint64_t floor_ms, uint64_t now_ms)
{
    uint64_t since;

    if (l->connected)
        return LIVENESS_KEEP;
    if (l->died)
        return LIVENESS_RECLAIM;
    if (!share_ok)
        return LIVENESS_KEEP;
    /* Count from the lease's last advance; with no lease ever seen, from
     * when we lost the node. */
    since = l->lease_seen_ms > l->lost_ms ? l->lease_seen_ms : l->lost_ms;
    if (l->have_lease)
        since = l->lease_seen_ms;
    if (floor_ms > since)
        since = floor_ms;
    return now_ms - since >= reclaim_ms ? LIVENESS_RECLAIM : LIVENESS_KEEP;
}

uint64_t
liveness_lease_age(const struct liveness *l, uint64_t floor_ms, uint64_t now_ms)
{
    uint64_t since = l->lease_seen_ms > floor_ms ? l->lease_seen_ms : floor_ms;
    if (!l->connected || now_ms <= since)
        return 0;
    return now_ms - since;
}
