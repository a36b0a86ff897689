/*
 * frametime.c - see frametime.h.
 */
#include "common/frametime.h"

#include <math.h>

int64_t
frametime_span(const int64_t *pts, size_t n, int64_t at, int64_t last)
{
    size_t lo = 0, hi = n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (pts[mid] < at)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo + 1 < n && pts[lo] == at)
        return pts[lo + 1] - at;
    return last;
}

double
frametime_ticks_off(int64_t pts, int tb_num, int tb_den, double want_s)
{
    return fabs((double)pts - want_s * (double)tb_den / (double)tb_num);
}
