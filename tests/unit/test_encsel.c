/*
 * test_encsel.c - a render node's encoder choice per set
 * (gpu-node/encsel.h), on made-up probe results and a virtual clock: whose
 * policy picks the encoder (the job's, else the node's), the fallback to
 * the CPU and the reason it carries, the per-encoder breaker that holds a
 * hardware encoder back after it fails at run time and lets one set probe
 * it after the cool-down, failures that are not the encoder's, the node's
 * --preset, the fault hook's name, and a fallback reason warned once. No
 * encoder is opened; renders are outcomes written into the work as a
 * worker would.
 */
#include "tests/unit/unit.h"

#include <fcntl.h>
#include <unistd.h>

#include "common/breaker.h"
#include "common/encparams.h"
#include "common/err.h"
#include "common/log.h"
#include "common/manifest.h"
#include "gpu-node/encsel.h"
#include "gpu-node/worker.h"
#include "media/encprobe.h"

#define T0 1000000                           /* virtual clock */
#define COOLDOWN BREAKER_DEFAULT_COOLDOWN_MS /* the first, at most */
#define SEED 42
#define NO_CUDA "no NVIDIA driver (cannot load libcuda.so.1)"
#define NO_VAAPI "no VAAPI device (/dev/dri/renderD128 missing)"
#define GPU_ERR "cuda out of memory"
#define HELD_BACK "held back after failing at run time"
#define NO_FALLBACK "no CPU fallback"
#define JOB_PRESET "medium"
#define NODE_PRESET "ultrafast"
#define LOG_CAPTURE "stderr.log"
#define LOG_MAX 8192

enum { NVENC_H264, VAAPI_H264, X264, NVENC_HEVC, X265, N };

struct fixture {
    struct encprobe_entry e[N];
};

static void
entry(struct encprobe_entry *e, const char *name, const char *codec,
      enum encprobe_kind kind)
{
    memset(e, 0, sizeof(*e));
    snprintf(e->name, sizeof(e->name), "%s", name);
    snprintf(e->codec, sizeof(e->codec), "%s", codec);
    e->kind = kind;
    e->ok = 1;
}

static void
unavailable(struct encprobe_entry *e, const char *reason)
{
    e->ok = 0;
    snprintf(e->reason, sizeof(e->reason), "%s", reason);
}

/* Every encoder passed its probe, in the back-end table's order. */
static void
fixture_init(struct fixture *f)
{
    entry(&f->e[NVENC_H264], "h264_nvenc", "h264", ENCPROBE_NVENC);
    entry(&f->e[VAAPI_H264], "h264_vaapi", "h264", ENCPROBE_VAAPI);
    entry(&f->e[X264], "libx264", "h264", ENCPROBE_CPU);
    entry(&f->e[NVENC_HEVC], "hevc_nvenc", "hevc", ENCPROBE_NVENC);
    entry(&f->e[X265], "libx265", "hevc", ENCPROBE_CPU);
}

static struct encsel *
sel_new(const struct fixture *f, const char *encoder, int fallback_cpu,
        const char *preset, const char *fault)
{
    struct encsel *s =
        encsel_new(f->e, N, encoder, fallback_cpu, preset, fault, SEED);
    assert_non_null(s);
    return s;
}

/* A set of the job: its encoder policy, fallback policy and preset. */
static struct work *
work_new(uint32_t set, const char *encoder, const char *fallback)
{
    struct work *w = calloc(1, sizeof(*w));
    assert_non_null(w);
    w->m = manifest_new();
    assert_non_null(w->m);
    snprintf(w->m->job, sizeof(w->m->job), "demo");
    w->m->set = set;
    encparams_init(&w->m->enc);
    snprintf(w->m->enc.encoder, sizeof(w->m->enc.encoder), "%s", encoder);
    snprintf(w->m->enc.fallback, sizeof(w->m->enc.fallback), "%s", fallback);
    snprintf(w->m->enc.preset, sizeof(w->m->enc.preset), JOB_PRESET);
    atomic_init(&w->progress, 0);
    atomic_init(&w->cancel, 0);
    return w;
}

