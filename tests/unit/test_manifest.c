/*
 * test_manifest.c - set manifests (common/manifest.h) and the encode
 * parameters inside them (common/encparams.h): what a node accepts from an
 * assign, and every reason it refuses one, with a readable error.
 */
#include "tests/unit/unit.h"

#include "common/encparams.h"
#include "common/err.h"
#include "common/manifest.h"

#define GOOD_FRAMES 3
#define GOOD_WIDTH 1600
#define GOOD_HEIGHT 900

static const char *const good_names[GOOD_FRAMES] = {
    "n015__CAM_FRONT__1001.jpg",
    "sub/dir/n015__CAM_FRONT__1002.jpg",
    "n015__CAM_FRONT__1003.JPEG",
};

/* A manifest that manifest_from_json must accept. */
static struct manifest *
good_manifest(void)
{
    struct manifest *m = manifest_new();
    assert_non_null(m);
    snprintf(m->job, sizeof(m->job), "demo-job_1.x");
    m->set = 2;
    m->sets = 3;
    m->epoch = 5;
    m->first = 10;
    m->total = 13;
    assert_int_equal(manifest_set_zip(m, "jobs/demo/input.zip"), 0);
    encparams_init(&m->enc);
    m->enc.width = GOOD_WIDTH;
    m->enc.height = GOOD_HEIGHT;
    m->enc.fps_num = 30000;
    m->enc.fps_den = 1001;
    assert_int_equal(manifest_alloc_frames(m, GOOD_FRAMES), 0);
    assert_int_equal(manifest_set_frame(m, 0, good_names[0], 1, 0), 0);
    assert_int_equal(manifest_set_frame(m, 1, good_names[1],
                                        MANIFEST_MAX_FRAME_BYTES, UINT32_MAX),
                     0);
    assert_int_equal(
        manifest_set_frame(m, 2, good_names[2], 123456, 0xdeadbeefu), 0);
    return m;
}

static cJSON *
good_json(void)
{
    struct manifest *m = good_manifest();
    cJSON *o = manifest_to_json(m);
    assert_non_null(o);
    manifest_free(m);
    return o;
}

static void
assert_manifests_equal(const struct manifest *a, const struct manifest *b)
{
    assert_string_equal(a->job, b->job);
    assert_int_equal(a->set, b->set);
    assert_int_equal(a->sets, b->sets);
    assert_int_equal(a->epoch, b->epoch);
    assert_string_equal(a->zip, b->zip);
    assert_int_equal(a->first, b->first);
    assert_int_equal(a->total, b->total);
    assert_int_equal(a->count, b->count);
    for (size_t i = 0; i < a->count; i++) {
        assert_string_equal(a->frames[i].name, b->frames[i].name);
        assert_int_equal(a->frames[i].size, b->frames[i].size);
        assert_int_equal(a->frames[i].crc, b->frames[i].crc);
        assert_int_equal(a->frames[i].pts, b->frames[i].pts);
    }
    assert_int_equal(a->enc.timing, b->enc.timing);
    assert_string_equal(a->enc.codec, b->enc.codec);
    assert_string_equal(a->enc.encoder, b->enc.encoder);
    assert_string_equal(a->enc.preset, b->enc.preset);
    assert_string_equal(a->enc.fallback, b->enc.fallback);
    assert_int_equal(a->enc.crf, b->enc.crf);
    assert_int_equal(a->enc.fps_num, b->enc.fps_num);
    assert_int_equal(a->enc.fps_den, b->enc.fps_den);
    assert_int_equal(a->enc.width, b->enc.width);
    assert_int_equal(a->enc.height, b->enc.height);
    assert_int_equal(a->enc.gop, b->enc.gop);
}

/* manifest_from_json must refuse o, with an error mentioning want. */
static void
expect_reject(const cJSON *o, const char *want)
{
    struct manifest *m = NULL;
    char err[ERR_MAX] = "";
    int rc = manifest_from_json(o, &m, err, sizeof(err));

    if (rc != -1) {
        char *text = cJSON_PrintUnformatted(o);
        manifest_free(m);
        fail_msg("accepted (rc %d) a manifest that should fail with \"%s\": "
                 "%s",
                 rc, want, text != NULL ? text : "?");
    }
    assert_null(m);
    assert_true(err[0] != '\0');
    assert_contains(err, want);
}

/* Replace (or add) o[key] with item, then expect a rejection. */
static void
expect_reject_with(const char *key, cJSON *item, const char *want)
{
    cJSON *o = good_json();
    assert_non_null(item);
    cJSON_DeleteItemFromObjectCaseSensitive(o, key);
    cJSON_AddItemToObject(o, key, item);
    expect_reject(o, want);
    cJSON_Delete(o);
}

