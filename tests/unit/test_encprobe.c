/*
 * test_encprobe.c - the encoder selection policy (media/encchoice.h,
 * encchoice_choose) on fake probe results: what auto picks, when a
 * hardware encoder that is asked for falls back to the CPU and when that
 * is refused, how an open per-encoder breaker holds an encoder back and
 * how its half-open probe lets one set through, and which wants are
 * errors whatever the policy (unknown names, the wrong codec). No
 * encoder is opened: the table is made up.
 */
#include "tests/unit/unit.h"

#include "common/breaker.h"
#include "media/encchoice.h"
#include "media/encprobe.h"

#define T0 1000000 /* virtual clock */
#define COOLDOWN_MS 1000
#define NO_CUDA "no NVIDIA driver (cannot load libcuda.so.1)"
#define NO_VAAPI "no VAAPI device (/dev/dri/renderD128 missing)"

enum { NVENC_H264, NVENC_HEVC, VAAPI_H264, VAAPI_HEVC, X264, X265, SVTAV1, N };

struct fixture {
    struct encprobe_entry e[N];
    struct breaker br[N];
};

static void
entry(struct encprobe_entry *e, const char *name, const char *codec,
      enum encprobe_kind kind, const char *reason)
{
    memset(e, 0, sizeof(*e));
    snprintf(e->name, sizeof(e->name), "%s", name);
    snprintf(e->codec, sizeof(e->codec), "%s", codec);
    e->kind = kind;
    e->ok = reason == NULL;
    snprintf(e->reason, sizeof(e->reason), "%s", reason != NULL ? reason : "");
}

/* Every encoder passes, in the back-end table's order. */
static void
fixture_init(struct fixture *f)
{
    struct breaker_config c;

    entry(&f->e[NVENC_H264], "h264_nvenc", "h264", ENCPROBE_NVENC, NULL);
    entry(&f->e[NVENC_HEVC], "hevc_nvenc", "hevc", ENCPROBE_NVENC, NULL);
    entry(&f->e[VAAPI_H264], "h264_vaapi", "h264", ENCPROBE_VAAPI, NULL);
    entry(&f->e[VAAPI_HEVC], "hevc_vaapi", "hevc", ENCPROBE_VAAPI, NULL);
    entry(&f->e[X264], "libx264", "h264", ENCPROBE_CPU, NULL);
    entry(&f->e[X265], "libx265", "hevc", ENCPROBE_CPU, NULL);
    entry(&f->e[SVTAV1], "libsvtav1", "av1", ENCPROBE_CPU, NULL);
    breaker_config_default(&c);
    c.cooldown_ms = COOLDOWN_MS;
    c.cooldown_max_ms = COOLDOWN_MS;
    for (size_t i = 0; i < N; i++)
        breaker_init(&f->br[i], &c, i + 1);
}

/* A machine like this one: no GPU at all. */
static void
fixture_no_gpu(struct fixture *f)
{
    fixture_init(f);
    f->e[NVENC_H264].ok = f->e[NVENC_HEVC].ok = 0;
    snprintf(f->e[NVENC_H264].reason, ENCPROBE_REASON_MAX, NO_CUDA);
    snprintf(f->e[NVENC_HEVC].reason, ENCPROBE_REASON_MAX, NO_CUDA);
    f->e[VAAPI_H264].ok = f->e[VAAPI_HEVC].ok = 0;
    snprintf(f->e[VAAPI_H264].reason, ENCPROBE_REASON_MAX, NO_VAAPI);
    snprintf(f->e[VAAPI_HEVC].reason, ENCPROBE_REASON_MAX, NO_VAAPI);
}

/* choose must succeed with encoder want_enc; fallback "" or containing
 * want_why; retry NULL or want_retry. */
static void
expect_choice(struct fixture *f, struct breaker *br, uint64_t now,
              const char *codec, const char *want, int fallback,
              const char *want_enc, const char *want_why,
              const char *want_retry)
{
    struct encchoice c;
    char err[ERR_MAX] = "";
    int rc = encchoice_choose(f->e, N, br, now, codec, want, fallback, &c, err,
                              sizeof(err));

    if (rc != 0)
        fail_msg("%s for %s (fallback %d): error \"%s\", want %s",
                 want != NULL ? want : "(null)", codec, fallback, err,
                 want_enc);
    if (strcmp(c.encoder, want_enc) != 0)
        fail_msg("%s for %s: chose %s, want %s", want != NULL ? want : "(null)",
                 codec, c.encoder, want_enc);
    assert_string_equal(f->e[c.index].name, c.encoder);
    if (want_why == NULL && c.fallback[0] != '\0')
        fail_msg("%s for %s: unexpected fallback \"%s\"",
                 want != NULL ? want : "(null)", codec, c.fallback);
    if (want_why != NULL)
        assert_contains(c.fallback, want_why);
    if (want_retry == NULL && c.retry != NULL)
        fail_msg("%s for %s: unexpected retry %s",
                 want != NULL ? want : "(null)", codec, c.retry);
    if (want_retry != NULL) {
        assert_non_null(c.retry);
        assert_string_equal(c.retry, want_retry);
    }
}

