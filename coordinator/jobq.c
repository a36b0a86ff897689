/*
 * jobq.c - see jobq.h.
 */
#include "coordinator/jobq.h"

int
jobq_before(int prio_a, uint64_t seq_a, int prio_b, uint64_t seq_b)
{
    if (prio_a != prio_b)
        return prio_a > prio_b;
    return seq_a < seq_b;
}
