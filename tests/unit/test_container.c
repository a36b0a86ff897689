/*
 * test_container.c - the output's container from its name
 * (media/container.h): every extension gives its muxer, any case; each
 * codec is held or refused as libavformat itself would (every cell of the
 * table against avformat_query_codec); the refusals name the output and
 * say what to do instead.
 */
#include "tests/unit/unit.h"

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>

#include "common/err.h"
#include "media/container.h"

static const char *const exts[] = {".mp4", ".mkv", ".mov", ".webm"};
static const char *const codecs[] = {"h264", "hevc", "av1"};

#define NEXT (sizeof(exts) / sizeof(exts[0]))
#define NCODEC (sizeof(codecs) / sizeof(codecs[0]))

/* Names and codecs that must be taken, and the muxer and kind they give. */
static const struct {
    const char *path, *codec, *muxer;
    int isobmff; /* MP4 and MOV: hvc1, faststart */
} accepted[] = {
    {"out.mp4", "h264", "mp4", 1},
    {"o.mp4", "hevc", "mp4", 1},
    {"/videos/scene-0061.mkv", "hevc", "matroska", 0},
    {"a.b/c.mov", "h264", "mov", 1},
    {"o.mov", "hevc", "mov", 1},
    {"out.webm", "av1", "webm", 0},
    {"OUT.MP4", "h264", "mp4", 1},
    {"x.WebM", "av1", "webm", 0},
    {"./rel/.hidden.mkv", "av1", "matroska", 0},
};

/* Names and codecs that must be refused, and what the refusal says. */
static const struct {
    const char *path, *codec, *want;
} refused[] = {
    {"out.webm", "h264",
     "output out.webm: WebM cannot hold h264 video: use --codec av1, or "
     "name the output .mp4, .mkv or .mov"},
    {"dir/out.webm", "hevc", "WebM cannot hold hevc"},
    {"out.avi", "h264",
     "output out.avi: \".avi\" is not a container framefarm writes; name "
     "it .mp4, .mkv, .mov or .webm"},
    {"out", "h264", "output out has no extension"},
    {"dir.mp4/out", "h264", "has no extension"},
    {".mp4", "h264", "has no extension"},
    {"out.mp4.part", "h264", "\".part\" is not a container"},
    {"out.mp4", "vp9", "codec \"vp9\" is not h264, hevc or av1"},
};

static void
test_accepts(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(accepted) / sizeof(accepted[0]); i++) {
        char err[ERR_MAX] = "";
        const struct container *c = container_for_output(
            accepted[i].path, accepted[i].codec, err, sizeof(err));

        if (c == NULL)
            fail_msg("%s with %s refused (%s), want %s", accepted[i].path,
                     accepted[i].codec, err, accepted[i].muxer);
        if (strcmp(c->muxer, accepted[i].muxer) != 0 ||
            c->isobmff != accepted[i].isobmff)
            fail_msg("%s with %s: muxer %s (isobmff %d), want %s (%d)",
                     accepted[i].path, accepted[i].codec, c->muxer, c->isobmff,
                     accepted[i].muxer, accepted[i].isobmff);
    }
}

static void
test_refuses(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        char err[ERR_MAX] = "";
        const struct container *c = container_for_output(
            refused[i].path, refused[i].codec, err, sizeof(err));

        if (c != NULL)
            fail_msg("%s with %s accepted as %s, want refused (%s)",
                     refused[i].path, refused[i].codec, c->muxer,
                     refused[i].want);
        assert_contains(err, refused[i].want);
    }
}

/* The table says what libavformat says, for every cell: a container it
 * holds can be muxed, and a refused one would fail at the concat. */
static void
test_table_agrees_with_libavformat(void **state)
{
    (void)state;
    for (size_t i = 0; i < NEXT; i++) {
        const struct container *c = container_by_ext(exts[i]);
        const AVOutputFormat *of;

        assert_non_null(c);
        of = av_guess_format(c->muxer, NULL, NULL);
        if (of == NULL)
            fail_msg("%s: libavformat has no muxer %s", exts[i], c->muxer);
        for (size_t k = 0; k < NCODEC; k++) {
            char path[32], err[ERR_MAX];
            const AVCodecDescriptor *d =
                avcodec_descriptor_get_by_name(codecs[k]);
            int ours, theirs;

            assert_non_null(d);
            snprintf(path, sizeof(path), "o%s", exts[i]);
            ours =
                container_for_output(path, codecs[k], err, sizeof(err)) != NULL;
            theirs = avformat_query_codec(of, d->id, FF_COMPLIANCE_NORMAL) == 1;
            if (ours != theirs)
                fail_msg("%s with %s: the table says %s, libavformat %s",
                         exts[i], codecs[k], ours ? "yes" : "no",
                         theirs ? "yes" : "no");
        }
    }
    assert_null(container_by_ext(".avi"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepts),
        cmocka_unit_test(test_refuses),
        cmocka_unit_test(test_table_agrees_with_libavformat),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