static void
expect_error(struct fixture *f, struct breaker *br, const char *codec,
             const char *want, int fallback, const char *want_err)
{
    struct encchoice c;
    char err[ERR_MAX] = "";
    int rc = encchoice_choose(f->e, N, br, T0, codec, want, fallback, &c, err,
                              sizeof(err));

    if (rc != -1)
        fail_msg("%s for %s (fallback %d): chose %s, want an error with "
                 "\"%s\"",
                 want, codec, fallback, c.encoder, want_err);
    assert_contains(err, want_err);
}

/* auto: the first entry that passed, in table order, NVENC first. */
static void
test_auto_table_order(void **state)
{
    struct fixture f;
    (void)state;

    fixture_init(&f);
    expect_choice(&f, f.br, T0, "h264", "auto", 1, "h264_nvenc", NULL,
                  "libx264");
    expect_choice(&f, NULL, T0, "hevc", NULL, 1, "hevc_nvenc", NULL, "libx265");
    f.e[NVENC_H264].ok = 0;
    expect_choice(&f, f.br, T0, "h264", "auto", 1, "h264_vaapi", NULL,
                  "libx264");
    fixture_no_gpu(&f);
    expect_choice(&f, f.br, T0, "h264", "auto", 1, "libx264", NULL, NULL);
    expect_choice(&f, f.br, T0, "av1", "auto", 0, "libsvtav1", NULL, NULL);
    /* auto asks for nothing in particular: fallback none never refuses */
    expect_choice(&f, f.br, T0, "h264", "auto", 0, "libx264", NULL, NULL);
    f.e[SVTAV1].ok = 0;
    snprintf(f.e[SVTAV1].reason, ENCPROBE_REASON_MAX, "hangs");
    expect_error(&f, f.br, "av1", "auto", 1, "libsvtav1: hangs");
}

/* nvenc asked for on a machine without it: the CPU with the reason, or
 * an error naming it when the fallback is off. */
static void
test_requested_unavailable(void **state)
{
    struct fixture f;
    (void)state;

    fixture_no_gpu(&f);
    expect_choice(&f, f.br, T0, "h264", "nvenc", 1, "libx264",
                  "encoder nvenc unavailable (h264_nvenc: " NO_CUDA ")", NULL);
    expect_choice(&f, f.br, T0, "hevc", "vaapi", 1, "libx265", NO_VAAPI, NULL);
    expect_choice(&f, f.br, T0, "h264", "h264_nvenc", 1, "libx264",
                  "libcuda.so.1", NULL);
    expect_error(&f, f.br, "h264", "nvenc", 0, "libcuda.so.1");
    expect_error(&f, f.br, "h264", "nvenc", 0, ENCCHOICE_NO_FALLBACK);
    expect_error(&f, f.br, "h264", "h264_vaapi", 0, NO_VAAPI);
    /* no kind of that name for the codec: a fallback too */
    expect_choice(&f, f.br, T0, "av1", "nvenc", 1, "libsvtav1",
                  "there is no nvenc encoder for av1", NULL);
    /* nothing to fall back to */
    f.e[X264].ok = 0;
    snprintf(f.e[X264].reason, ENCPROBE_REASON_MAX, "broken");
    expect_error(&f, f.br, "h264", "nvenc", 1, "no CPU encoder for h264");
}

/* A hardware encoder that passed: used, with the CPU encoder as its
 * run-time retry only when the fallback is allowed. */
static void
test_requested_available(void **state)
{
    struct fixture f;
    (void)state;

    fixture_init(&f);
    expect_choice(&f, f.br, T0, "h264", "nvenc", 1, "h264_nvenc", NULL,
                  "libx264");
    expect_choice(&f, f.br, T0, "h264", "nvenc", 0, "h264_nvenc", NULL, NULL);
    expect_choice(&f, f.br, T0, "hevc", "hevc_vaapi", 1, "hevc_vaapi", NULL,
                  "libx265");
    expect_choice(&f, f.br, T0, "h264", "cpu", 1, "libx264", NULL, NULL);
    expect_choice(&f, f.br, T0, "h264", "libx264", 0, "libx264", NULL, NULL);
}