/* The work is over (rendered or dropped): settle it, as work_free does. */
static void
work_end(struct encsel *s, struct work *w, uint64_t now)
{
    encsel_finish(s, w, now);
    manifest_free(w->m);
    free(w);
}

/* Assign must succeed with encoder want; fallback "" when why is NULL,
 * else containing why. */
static struct work *
assign_ok(struct encsel *s, uint32_t set, const char *job_encoder,
          const char *job_fallback, uint64_t now, const char *want,
          const char *why)
{
    struct work *w = work_new(set, job_encoder, job_fallback);
    char err[ERR_MAX] = "";

    if (encsel_assign(s, w, now, err, sizeof(err)) != 0)
        fail_msg("set %u (encoder %s): refused: %s; want %s", set, job_encoder,
                 err, want);
    if (strcmp(w->encoder, want) != 0)
        fail_msg("set %u (encoder %s) at +%llu ms: got %s (fallback \"%s\"), "
                 "want %s",
                 set, job_encoder, (unsigned long long)(now - T0), w->encoder,
                 w->fallback, want);
    if (why == NULL && w->fallback[0] != '\0')
        fail_msg("set %u: %s with fallback \"%s\", want none", set, w->encoder,
                 w->fallback);
    if (why != NULL)
        assert_contains(w->fallback, why);
    assert_ptr_equal(w->sel, s);
    return w;
}

static void
assign_bad(struct encsel *s, const char *job_encoder, const char *job_fallback,
           const char *want1, const char *want2)
{
    struct work *w = work_new(0, job_encoder, job_fallback);
    char err[ERR_MAX] = "";

    if (encsel_assign(s, w, T0, err, sizeof(err)) != -1)
        fail_msg("encoder %s, fallback %s: got %s, want an error with \"%s\"",
                 job_encoder, job_fallback, w->encoder, want1);
    assert_contains(err, want1);
    if (want2 != NULL)
        assert_contains(err, want2);
    assert_null(w->sel);
    work_end(s, w, T0);
}

/* The render with w->encoder failed; the encoder itself when
 * encoder_failed. Returns what encsel_retry says to render with. */
static const char *
render_failed(struct encsel *s, struct work *w, uint64_t now,
              int encoder_failed, const char *why)
{
    w->ok = 0;
    w->res.encoder_failed = encoder_failed;
    snprintf(w->err, sizeof(w->err), "%s", why);
    return encsel_retry(s, w, now);
}

/* n sets on the GPU encoder whose encoder fails, each then rendered on
 * the CPU: the breaker opens after the third. */
static void
fail_gpu(struct encsel *s, const char *gpu, int n, uint64_t now)
{
    for (int i = 0; i < n; i++) {
        struct work *w =
            assign_ok(s, (uint32_t)i, "auto", "cpu", now, gpu, NULL);
        const char *retry = render_failed(s, w, now, 1, GPU_ERR);
        if (retry == NULL || strcmp(retry, "libx264") != 0)
            fail_msg("retry after %s failed: %s, want libx264", gpu,
                     retry != NULL ? retry : "(none)");
        w->ok = 1; /* the CPU render */
        work_end(s, w, now);
    }
}

static void
test_whose_policy_picks(void **state)
{
    struct fixture f;
    struct encsel *s;
    struct work *w;
    (void)state;

    fixture_init(&f);
    s = sel_new(&f, "auto", 1, NULL, NULL);
    /* auto: the first that passed, the CPU encoder its run-time retry */
    w = assign_ok(s, 0, "auto", "cpu", T0, "h264_nvenc", NULL);
    assert_string_equal(w->retry, "libx264");
    assert_true(w->breaker_pending);
    work_end(s, w, T0);
    w = assign_ok(s, 1, "cpu", "cpu", T0, "libx264", NULL);
    assert_string_equal(w->retry, "");
    assert_false(w->breaker_pending); /* the CPU has no breaker */
    work_end(s, w, T0);
    w = assign_ok(s, 2, "h264_vaapi", "cpu", T0, "h264_vaapi", NULL);
    assert_string_equal(w->retry, "libx264");
    work_end(s, w, T0);
    encsel_free(s);

    /* The node's --encoder applies when the job says auto; the job's own
     * choice wins. */
    s = sel_new(&f, "vaapi", 1, NULL, NULL);
    work_end(s, assign_ok(s, 0, "auto", "cpu", T0, "h264_vaapi", NULL), T0);
    work_end(s, assign_ok(s, 1, "nvenc", "cpu", T0, "h264_nvenc", NULL), T0);
    encsel_free(s);
    s = sel_new(&f, NULL, 1, NULL, NULL); /* NULL: auto */
    work_end(s, assign_ok(s, 0, "auto", "cpu", T0, "h264_nvenc", NULL), T0);
    encsel_free(s);
}

