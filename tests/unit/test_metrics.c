/*
 * test_metrics.c - the Prometheus text the ambassador writes
 * (coordinator/metrics.h): a histogram's buckets are cumulative and end
 * with +Inf equal to _count; observations land in the first bucket whose
 * bound they do not exceed; HELP text and label values are escaped as
 * the format asks.
 */
#include "tests/unit/unit.h"

#include "coordinator/metrics.h"

/* What f wrote, as a string (the caller frees it). */
static char *
written(void (*f)(FILE *, const void *), const void *arg)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    assert_non_null(out);
    f(out, arg);
    assert_int_equal(fclose(out), 0);
    return text;
}

static void
write_view(FILE *out, const void *arg)
{
    metrics_write_histogram(out, arg);
}

static void
test_histogram_text(void **state)
{
    static const double le[] = {0.1, 1, 10};
    static const uint64_t counts[] = {2, 0, 3, 1};
    struct metrics_histogram_view v = {
        .name = "x_seconds",
        .help = "What x took.",
        .le = le,
        .nle = 3,
        .counts = counts,
        .sum = 12.5,
    };
    char *t = written(write_view, &v);
    (void)state;
    assert_string_equal(t, "# HELP x_seconds What x took.\n"
                           "# TYPE x_seconds histogram\n"
                           "x_seconds_bucket{le=\"0.1\"} 2\n"
                           "x_seconds_bucket{le=\"1\"} 2\n"
                           "x_seconds_bucket{le=\"10\"} 5\n"
                           "x_seconds_bucket{le=\"+Inf\"} 6\n"
                           "x_seconds_sum 12.500000\n"
                           "x_seconds_count 6\n");
    free(t);
}

static void
write_all(FILE *out, const void *arg)
{
    (void)arg;
    metrics_write_histograms(out);
}

/* The process's histograms: one observation of 0.003 s in the journal's
 * lands in le="0.005" and every bucket above, not in le="0.0025". */
static void
test_observe(void **state)
{
    char *t;
    (void)state;
    metrics_observe(METRICS_JOURNAL_FSYNC, 0.003);
    metrics_observe_us(METRICS_ENCODE, 2500000);
    metrics_observe(METRICS_SHARE_PROBE, -1); /* counts as 0 */
    t = written(write_all, NULL);
    assert_contains(
        t, "framefarm_journal_fsync_seconds_bucket{le=\"0.0025\"} 0\n");
    assert_contains(t,
                    "framefarm_journal_fsync_seconds_bucket{le=\"0.005\"} 1\n");
    assert_contains(t,
                    "framefarm_journal_fsync_seconds_bucket{le=\"+Inf\"} 1\n");
    assert_contains(t, "framefarm_journal_fsync_seconds_count 1\n");
    assert_contains(t, "framefarm_encode_seconds_bucket{le=\"2\"} 0\n");
    assert_contains(t, "framefarm_encode_seconds_bucket{le=\"5\"} 1\n");
    assert_contains(t, "framefarm_encode_seconds_sum 2.500000\n");
    assert_contains(t,
                    "framefarm_share_probe_seconds_bucket{le=\"0.0005\"} 1\n");
    assert_contains(t, "# TYPE framefarm_share_probe_seconds histogram\n");
    free(t);
}

static void
write_escaped(FILE *out, const void *arg)
{
    (void)arg;
    metrics_write_head(out, "y_total", "counter", "A \\ and\na line.");
    metrics_write_sample(out, "y_total", "job", "a\"b\\c\nd", 7);
    metrics_write_sample2(out, "z", "job", "j1", "state", "D", 3);
    metrics_write_sample(out, "w", NULL, NULL, 0);
}

static void
test_escaping(void **state)
{
    char *t = written(write_escaped, NULL);
    (void)state;
    assert_string_equal(t, "# HELP y_total A \\\\ and\\na line.\n"
                           "# TYPE y_total counter\n"
                           "y_total{job=\"a\\\"b\\\\c\\nd\"} 7\n"
                           "z{job=\"j1\",state=\"D\"} 3\n"
                           "w 0\n");
    free(t);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_histogram_text),
        cmocka_unit_test(test_observe),
        cmocka_unit_test(test_escaping),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
