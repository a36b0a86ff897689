/*
 * setplan.c - frames per set and threads per node for `framefarm render`.
 */
#include "media/setplan.h"

uint32_t
setplan_size(uint64_t frames, int nodes)
{
    uint64_t n = nodes > 0 ? (uint64_t)nodes : 1;
    uint64_t sets = n, size;

    /* Sets of at most SETPLAN_MAX_SIZE, in rounds of one set per node. */
    if ((frames + n - 1) / n > SETPLAN_MAX_SIZE) {
        uint64_t rounds =
            (frames + n * SETPLAN_MAX_SIZE - 1) / (n * SETPLAN_MAX_SIZE);
        sets = rounds * n;
    }
    size = (frames + sets - 1) / sets;
    if (size < SETPLAN_MIN_SIZE)
        size = SETPLAN_MIN_SIZE;
    return (uint32_t)size;
}

int
setplan_threads(long cores, int nodes)
{
    long t = nodes > 0 ? cores / nodes : cores;
    return t >= 1 ? (int)t : 1;
}
