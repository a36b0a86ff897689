/*
 * clock.h - monotonic milliseconds for every interval and deadline.
 * Wall time is only ever used for log lines. Any thread.
 */
#ifndef FF_CLOCK_H
#define FF_CLOCK_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

uint64_t clock_now_ms(void);      /* CLOCK_MONOTONIC */
uint64_t clock_now_us(void);      /* CLOCK_MONOTONIC, for measuring */
void clock_sleep_ms(uint64_t ms); /* restarts on EINTR */
/* A condition variable whose timed waits use CLOCK_MONOTONIC. */
void clock_cond_init(pthread_cond_t *cv);
/* The CLOCK_MONOTONIC time ms from now, for pthread_cond_timedwait. */
void clock_deadline(struct timespec *ts, uint64_t ms);

#endif