static void
expect_reject_without(const char *key, const char *want)
{
    cJSON *o = good_json();
    cJSON_DeleteItemFromObjectCaseSensitive(o, key);
    expect_reject(o, want);
    cJSON_Delete(o);
}

/* Set encode[key] = n, then expect a rejection. */
static void
expect_reject_enc(const char *key, double n, const char *want)
{
    cJSON *o = good_json();
    cJSON *enc = cJSON_GetObjectItemCaseSensitive(o, "encode");
    assert_non_null(enc);
    cJSON_DeleteItemFromObjectCaseSensitive(enc, key);
    assert_non_null(cJSON_AddNumberToObject(enc, key, n));
    expect_reject(o, want);
    cJSON_Delete(o);
}

/* Replace frames[0][key] with item (NULL: remove it). */
static void
expect_reject_frame(const char *key, cJSON *item, const char *want)
{
    cJSON *o = good_json();
    cJSON *f = cJSON_GetArrayItem(cJSON_GetObjectItem(o, "frames"), 0);
    assert_non_null(f);
    cJSON_DeleteItemFromObjectCaseSensitive(f, key);
    if (item != NULL)
        cJSON_AddItemToObject(f, key, item);
    expect_reject(o, want);
    cJSON_Delete(o);
}

/* in as text, and parsed back into *out, which must equal it. The text;
 * free it and *out. */
static char *
round_trip(const struct manifest *in, struct manifest **out)
{
    char err[ERR_MAX] = "";
    char *text = manifest_to_text(in);

    assert_non_null(text);
    if (manifest_from_text(text, strlen(text), out, err, sizeof(err)) != 0)
        fail_msg("round trip refused: %s\n%s", err, text);
    assert_manifests_equal(in, *out);
    return text;
}

static void
test_round_trip_text(void **state)
{
    struct manifest *in = good_manifest(), *out = NULL;
    char *text = round_trip(in, &out);
    (void)state;

    manifest_free(in);
    manifest_free(out);
    free(text);
}

/* The last set may end exactly at the job's last frame. */
static void
test_accepts_frames_ending_at_total(void **state)
{
    struct manifest *in = good_manifest(), *out = NULL;
    char *text;
    (void)state;

    in->first = 0;
    in->total = GOOD_FRAMES;
    in->set = 0;
    in->sets = 1;
    text = round_trip(in, &out);
    assert_int_equal(out->first + out->count, out->total);
    manifest_free(in);
    manifest_free(out);
    free(text);
}

static void
test_rejects_version(void **state)
{
    (void)state;
    expect_reject_with("version", cJSON_CreateNumber(MANIFEST_VERSION - 1),
                       "version");
    expect_reject_with("version",
                       cJSON_CreateNumber(MANIFEST_VERSION_TIMESTAMPS + 1),
                       "version");
    expect_reject_with("version", cJSON_CreateString("1"), "version");
    expect_reject_without("version", "version");
}

static void
test_rejects_job_id(void **state)
{
    const char *bad[] = {"",
                         "../x",
                         ".hidden",
                         "a/b",
                         "a b",
                         "0123456789012345678901234567890123456789"
                         "012345678901234567890123"}; /* 64 chars */
    (void)state;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        expect_reject_with("job", cJSON_CreateString(bad[i]), "job id");
    expect_reject_with("job", cJSON_CreateNumber(1), "job id");
    expect_reject_without("job", "job id");
}

static void
test_rejects_zip_path(void **state)
{
    const char *bad[] = {"/srv/share/in.zip", "../in.zip", "jobs/../../in.zip",
                         "jobs//in.zip", ""};
    (void)state;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        expect_reject_with("zip", cJSON_CreateString(bad[i]), "zip path");
    expect_reject_without("zip", "zip path");
}

static void
test_rejects_set_not_below_sets(void **state)
{
    (void)state;
    expect_reject_with("set", cJSON_CreateNumber(3), "set id"); /* sets 3 */
    expect_reject_with("set", cJSON_CreateNumber(4), "set id");
    expect_reject_with("set", cJSON_CreateNumber(1.5), "set id");
    expect_reject_with("set", cJSON_CreateNumber(-1), "set id");
    expect_reject_with("sets", cJSON_CreateNumber(0), "set id");
    expect_reject_without("set", "set id");
}