/* A GPU encoder asked for but not on this machine: the CPU, saying why
 * in the reason every done carries. */
static void
test_unavailable_falls_back_with_reason(void **state)
{
    struct fixture f;
    struct encsel *s;
    struct work *w;
    (void)state;

    fixture_init(&f);
    unavailable(&f.e[NVENC_H264], NO_CUDA);
    unavailable(&f.e[VAAPI_H264], NO_VAAPI);
    s = sel_new(&f, "nvenc", 1, NULL, NULL);
    w = assign_ok(s, 0, "auto", "cpu", T0, "libx264",
                  "encoder nvenc unavailable (h264_nvenc: " NO_CUDA ")");
    assert_false(w->breaker_pending);
    assert_string_equal(w->retry, "");
    work_end(s, w, T0);
    w = assign_ok(s, 1, "h264_vaapi", "cpu", T0, "libx264", NO_VAAPI);
    work_end(s, w, T0);
    encsel_free(s);

    /* auto on a machine without a GPU is no fallback: it asked for
     * nothing in particular. */
    s = sel_new(&f, "auto", 0, NULL, NULL);
    work_end(s, assign_ok(s, 0, "auto", "none", T0, "libx264", NULL), T0);
    encsel_free(s);
}

/* Either side may insist on the encoder it asked for; the error says
 * whose --fallback none it was. */
static void
test_refused_fallback_names_policy(void **state)
{
    struct fixture f;
    struct encsel *s;
    struct work *w;
    (void)state;

    fixture_init(&f);
    unavailable(&f.e[NVENC_H264], NO_CUDA);
    s = sel_new(&f, "nvenc", 1, NULL, NULL);
    assign_bad(s, "auto", "none", NO_FALLBACK, "(the job's --fallback none)");
    assign_bad(s, "h264_nvenc", "none", NO_CUDA, "the job's");
    encsel_free(s);

    s = sel_new(&f, "nvenc", 0, NULL, NULL);
    assign_bad(s, "auto", "cpu", NO_FALLBACK, "(this node's --fallback none)");
    assign_bad(s, "auto", "none", NO_FALLBACK, "(the job's --fallback none)");
    /* Unknown names are errors whatever the policy. */
    assign_bad(s, "h264_quicksync", "cpu", "h264_quicksync", NULL);
    assign_bad(s, "hevc_nvenc", "cpu", "makes hevc, not h264", NULL);
    encsel_free(s);

    /* Available: used, but with no CPU retry when a policy forbids it. */
    fixture_init(&f);
    s = sel_new(&f, "nvenc", 0, NULL, NULL);
    w = assign_ok(s, 0, "auto", "cpu", T0, "h264_nvenc", NULL);
    assert_string_equal(w->retry, "");
    assert_null(render_failed(s, w, T0, 1, GPU_ERR));
    work_end(s, w, T0);
    encsel_free(s);
}

/* Three sets whose GPU encoder failed: the encoder is held back, its sets
 * go to the CPU (saying why), and a node or job that insists on it gets
 * an error instead. */
