/*
 * setplan.c - frames per set and threads per node for `framefarm render`,
 * and the job's split into sets (the ambassador's, job.c).
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

/* Sets of size, before the last is cut, and the last one's frames. */
static uint64_t
setplan_uniform(uint64_t frames, uint32_t size, uint64_t *last)
{
    uint64_t sets = (frames + size - 1) / size;
    *last = sets > 0 ? frames - (sets - 1) * size : 0;
    return sets;
}

void
setplan_split(uint64_t frames, int nodes, uint32_t *size, uint32_t *tail_sets)
{
    uint64_t n = nodes > 0 ? (uint64_t)nodes : 1;
    uint64_t tail = frames / SETPLAN_TAIL_SHARE, k, sets, last;

    *size = setplan_size(frames, nodes);
    *tail_sets = 0;
    /* One node has no one to even out with; and a tail set each must be
     * worth its encoder start and IDR. */
    if (n < 2 || tail < n * SETPLAN_TAIL_SIZE)
        return;
    /* The same k big sets (whole rounds), over all but the tail, which
     * is never more than one of them holds. */
    k = setplan_uniform(frames, *size, &last);
    if (tail > frames / (k + 1))
        tail = frames / (k + 1);
    *size = (uint32_t)((frames - tail + k - 1) / k);
    /* What the k sets leave for the last one: the tail (none when they
     * hold everything). */
    if (setplan_uniform(frames, *size, &last) != k + 1 ||
        last < n * SETPLAN_TAIL_SIZE)
        return;
    sets = (last + SETPLAN_TAIL_SIZE - 1) / SETPLAN_TAIL_SIZE;
    sets = (sets + n - 1) / n * n;
    if (sets > n * SETPLAN_TAIL_MAX_SETS)
        sets = n * SETPLAN_TAIL_MAX_SETS;
    *tail_sets = (uint32_t)sets;
}

/* The last set's cut: into at most as many sets as it has frames. */
static uint64_t
setplan_cut(uint64_t last, uint32_t tail_sets)
{
    if (tail_sets <= 1 || last == 0)
        return 1;
    return tail_sets < last ? tail_sets : last;
}

uint64_t
setplan_sets(uint64_t frames, uint32_t size, uint32_t tail_sets)
{
    uint64_t last, sets = setplan_uniform(frames, size, &last);
    return sets == 0 ? 0 : sets - 1 + setplan_cut(last, tail_sets);
}

void
setplan_range(uint64_t frames, uint32_t size, uint32_t tail_sets, uint64_t set,
              uint64_t *first, uint64_t *count)
{
    uint64_t last, sets = setplan_uniform(frames, size, &last);
    uint64_t cut, k, base, extra;

    if (set + 1 < sets) {
        *first = set * size;
        *count = size;
        return;
    }
    /* In the last set: piece k of its cut, the first extra ones a frame
     * larger. */
    cut = setplan_cut(last, tail_sets);
    k = set - (sets - 1);
    base = last / cut;
    extra = last % cut;
    *first = (sets - 1) * size + k * base + (k < extra ? k : extra);
    *count = base + (k < extra);
}

int
setplan_threads(long cores, int nodes)
{
    long t = nodes > 0 ? cores / nodes : cores;
    return t >= 1 ? (int)t : 1;
}
