/*
 * frametime.h - presentation times of frames that are not at a constant
 * rate (--timing timestamps): how long a frame is shown, and how far a
 * timestamp read back from a container is from the time it should be, in
 * the container's own ticks. Pure; any thread.
 */
#ifndef FF_FRAMETIME_H
#define FF_FRAMETIME_H

#include <stddef.h>
#include <stdint.h>

/* How long the frame shown at `at` lasts among the frames shown at
 * pts[0..n) (ascending): up to the next one, or `last` for the last one and
 * for an `at` that is not among them. */
int64_t frametime_span(const int64_t *pts, size_t n, int64_t at, int64_t last);

/* |pts * tb_num / tb_den - want_s| in ticks of tb_num / tb_den seconds:
 * under 1 when pts is want_s as exactly as the time base can say it. */
double frametime_ticks_off(int64_t pts, int tb_num, int tb_den, double want_s);

#endif
