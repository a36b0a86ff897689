/*
 * metrics.c - see metrics.h.
 */
#include "coordinator/metrics.h"

#include <stdatomic.h>

#define METRICS_US_PER_S 1e6

/* Seconds. The journal and the probe: an fsync on a local disk takes
 * about a millisecond, on NFS tens; a render: seconds to minutes. */
static const double metrics_le_io[] = {0.0005, 0.001, 0.0025, 0.005, 0.01,
                                       0.025,  0.05,  0.1,    0.25,  0.5,
                                       1,      2.5,   5,      10};
static const double metrics_le_render[] = {0.5, 1,  2,   5,   10, 20,
                                           30,  60, 120, 300, 600};

struct metrics_histogram_def {
    const char *name, *help;
    const double *le;
    size_t nle;
};

#define METRICS_LE(a) a, sizeof(a) / sizeof(a[0])

static const struct metrics_histogram_def metrics_defs[METRICS_HISTOGRAMS] = {
    [METRICS_JOURNAL_FSYNC] = {"framefarm_journal_fsync_seconds",
                               "One journal append of a loop turn's records: "
                               "write and fsync.",
                               METRICS_LE(metrics_le_io)},
    [METRICS_SHARE_PROBE] = {"framefarm_share_probe_seconds",
                             "The share probe: write, fsync and read back "
                             "coord/probe.",
                             METRICS_LE(metrics_le_io)},
    [METRICS_ENCODE] = {"framefarm_encode_seconds",
                        "A counted set, from its assign to its node's done "
                        "(read, decode, encode, write), on the "
                        "ambassador's clock.",
                        METRICS_LE(metrics_le_render)},
};

struct metrics_histogram_cells {
    atomic_uint_fast64_t counts[METRICS_BUCKETS_MAX + 1];
    atomic_uint_fast64_t sum_us;
};

static struct metrics_histogram_cells metrics_cells[METRICS_HISTOGRAMS];

void
metrics_observe(enum metrics_histogram h, double seconds)
{
    const struct metrics_histogram_def *d = &metrics_defs[h];
    size_t b = 0;
    if (!(seconds > 0))
        seconds = 0;
    while (b < d->nle && seconds > d->le[b])
        b++;
    atomic_fetch_add_explicit(&metrics_cells[h].counts[b], 1,
                              memory_order_relaxed);
    atomic_fetch_add_explicit(&metrics_cells[h].sum_us,
                              (uint_fast64_t)(seconds * METRICS_US_PER_S),
                              memory_order_relaxed);
}

void
metrics_observe_us(enum metrics_histogram h, uint64_t us)
{
    metrics_observe(h, (double)us / METRICS_US_PER_S);
}

void
metrics_write_histograms(FILE *out)
{
    for (int h = 0; h < METRICS_HISTOGRAMS; h++) {
        const struct metrics_histogram_def *d = &metrics_defs[h];
        uint64_t counts[METRICS_BUCKETS_MAX + 1];
        struct metrics_histogram_view v = {
            .name = d->name,
            .help = d->help,
            .le = d->le,
            .nle = d->nle,
            .counts = counts,
        };
        for (size_t b = 0; b <= d->nle; b++)
            counts[b] = atomic_load_explicit(&metrics_cells[h].counts[b],
                                             memory_order_relaxed);
        v.sum = (double)atomic_load_explicit(&metrics_cells[h].sum_us,
                                             memory_order_relaxed) /
                METRICS_US_PER_S;
        metrics_write_histogram(out, &v);
    }
}

void
metrics_write_head(FILE *out, const char *name, const char *type,
                   const char *help)
{
    fprintf(out, "# HELP %s ", name);
    for (const char *p = help; *p != '\0'; p++) {
        if (*p == '\\')
            fputs("\\\\", out);
        else if (*p == '\n')
            fputs("\\n", out);
        else
            fputc(*p, out);
    }
    fprintf(out, "\n# TYPE %s %s\n", name, type);
}

static void
metrics_write_label(FILE *out, const char *label, const char *value)
{
    fprintf(out, "%s=\"", label);
    for (const char *p = value; *p != '\0'; p++) {
        if (*p == '\\' || *p == '"')
            fprintf(out, "\\%c", *p);
        else if (*p == '\n')
            fputs("\\n", out);
        else
            fputc(*p, out);
    }
    fputc('"', out);
}

void
metrics_write_sample(FILE *out, const char *name, const char *label,
                     const char *value, uint64_t v)
{
    fputs(name, out);
    if (label != NULL) {
        fputc('{', out);
        metrics_write_label(out, label, value);
        fputc('}', out);
    }
    fprintf(out, " %llu\n", (unsigned long long)v);
}

void
metrics_write_sample2(FILE *out, const char *name, const char *l1,
                      const char *v1, const char *l2, const char *v2,
                      uint64_t v)
{
    fprintf(out, "%s{", name);
    metrics_write_label(out, l1, v1);
    fputc(',', out);
    metrics_write_label(out, l2, v2);
    fprintf(out, "} %llu\n", (unsigned long long)v);
}

void
metrics_write_histogram(FILE *out, const struct metrics_histogram_view *v)
{
    uint64_t cum = 0;
    metrics_write_head(out, v->name, "histogram", v->help);
    for (size_t b = 0; b < v->nle; b++) {
        cum += v->counts[b];
        fprintf(out, "%s_bucket{le=\"%g\"} %llu\n", v->name, v->le[b],
                (unsigned long long)cum);
    }
    cum += v->counts[v->nle];
    fprintf(out, "%s_bucket{le=\"+Inf\"} %llu\n", v->name,
            (unsigned long long)cum);
    fprintf(out, "%s_sum %.6f\n%s_count %llu\n", v->name, v->sum, v->name,
            (unsigned long long)cum);
}