static void
test_run_time_failures_hold_encoder_back(void **state)
{
    struct fixture f;
    struct encsel *s;
    struct work *w;
    const char *retry;
    char err[ERR_MAX] = "";
    (void)state;

    fixture_init(&f);
    unavailable(&f.e[VAAPI_H264], NO_VAAPI);
    s = sel_new(&f, "auto", 1, NULL, NULL);
    w = assign_ok(s, 0, "auto", "cpu", T0, "h264_nvenc", NULL);
    retry = render_failed(s, w, T0, 1, GPU_ERR);
    assert_non_null(retry);
    assert_string_equal(retry, "libx264");
    /* The reason says the GPU failed and it is now a CPU render. */
    assert_contains(w->fallback, "h264_nvenc failed at run time: " GPU_ERR);
    assert_string_equal(w->encoder, "h264_nvenc"); /* as chosen */
    w->ok = 1;
    work_end(s, w, T0);

    fail_gpu(s, "h264_nvenc", BREAKER_DEFAULT_CONSECUTIVE - 1, T0);
    w = assign_ok(s, 9, "auto", "cpu", T0 + 1, "libx264",
                  "encoder auto: h264_nvenc: " HELD_BACK " (" GPU_ERR ")");
    assert_false(w->breaker_pending);
    work_end(s, w, T0 + 1);
    w = assign_ok(s, 10, "nvenc", "cpu", T0 + 1, "libx264",
                  "encoder nvenc unavailable (h264_nvenc: " HELD_BACK);
    work_end(s, w, T0 + 1);
    assign_bad(s, "nvenc", "none", NO_FALLBACK, HELD_BACK);
    /* Another codec's GPU encoder has its own breaker. */
    w = work_new(11, "auto", "cpu");
    snprintf(w->m->enc.codec, sizeof(w->m->enc.codec), "hevc");
    assert_int_equal(encsel_assign(s, w, T0 + 1, err, sizeof(err)), 0);
    assert_string_equal(w->encoder, "hevc_nvenc");
    work_end(s, w, T0 + 1);
    encsel_free(s);
}

/* After the cool-down one set probes the encoder; a success closes the
 * breaker, a failure opens it again, and a probe never rendered is given
 * back for the next set. */
static void
test_recovers_after_cooldown(void **state)
{
    struct fixture f;
    struct encsel *s;
    struct work *probe, *other, *w;
    uint64_t t1 = T0 + COOLDOWN, t2;
    (void)state;

    fixture_init(&f);
    unavailable(&f.e[VAAPI_H264], NO_VAAPI);
    s = sel_new(&f, "auto", 1, NULL, NULL);
    fail_gpu(s, "h264_nvenc", BREAKER_DEFAULT_CONSECUTIVE, T0);

    /* The probe, and a set at the same time that does not get it. */
    probe = assign_ok(s, 0, "auto", "cpu", t1, "h264_nvenc", NULL);
    assert_true(probe->breaker_pending);
    other = assign_ok(s, 1, "auto", "cpu", t1, "libx264", HELD_BACK);
    /* Dropped unrendered (finish twice: once is all that counts): the
     * next set takes the probe, and only it. */
    probe->ok = 0;
    encsel_finish(s, probe, t1);
    w = assign_ok(s, 2, "auto", "cpu", t1, "h264_nvenc", NULL);
    work_end(s, probe, t1);
    work_end(s, other, t1);
    other = assign_ok(s, 3, "auto", "cpu", t1, "libx264", HELD_BACK);
    work_end(s, other, t1);
    probe = w;

    /* The probe fails: open again, for a longer cool-down. */
    assert_non_null(render_failed(s, probe, t1, 1, "still broken"));
    probe->ok = 1;
    work_end(s, probe, t1);
    w = assign_ok(s, 4, "auto", "cpu", t1, "libx264", "still broken");
    work_end(s, w, t1);

    /* The next probe succeeds: closed, every set gets the GPU again. */
    t2 = t1 + 2 * COOLDOWN;
    probe = assign_ok(s, 5, "auto", "cpu", t2, "h264_nvenc", NULL);
    probe->ok = 1;
    work_end(s, probe, t2);
    for (uint32_t set = 6; set < 9; set++) {
        w = assign_ok(s, set, "auto", "cpu", t2, "h264_nvenc", NULL);
        assert_true(w->breaker_pending);
        other = assign_ok(s, set + 10, "auto", "cpu", t2, "h264_nvenc", NULL);
        w->ok = other->ok = 1;
        work_end(s, w, t2);
        work_end(s, other, t2);
    }
    encsel_free(s);
}

