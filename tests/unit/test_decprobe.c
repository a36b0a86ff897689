/*
 * test_decprobe.c - where a node decodes its JPEGs (media/decchoice.h,
 * decchoice_choose) on made-up probe results: auto takes a GPU decoder
 * only when one stream of it beats all the CPU threads together, and the
 * fastest one; a decoder named by the user is used when it passed, even
 * if slower, and falls back to the CPU with the probe's reason when it did
 * not; unknown names are errors. Then the real probe on this machine: a
 * GPU decoder it reports unavailable has a reason, one it reports usable
 * decoded the same picture as the CPU.
 */
#include "tests/unit/unit.h"

#include "media/decchoice.h"
#include "media/decprobe.h"

#define NO_CUDA "no NVIDIA driver (cannot load libcuda.so.1)"
#define NO_VAAPI "no VAAPI device (/dev/dri/renderD128 missing)"

static void
hw(struct decprobe *p, const char *name, double ms, const char *reason)
{
    struct decprobe_entry *e = &p->hw[p->n++];
    memset(e, 0, sizeof(*e));
    snprintf(e->name, sizeof(e->name), "%s", name);
    e->ok = reason == NULL;
    e->ms = reason == NULL ? ms : 0;
    snprintf(e->reason, sizeof(e->reason), "%s", reason != NULL ? reason : "");
}

/* 8 CPU threads at 4 ms a picture each: 0.5 ms a picture together. */
static void
probe(struct decprobe *p, double nvdec_ms, const char *nvdec_reason,
      double vaapi_ms, const char *vaapi_reason)
{
    memset(p, 0, sizeof(*p));
    p->width = 1600;
    p->height = 900;
    p->cpu_ms = 4.0;
    p->cpu_threads = 8;
    hw(p, "nvdec", nvdec_ms, nvdec_reason);
    hw(p, "vaapi", vaapi_ms, vaapi_reason);
}

static void
choose_ok(const struct decprobe *p, const char *want, const char *name,
          int fallback, const char *why_has)
{
    struct decchoice c;
    char err[ERR_MAX] = "";
    int rc = decchoice_choose(p, want, &c, err, sizeof(err));
    if (rc != 0)
        fail_msg("want %s: error %s", want != NULL ? want : "(null)", err);
    if (strcmp(c.name, name) != 0 || c.fallback != fallback)
        fail_msg("want %s: got %s (fallback %d), expected %s (fallback %d); "
                 "why: %s",
                 want != NULL ? want : "(null)", c.name, c.fallback, name,
                 fallback, c.why);
    if (why_has == NULL && c.why[0] != '\0')
        fail_msg("want %s: expected no reason, got \"%s\"",
                 want != NULL ? want : "(null)", c.why);
    if (why_has != NULL && strstr(c.why, why_has) == NULL)
        fail_msg("want %s: reason \"%s\" lacks \"%s\"",
                 want != NULL ? want : "(null)", c.why, why_has);
}

static void
test_auto_needs_faster(void **state)
{
    struct decprobe p;
    (void)state;
    /* Faster than 0.5 ms together: the GPU. */
    probe(&p, 0.3, NULL, 0, NO_VAAPI);
    choose_ok(&p, NULL, "nvdec", 0, "faster than the CPU's 0.50");
    choose_ok(&p, "auto", "nvdec", 0, "faster");
    /* Faster than one CPU thread but not than eight: the CPU, saying
     * why. */
    probe(&p, 1.5, NULL, 0, NO_VAAPI);
    choose_ok(&p, "auto", "cpu", 0, "nvdec: 1.50 ms/picture, slower");
    /* No GPU decoder at all: the CPU, nothing to say. */
    probe(&p, 0, NO_CUDA, 0, NO_VAAPI);
    choose_ok(&p, "auto", "cpu", 0, NULL);
}

static void
test_auto_fastest(void **state)
{
    struct decprobe p;
    (void)state;
    probe(&p, 0.4, NULL, 0.2, NULL);
    choose_ok(&p, "auto", "vaapi", 0, "vaapi: 0.20");
    probe(&p, 0.1, NULL, 0.2, NULL);
    choose_ok(&p, "auto", "nvdec", 0, "nvdec: 0.10");
}

static void
test_named(void **state)
{
    struct decprobe p;
    (void)state;
    /* Asked for by name and working: used even though slower. */
    probe(&p, 3.0, NULL, 0, NO_VAAPI);
    choose_ok(&p, "nvdec", "nvdec", 0, NULL);
    /* Asked for and unavailable: the CPU, as a fallback with the probe's
     * reason. */
    choose_ok(&p, "vaapi", "cpu", 1, NO_VAAPI);
    probe(&p, 0, NO_CUDA, 0, NO_VAAPI);
    choose_ok(&p, "nvdec", "cpu", 1, NO_CUDA);
    /* The CPU asked for: the CPU, even with a faster GPU. */
    probe(&p, 0.01, NULL, 0.01, NULL);
    choose_ok(&p, "cpu", "cpu", 0, NULL);
}

static void
test_unknown(void **state)
{
    struct decprobe p;
    struct decchoice c;
    char err[ERR_MAX] = "";
    (void)state;
    probe(&p, 0.3, NULL, 0.3, NULL);
    assert_int_equal(decchoice_choose(&p, "nvjpeg", &c, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "nvjpeg"));
    assert_false(decchoice_known("nvjpeg"));
    assert_false(decchoice_known("h264_nvenc"));
    assert_true(decchoice_known("auto"));
    assert_true(decchoice_known("cpu"));
    assert_true(decchoice_known("nvdec"));
    assert_true(decchoice_known("vaapi"));
    assert_true(decchoice_known(NULL));
}

/* The real probe on this machine: every GPU decoder is either usable,
 * with a time and a picture that matches the CPU's, or unavailable with a
 * reason a person can act on. */
static void
test_real_probe(void **state)
{
    struct decprobe p;
    struct decchoice c;
    char err[ERR_MAX];
    (void)state;
    decprobe_run(&p, 2, 1);
    assert_int_equal(p.cpu_threads, 2);
    /* Asked to, the CPU is timed on the 1600x900 test picture. */
    if (!(p.cpu_ms > 0 && p.width == 1600 && p.height == 900))
        fail_msg("CPU decode not timed: %.3f ms for %dx%d", p.cpu_ms, p.width,
                 p.height);
    assert_true(p.n >= 2);
    for (size_t i = 0; i < p.n; i++) {
        const struct decprobe_entry *e = &p.hw[i];
        if (e->ok) {
            if (!(e->ms > 0 && e->psnr >= DECPROBE_MIN_PSNR && p.cpu_ms > 0))
                fail_msg("%s passed with %.3f ms, PSNR %.1f (CPU %.3f ms)",
                         e->name, e->ms, e->psnr, p.cpu_ms);
        } else if (e->reason[0] == '\0') {
            fail_msg("%s unavailable without a reason", e->name);
        }
    }
    assert_int_equal(decchoice_choose(&p, "auto", &c, err, sizeof(err)), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_auto_needs_faster),
        cmocka_unit_test(test_auto_fastest),
        cmocka_unit_test(test_named),
        cmocka_unit_test(test_unknown),
        cmocka_unit_test(test_real_probe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