static void
test_rejects_unsafe_frame_names(void **state)
{
    const char *bad[] = {"../x.jpg", "/etc/x",       "a/../../x.jpg",
                         "",         "a\\..\\x.jpg", "a\nb.jpg"};
    (void)state;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        expect_reject_frame("name", cJSON_CreateString(bad[i]), "unsafe");
    expect_reject_frame("name", NULL, "name missing");
}

static void
test_rejects_frame_size_and_crc(void **state)
{
    (void)state;
    expect_reject_frame("size", cJSON_CreateNumber(0), "size or crc");
    expect_reject_frame(
        "size", cJSON_CreateNumber((double)MANIFEST_MAX_FRAME_BYTES + 1),
        "size or crc");
    expect_reject_frame("size", NULL, "size or crc");
    expect_reject_frame("crc", cJSON_CreateNumber((double)UINT32_MAX + 1),
                        "size or crc");
    expect_reject_frame("crc", cJSON_CreateString("0"), "size or crc");
}

static void
test_rejects_encode_params(void **state)
{
    (void)state;
    expect_reject_enc("crf", 52, "crf");
    expect_reject_enc("crf", -1, "encode parameter");
    expect_reject_enc("width", GOOD_WIDTH + 1, "frame size");
    expect_reject_enc("height", GOOD_HEIGHT - 1, "frame size");
    expect_reject_enc("width", ENC_MAX_DIM + 2, "frame size");
    expect_reject_enc("height", 0, "frame size");
    expect_reject_enc("fps_num", 0, "frame rate");
    expect_reject_enc("fps_den", 0, "frame rate");
    expect_reject_enc("gop", 0, "gop");
    expect_reject_with("encode", cJSON_CreateString("h264"), "not an object");
    expect_reject_without("encode", "not an object");
}

/* The fallback policy travels in the manifest: "cpu" (the default, also
 * for a manifest that predates the field) or "none"; nothing else. */
static void
test_fallback_field(void **state)
{
    struct manifest *in = good_manifest(), *out = NULL;
    char err[ERR_MAX] = "";
    cJSON *o, *enc;
    (void)state;

    assert_string_equal(in->enc.fallback, ENC_FALLBACK_CPU);
    snprintf(in->enc.fallback, sizeof(in->enc.fallback), ENC_FALLBACK_NONE);
    o = manifest_to_json(in);
    assert_non_null(o);
    if (manifest_from_json(o, &out, err, sizeof(err)) != 0)
        fail_msg("fallback none refused: %s", err);
    assert_manifests_equal(in, out);
    manifest_free(out);
    out = NULL;
    enc = cJSON_GetObjectItemCaseSensitive(o, "encode");
    cJSON_DeleteItemFromObjectCaseSensitive(enc, "fallback");
    if (manifest_from_json(o, &out, err, sizeof(err)) != 0)
        fail_msg("manifest without fallback refused: %s", err);
    assert_string_equal(out->enc.fallback, ENC_FALLBACK_CPU);
    manifest_free(out);
    out = NULL;
    cJSON_AddStringToObject(enc, "fallback", "gpu");
    expect_reject(o, "fallback \"gpu\" is not cpu or none");
    cJSON_DeleteItemFromObjectCaseSensitive(enc, "fallback");
    cJSON_AddNumberToObject(enc, "fallback", 1);
    expect_reject(o, "fallback is not a string");
    cJSON_Delete(o);
    manifest_free(in);
}

/* A manifest whose frames carry their capture times. */
static struct manifest *
timed_manifest(void)
{
    static const uint64_t pts[GOOD_FRAMES] = {0, 83385, 168368};
    struct manifest *m = good_manifest();

    m->enc.timing = ENC_TIMING_TIMESTAMPS;
    for (size_t i = 0; i < GOOD_FRAMES; i++)
        m->frames[i].pts = pts[i];
    return m;
}

/* --timing timestamps travels in the manifest: encode.timing, each frame's
 * pts, and version 2 so that a node that knows only version 1 refuses the
 * set rather than render it at a constant rate. */
static void
test_timing_timestamps_round_trip(void **state)
{
    struct manifest *in = timed_manifest(), *out = NULL;
    char *text = round_trip(in, &out);
    (void)state;

    assert_contains(text, "\"version\":2");
    assert_contains(text, "\"timing\":\"timestamps\"");
    assert_contains(text, "\"pts\":83385");
    manifest_free(in);
    manifest_free(out);
    free(text);
}

/* A constant-rate manifest is written as before the field existed (version
 * 1, no timing, no pts), and such a manifest means fps. */
