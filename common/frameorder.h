/*
 * frameorder.h - the video order of frame names. nuScenes names carry the
 * capture time: "<log>__<CHANNEL>__<microseconds>.jpg"; when every name has
 * one, frames go in timestamp order, otherwise in natural order ("f2" before
 * "f10"). Zip entry order is never trusted. Pure.
 */
#ifndef FF_FRAMEORDER_H
#define FF_FRAMEORDER_H

#include <stddef.h>
#include <stdint.h>

/* 1 with *ts when the basename ends in "__<digits>.jpg" (or .jpeg, any
 * case), else 0. */
int frameorder_timestamp(const char *name, uint64_t *ts);
/* strcmp-like, digit runs compared by value. */
int frameorder_natural_cmp(const char *a, const char *b);
/* Fill order[0..n) with the indices of names in video order. Returns 1
 * when ordered by timestamp, 0 when by natural order, -1 + errno. */
int frameorder_sort(const char *const *names, size_t n, size_t *order);

#endif
