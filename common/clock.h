/*
 * clock.h - monotonic milliseconds for every interval and deadline.
 * Wall time is only ever used for log lines. Any thread.
 */
#ifndef FF_CLOCK_H
#define FF_CLOCK_H

#include <stdint.h>

uint64_t clock_now_ms(void);      /* CLOCK_MONOTONIC */
void clock_sleep_ms(uint64_t ms); /* restarts on EINTR */

#endif