static void
test_timing_fps_as_before(void **state)
{
    struct manifest *in = good_manifest(), *out = NULL;
    char *text = round_trip(in, &out);
    (void)state;

    assert_contains(text, "\"version\":1");
    if (strstr(text, "timing") != NULL || strstr(text, "pts") != NULL)
        fail_msg("an fps manifest names its timing or pts: %s", text);
    assert_int_equal(out->enc.timing, ENC_TIMING_FPS);
    manifest_free(in);
    manifest_free(out);
    free(text);
}

/* Change a timed manifest's JSON with edit, then expect a rejection. */
static void
expect_reject_timed(void (*edit)(cJSON *o), const char *want)
{
    struct manifest *m = timed_manifest();
    cJSON *o = manifest_to_json(m);

    assert_non_null(o);
    edit(o);
    expect_reject(o, want);
    cJSON_Delete(o);
    manifest_free(m);
}

static cJSON *
frame_of(cJSON *o, int i)
{
    return cJSON_GetArrayItem(cJSON_GetObjectItem(o, "frames"), i);
}

static void
edit_pts_backwards(cJSON *o)
{
    cJSON_ReplaceItemInObject(frame_of(o, 2), "pts", cJSON_CreateNumber(83385));
}

static void
edit_pts_missing(cJSON *o)
{
    cJSON_DeleteItemFromObjectCaseSensitive(frame_of(o, 1), "pts");
}

static void
edit_pts_too_far(cJSON *o)
{
    cJSON_ReplaceItemInObject(frame_of(o, 2), "pts",
                              cJSON_CreateNumber((double)MANIFEST_MAX_PTS + 1));
}

static void
edit_version_1(cJSON *o)
{
    cJSON_ReplaceItemInObject(o, "version",
                              cJSON_CreateNumber(MANIFEST_VERSION));
}

static void
edit_timing_vfr(cJSON *o)
{
    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(o, "encode"), "timing",
                              cJSON_CreateString("vfr"));
}

static void
edit_timing_gone(cJSON *o)
{
    cJSON_DeleteItemFromObjectCaseSensitive(cJSON_GetObjectItem(o, "encode"),
                                            "timing");
}

static void
test_rejects_timing(void **state)
{
    (void)state;
    expect_reject_timed(edit_pts_backwards, "frame 2: pts");
    expect_reject_timed(edit_pts_missing, "frame 1: pts");
    expect_reject_timed(edit_pts_too_far, "frame 2: pts");
    expect_reject_timed(edit_version_1, "version 1 with timing timestamps");
    expect_reject_timed(edit_timing_vfr, "timing is not");
    /* version 2 says the frames are timed; without the field they are not */
    expect_reject_timed(edit_timing_gone, "version 2 with timing fps");
    /* a pts in a constant-rate manifest */
    expect_reject_frame("pts", cJSON_CreateNumber(0), "frame 0: pts");
}

static void
test_parse_timing(void **state)
{
    int t = -1;
    (void)state;

    assert_int_equal(encparams_parse_timing("fps", &t), 0);
    assert_int_equal(t, ENC_TIMING_FPS);
    assert_int_equal(encparams_parse_timing("timestamps", &t), 0);
    assert_int_equal(t, ENC_TIMING_TIMESTAMPS);
    assert_int_equal(encparams_parse_timing("Timestamps", &t), -1);
    assert_int_equal(encparams_parse_timing("", &t), -1);
    assert_int_equal(t, ENC_TIMING_TIMESTAMPS);
    assert_string_equal(encparams_timing_name(ENC_TIMING_FPS), "fps");
    assert_string_equal(encparams_timing_name(ENC_TIMING_TIMESTAMPS),
                        "timestamps");
}

static void
test_rejects_frames_beyond_total(void **state)
{
    (void)state;
    /* first 10 + 3 frames > 12 */
    expect_reject_with("total", cJSON_CreateNumber(12), "exceed");
    expect_reject_with("first", cJSON_CreateNumber(11), "exceed");
}

static void
test_rejects_frame_count(void **state)
{
    cJSON *o = good_json();
    cJSON *frames = cJSON_GetObjectItem(o, "frames");
    cJSON *first = cJSON_GetArrayItem(frames, 0);
    (void)state;

    assert_non_null(first);
    while (cJSON_GetArraySize(frames) <= MANIFEST_MAX_FRAMES)
        cJSON_AddItemToArray(frames, cJSON_Duplicate(first, 1));
    assert_non_null(cJSON_ReplaceItemInObject(
        o, "total", cJSON_CreateNumber(2 * MANIFEST_MAX_FRAMES)));
    expect_reject(o, "entries");
    cJSON_Delete(o);

    expect_reject_with("frames", cJSON_CreateArray(), "entries");
    expect_reject_without("frames", "entries");
}

