/*
 * nodewatch.c - see nodewatch.h.
 *
 * Work goes to a node only while all of these hold: it is not suspect,
 * its lease advances, it has a free slot, and its breaker allows. The
 * breaker's half-open state admits exactly one probe set; that probe is
 * taken only when a set is really handed out (can_take looks without
 * touching), so a probe is never spent on an ask that found no work.
 */
#include "coordinator/nodewatch.h"

#include <string.h>

void
nodewatch_init(struct nodewatch *w, const struct breaker_config *bc,
               uint64_t seed, int slots)
{
    memset(w, 0, sizeof(*w));
    breaker_init(&w->br, bc, seed);
    w->reported = BREAKER_CLOSED;
    w->slots = slots < CONFIG_MAX_SLOTS ? slots : CONFIG_MAX_SLOTS;
}

void
nodewatch_carry(struct nodewatch *w, const struct breaker *last)
{
    w->br = *last;
    breaker_release_probe(&w->br);
    w->reported = w->br.state;
}

int
nodewatch_hold(struct nodewatch *w, uint32_t set, uint64_t epoch)
{
    if (w->nheld >= CONFIG_MAX_SLOTS)
        return -1;
    w->held[w->nheld].set = set;
    w->held[w->nheld].epoch = epoch;
    w->nheld++;
    return 0;
}

int
nodewatch_release(struct nodewatch *w, uint32_t set, uint64_t epoch)
{
    for (int i = 0; i < w->nheld; i++) {
        if (w->held[i].set == set && w->held[i].epoch == epoch) {
            w->held[i] = w->held[--w->nheld];
            return 1;
        }
    }
    return 0;
}

bool
nodewatch_can_take(const struct nodewatch *w, uint64_t now_ms)
{
    if (w->suspect || w->lease_stale || w->nheld >= w->slots ||
        now_ms < w->declined_until)
        return false;
    switch (w->br.state) {
    case BREAKER_CLOSED:
        return true;
    case BREAKER_OPEN:
        return now_ms >= w->br.reopen_ms;
    case BREAKER_HALF_OPEN:
        return !w->br.probe_out;
    }
    return false;
}

bool
nodewatch_usable(const struct nodewatch *w, uint64_t now_ms)
{
    return !w->suspect && !w->lease_stale &&
           !(w->br.state == BREAKER_OPEN && now_ms < w->br.reopen_ms);
}

void
nodewatch_decline(struct nodewatch *w, uint64_t until_ms)
{
    if (until_ms > w->declined_until)
        w->declined_until = until_ms;
}

bool
nodewatch_take(struct nodewatch *w, uint64_t now_ms)
{
    return breaker_allow(&w->br, now_ms);
}

void
nodewatch_outcome(struct nodewatch *w, bool ok, uint64_t now_ms,
                  const char *why)
{
    breaker_record(&w->br, ok, now_ms, why);
}

void
nodewatch_trip(struct nodewatch *w, uint64_t now_ms, const char *why)
{
    breaker_trip(&w->br, now_ms, why);
}

void
nodewatch_suspect(struct nodewatch *w, bool on)
{
    w->suspect = on;
}

int
nodewatch_lease(struct nodewatch *w, bool stale, uint64_t now_ms)
{
    if (stale == w->lease_stale)
        return 0;
    /* The breaker watches the lease as well as the heartbeats: a node
     * whose lease stopped advancing has fenced itself, or writes where we
     * cannot see; it gets no work until the lease moves again. */
    if (stale)
        breaker_trip(&w->br, now_ms, "its lease stopped advancing");
    w->lease_stale = stale;
    return 1;
}

int
nodewatch_changed(struct nodewatch *w)
{
    if (w->br.state == w->reported)
        return 0;
    w->reported = w->br.state;
    return 1;
}