/* A render that failed for another reason (a bad zip, the output file, a
 * cancel) is not the encoder's fault: no CPU retry, and however many
 * there are the encoder stays in use. */
static void
test_other_failures_do_not_count(void **state)
{
    struct fixture f;
    struct encsel *s;
    struct work *w;
    (void)state;

    fixture_init(&f);
    s = sel_new(&f, "auto", 1, NULL, NULL);
    for (uint32_t set = 0; set < 4 * BREAKER_DEFAULT_CONSECUTIVE; set++) {
        w = assign_ok(s, set, "auto", "cpu", T0, "h264_nvenc", NULL);
        assert_null(render_failed(s, w, T0, 0, "zip: bad CRC"));
        assert_string_equal(w->fallback, "");
        work_end(s, w, T0);
    }
    w = assign_ok(s, 99, "auto", "cpu", T0, "h264_nvenc", NULL);
    work_end(s, w, T0);

    /* A cancelled set whose encoder failed: counted, but not rendered
     * again. */
    w = assign_ok(s, 100, "auto", "cpu", T0, "h264_nvenc", NULL);
    atomic_store(&w->cancel, 1);
    assert_null(render_failed(s, w, T0, 1, GPU_ERR));
    work_end(s, w, T0);
    /* A CPU encode that failed is not retried either. */
    w = assign_ok(s, 101, "cpu", "cpu", T0, "libx264", NULL);
    assert_null(render_failed(s, w, T0, 1, "x264 failed"));
    work_end(s, w, T0);
    encsel_free(s);
}

/* An auto choice that passed over a held-back encoder, whose own encoder
 * then fails: the reason keeps both, the first in front. */
static void
test_reasons_chain(void **state)
{
    struct fixture f;
    struct encsel *s;
    struct work *w;
    const char *fb;
    (void)state;

    fixture_init(&f);
    s = sel_new(&f, "auto", 1, NULL, NULL);
    fail_gpu(s, "h264_nvenc", BREAKER_DEFAULT_CONSECUTIVE, T0);
    w = assign_ok(s, 0, "auto", "cpu", T0, "h264_vaapi",
                  "encoder auto: h264_nvenc: " HELD_BACK);
    assert_non_null(render_failed(s, w, T0, 1, "vaapi surface lost"));
    fb = w->fallback;
    assert_contains(fb, "encoder auto: h264_nvenc: " HELD_BACK);
    assert_contains(fb, "; h264_vaapi failed at run time: vaapi surface lost");
    if (strstr(fb, "h264_nvenc") > strstr(fb, "h264_vaapi failed"))
        fail_msg("\"%s\": the first reason is not in front", fb);
    w->ok = 1;
    work_end(s, w, T0);
    encsel_free(s);
}

/* The node's --preset replaces the job's; without one the job's stays. */
static void
test_node_preset(void **state)
{
    static const struct {
        const char *node, *want;
    } cases[] = {
        {NODE_PRESET, NODE_PRESET},
        {"", JOB_PRESET},
        {NULL, JOB_PRESET},
    };
    struct fixture f;
    (void)state;

    fixture_init(&f);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct encsel *s = sel_new(&f, "auto", 1, cases[i].node, NULL);
        struct work *w = assign_ok(s, 0, "auto", "cpu", T0, "h264_nvenc", NULL);
        if (strcmp(w->m->enc.preset, cases[i].want) != 0)
            fail_msg("node --preset \"%s\": preset %s, want %s",
                     cases[i].node != NULL ? cases[i].node : "(none)",
                     w->m->enc.preset, cases[i].want);
        work_end(s, w, T0);
        encsel_free(s);
    }
}