static void
test_rejects_text_size(void **state)
{
    struct manifest *good = good_manifest(), *m = NULL;
    char err[ERR_MAX] = "";
    char *text = manifest_to_text(good), *big;
    size_t n;
    (void)state;

    assert_non_null(text);
    n = strlen(text);
    /* A valid manifest padded with spaces past the limit. */
    big = malloc(MANIFEST_MAX_BYTES + 2);
    assert_non_null(big);
    memcpy(big, text, n);
    memset(big + n, ' ', MANIFEST_MAX_BYTES + 1 - n);
    big[MANIFEST_MAX_BYTES + 1] = '\0';
    assert_int_equal(
        manifest_from_text(big, MANIFEST_MAX_BYTES + 1, &m, err, sizeof(err)),
        -1);
    assert_null(m);
    assert_contains(err, "bytes outside");

    err[0] = '\0';
    assert_int_equal(manifest_from_text(text, 0, &m, err, sizeof(err)), -1);
    assert_contains(err, "bytes outside");
    manifest_free(good);
    free(text);
    free(big);
}

static void
test_rejects_not_json(void **state)
{
    const char *bad[] = {"{\"version\":1,", "manifest", "\"a string\""};
    const char *want[] = {"not valid JSON", "not valid JSON", "not a JSON"};
    (void)state;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct manifest *m = NULL;
        char err[ERR_MAX] = "";
        assert_int_equal(
            manifest_from_text(bad[i], strlen(bad[i]), &m, err, sizeof(err)),
            -1);
        assert_null(m);
        assert_contains(err, want[i]);
    }
}

/* Parse s, expecting num/den. */
static void
expect_fps(const char *s, int num, int den)
{
    int n = -1, d = -1;
    if (encparams_parse_fps(s, &n, &d) != 0)
        fail_msg("\"%s\" refused, want %d/%d", s, num, den);
    if (n != num || d != den)
        fail_msg("\"%s\" -> %d/%d, want %d/%d", s, n, d, num, den);
}

static void
test_parse_fps_accepts(void **state)
{
    (void)state;
    expect_fps("12", 12, 1);
    expect_fps("1000", ENC_MAX_FPS, 1);
    expect_fps("30000/1001", 30000, 1001);
    expect_fps("25/2", 25, 2);
}

/* The NTSC rates written as decimals mean the exact /1001 rates, so sets
 * encoded from "29.97" match footage at 30000/1001. */
static void
test_parse_fps_ntsc_decimals(void **state)
{
    (void)state;
    expect_fps("29.97", 30000, 1001);
    expect_fps("23.976", 24000, 1001);
    expect_fps("59.94", 60000, 1001);
}

static void
test_parse_fps_rejects(void **state)
{
    const char *bad[] = {"0",     "-1", "abc", "12x", "",    "1/0",  "0/1",
                         "-30/1", "/1", "12/", "inf", "nan", "1001", "12/1x"};
    (void)state;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int n = 0, d = 0;
        int rc = encparams_parse_fps(bad[i], &n, &d);
        if (rc != -1)
            fail_msg("\"%s\" accepted as %d/%d, want -1", bad[i], n, d);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_text),
        cmocka_unit_test(test_accepts_frames_ending_at_total),
        cmocka_unit_test(test_rejects_version),
        cmocka_unit_test(test_rejects_job_id),
        cmocka_unit_test(test_rejects_zip_path),
        cmocka_unit_test(test_rejects_set_not_below_sets),
        cmocka_unit_test(test_rejects_unsafe_frame_names),
        cmocka_unit_test(test_rejects_frame_size_and_crc),
        cmocka_unit_test(test_rejects_encode_params),
        cmocka_unit_test(test_fallback_field),
        cmocka_unit_test(test_timing_timestamps_round_trip),
        cmocka_unit_test(test_timing_fps_as_before),
        cmocka_unit_test(test_rejects_timing),
        cmocka_unit_test(test_parse_timing),
        cmocka_unit_test(test_rejects_frames_beyond_total),
        cmocka_unit_test(test_rejects_frame_count),
        cmocka_unit_test(test_rejects_text_size),
        cmocka_unit_test(test_rejects_not_json),
        cmocka_unit_test(test_parse_fps_accepts),
        cmocka_unit_test(test_parse_fps_ntsc_decimals),
        cmocka_unit_test(test_parse_fps_rejects),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
