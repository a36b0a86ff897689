/*
 * metrics.h - the ambassador's latency histograms and the Prometheus text
 * format (version 0.0.4) they and the loop's counters are written in.
 *
 * Three histograms live for the whole process, one per thing measured:
 * the journal's append and fsync (journaler thread), the share probe
 * (share watcher thread) and a set's render as the ambassador sees it
 * (loop thread). metrics_observe is lock-free (C11 atomics) and may be
 * called from any thread; metrics_write_histograms reads them from any
 * thread (the HTTP threads). A reader may see an observation's bucket
 * before its sum: each line is a true count, and the buckets are
 * written cumulative from one read of each, so they never go down.
 *
 * The writers below take plain values and a FILE (open_memstream); they
 * touch nothing else and are what the unit tests check.
 */
#ifndef FF_METRICS_H
#define FF_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum metrics_histogram {
    METRICS_JOURNAL_FSYNC, /* journal_append_many: write + fsync, seconds */
    METRICS_SHARE_PROBE,   /* the share probe: write, fsync, read back */
    METRICS_ENCODE,        /* assign -> done of a counted set, seconds */
    METRICS_HISTOGRAMS,
};

#define METRICS_BUCKETS_MAX 16

/* Any thread. Negative values count as 0. */
void metrics_observe(enum metrics_histogram h, double seconds);
void metrics_observe_us(enum metrics_histogram h, uint64_t us);
/* Every histogram, with its HELP and TYPE lines. Any thread. */
void metrics_write_histograms(FILE *out);

/* One histogram's values: counts[i] observations in bucket i (<= le[i],
 * above le[i - 1]); counts[nle] above the last bound. */
struct metrics_histogram_view {
    const char *name, *help;
    const double *le;
    size_t nle;
    const uint64_t *counts;
    double sum;
};
void metrics_write_histogram(FILE *out, const struct metrics_histogram_view *v);

/* "# HELP name help" and "# TYPE name type" (counter, gauge). */
void metrics_write_head(FILE *out, const char *name, const char *type,
                        const char *help);
/* One sample: name{label="value"} v, or name v when label is NULL. The
 * value is escaped as the format asks (\\, \", \n). */
void metrics_write_sample(FILE *out, const char *name, const char *label,
                          const char *value, uint64_t v);
/* name{l1="v1",l2="v2"} v */
void metrics_write_sample2(FILE *out, const char *name, const char *l1,
                           const char *v1, const char *l2, const char *v2,
                           uint64_t v);

#endif