static void
test_fault_hook_name(void **state)
{
    struct fixture f;
    struct encsel *s;
    (void)state;

    fixture_init(&f);
    s = sel_new(&f, "auto", 1, NULL, NULL);
    assert_null(encsel_fault(s));
    encsel_free(s);
    s = sel_new(&f, "auto", 1, NULL, "");
    assert_null(encsel_fault(s));
    encsel_free(s);
    s = sel_new(&f, "auto", 1, NULL, "h264_nvenc");
    assert_non_null(encsel_fault(s));
    assert_string_equal(encsel_fault(s), "h264_nvenc");
    encsel_free(s);
    encsel_free(NULL);
}

/* Count the warnings in the log that mention text. */
static int
count_warnings(const char *log, const char *text)
{
    int n = 0;
    for (const char *p = log; (p = strstr(p, " warn: ")) != NULL; p++) {
        const char *eol = strchr(p, '\n');
        const char *hit = strstr(p, text);
        if (hit != NULL && (eol == NULL || hit < eol))
            n++;
    }
    return n;
}

/* A fallback is a warning the first time its reason shows up, not once
 * per set. While stderr goes to a file nothing is asserted (a failure
 * would leave it there); the outcomes are checked after. */
static void
test_fallback_warned_once(void **state)
{
    static const char *const job_encoder[] = {"auto", "auto",  "auto",
                                              "auto", "vaapi", "vaapi"};
    enum { SETS = sizeof(job_encoder) / sizeof(job_encoder[0]) };
    const char *dir = *state;
    struct fixture f;
    struct encsel *s;
    struct work *w[SETS];
    char path[FS_PATH_MAX], err[ERR_MAX] = "", *log = NULL;
    size_t len = 0;
    int rc[SETS], saved, fd, verbosity = log_verbosity;

    fixture_init(&f);
    unavailable(&f.e[NVENC_H264], NO_CUDA);
    unavailable(&f.e[VAAPI_H264], NO_VAAPI);
    s = sel_new(&f, "nvenc", 1, NULL, NULL);
    for (uint32_t i = 0; i < SETS; i++)
        w[i] = work_new(i, job_encoder[i], "cpu");

    unit_path(path, dir, LOG_CAPTURE);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    fflush(stderr);
    saved = dup(STDERR_FILENO);
    assert_true(saved >= 0);
    assert_true(dup2(fd, STDERR_FILENO) >= 0);
    log_verbosity = 1;
    for (uint32_t i = 0; i < SETS; i++)
        rc[i] = encsel_assign(s, w[i], T0, err, sizeof(err));
    log_verbosity = verbosity;
    assert_true(dup2(saved, STDERR_FILENO) >= 0);
    close(saved);
    close(fd);

    for (uint32_t i = 0; i < SETS; i++) {
        if (rc[i] != 0 || strcmp(w[i]->encoder, "libx264") != 0)
            fail_msg("set %u: rc %d encoder \"%s\" (%s), want libx264", i,
                     rc[i], w[i]->encoder, err);
        work_end(s, w[i], T0);
    }
    encsel_free(s);
    assert_int_equal(fs_read_max(path, LOG_MAX, &log, &len), 0);
    if (count_warnings(log, NO_CUDA) != 1 || count_warnings(log, NO_VAAPI) != 1)
        fail_msg("want one warning per reason; the log:\n%s", log);
    assert_contains(log, "rendering set 0 with libx264 (CPU fallback)");
    free(log);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_whose_policy_picks),
        cmocka_unit_test(test_unavailable_falls_back_with_reason),
        cmocka_unit_test(test_refused_fallback_names_policy),
        cmocka_unit_test(test_run_time_failures_hold_encoder_back),
        cmocka_unit_test(test_recovers_after_cooldown),
        cmocka_unit_test(test_other_failures_do_not_count),
        cmocka_unit_test(test_reasons_chain),
        cmocka_unit_test(test_node_preset),
        cmocka_unit_test(test_fault_hook_name),
        cmocka_unit_test_setup_teardown(
            test_fallback_warned_once, unit_tmpdir_setup, unit_tmpdir_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