/* An open breaker holds its encoder back; after the cool-down exactly one
 * choice gets it (the half-open probe), and a success closes it. */
static void
test_breaker_skips(void **state)
{
    struct fixture f;
    uint64_t later = T0 + COOLDOWN_MS + 1;
    (void)state;

    fixture_init(&f);
    breaker_trip(&f.br[NVENC_H264], T0, "avcodec_send_frame failed");
    expect_choice(&f, f.br, T0, "h264", "auto", 1, "h264_vaapi",
                  "h264_nvenc: held back", "libx264");
    expect_choice(&f, f.br, T0, "h264", "nvenc", 1, "libx264",
                  "avcodec_send_frame failed", NULL);
    expect_error(&f, f.br, "h264", "h264_nvenc", 0, "held back");
    /* another codec's encoder is not affected */
    expect_choice(&f, f.br, T0, "hevc", "nvenc", 1, "hevc_nvenc", NULL,
                  "libx265");
    /* without breakers nothing is held back */
    expect_choice(&f, NULL, T0, "h264", "nvenc", 1, "h264_nvenc", NULL,
                  "libx264");
    /* the probe goes to one choice only */
    expect_choice(&f, f.br, later, "h264", "nvenc", 1, "h264_nvenc", NULL,
                  "libx264");
    assert_int_equal(f.br[NVENC_H264].state, BREAKER_HALF_OPEN);
    expect_choice(&f, f.br, later, "h264", "nvenc", 1, "libx264", "held back",
                  NULL);
    breaker_record(&f.br[NVENC_H264], true, later, "");
    expect_choice(&f, f.br, later, "h264", "nvenc", 1, "h264_nvenc", NULL,
                  "libx264");
    /* a CPU encoder's breaker is never consulted */
    breaker_trip(&f.br[X264], T0, "x");
    fixture_no_gpu(&f);
    expect_choice(&f, f.br, T0, "h264", "auto", 1, "libx264", NULL, NULL);
}

/* Wants that can never work are errors, whatever the fallback. */
static void
test_bad_wants(void **state)
{
    struct fixture f;
    (void)state;

    fixture_init(&f);
    expect_error(&f, f.br, "h264", "h264_qsv", 1, "not one of the back ends");
    expect_error(&f, f.br, "h264", "gpu", 1, "not one of the back ends");
    expect_error(&f, f.br, "h264", "libx265", 1, "makes hevc, not h264");
    expect_error(&f, f.br, "hevc", "h264_nvenc", 1, "makes h264, not hevc");
    /* a CPU encoder that failed has nothing to fall back to */
    f.e[SVTAV1].ok = 0;
    snprintf(f.e[SVTAV1].reason, ENCPROBE_REASON_MAX, "hangs");
    expect_error(&f, f.br, "av1", "libsvtav1", 1, "libsvtav1: hangs");
    expect_error(&f, f.br, "av1", "cpu", 1, "hangs");
}

/* encchoice_pick: no breakers, no fallback. */
static void
test_pick(void **state)
{
    struct fixture f;
    char err[ERR_MAX] = "";
    const char *name;
    (void)state;

    fixture_no_gpu(&f);
    name = encchoice_pick(f.e, N, "h264", "auto", err, sizeof(err));
    assert_non_null(name);
    assert_string_equal(name, "libx264");
    assert_null(encchoice_pick(f.e, N, "h264", "nvenc", err, sizeof(err)));
    assert_contains(err, "libcuda.so.1");
}

static void
test_presets(void **state)
{
    (void)state;
    assert_true(encprobe_preset_known("ultrafast"));
    assert_true(encprobe_preset_known("veryfast"));
    assert_true(encprobe_preset_known("placebo"));
    assert_false(encprobe_preset_known("fastest"));
    assert_false(encprobe_preset_known(""));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_auto_table_order),
        cmocka_unit_test(test_requested_unavailable),
        cmocka_unit_test(test_requested_available),
        cmocka_unit_test(test_breaker_skips),
        cmocka_unit_test(test_bad_wants),
        cmocka_unit_test(test_pick),
        cmocka_unit_test(test_presets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
