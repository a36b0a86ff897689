/*
 * test_checker.c - what the ambassador's check of a mini-video proves
 * (coordinator/checker.c TASK_CHECK), now that the stream's parameters
 * are read from the container without decoding (media/vidinfo.c): a real
 * mini-video rendered as a node renders one passes; the same file is
 * rejected when the node's sha256 or size is not the file's, when the set
 * has another frame count, when it is cut short, and when the job wants
 * another codec or size. And the container-read parameters are those the
 * decode used to give: codec, size, profile and level. And the concat
 * publishes nothing when a counted set's file changed since it was
 * counted, even for another sound video of the same frames.
 */
#include "tests/unit/unit.h"

#include <dirent.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include "common/evq.h"
#include "common/hash.h"
#include "common/manifest.h"
#include "coordinator/checker.h"
#include "media/concat.h"
#include "media/concatread.h"
#include "media/render.h"
#include "media/sample.h"
#include "media/vidinfo.h"
#include "media/zipframes.h"

#define CHECK_FRAMES 8
#define CHECK_W 160
#define CHECK_H 96

struct fixture {
    char *dir;
    char video[FS_PATH_MAX];
    struct ev_result r; /* what an honest node says of video */
    struct enc_params enc;
};

static int
setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct sample_opts so;
    struct zipf_limits lim;
    struct zipf_listing *l = NULL;
    struct manifest *m = manifest_new();
    struct render_result res;
    char zip[FS_PATH_MAX], err[ERR_MAX], name[ZIPF_NAME_MAX];

    assert_non_null(f);
    assert_non_null(m);
    assert_int_equal(unit_tmpdir_setup((void **)&f->dir), 0);
    snprintf(zip, sizeof(zip), "%s/s.zip", f->dir);
    snprintf(f->video, sizeof(f->video), "%s/set.mp4", f->dir);
    sample_opts_init(&so);
    so.frames = CHECK_FRAMES;
    so.width = CHECK_W;
    so.height = CHECK_H;
    if (sample_write_zip(zip, &so, err, sizeof(err)) == -1)
        fail_msg("sample: %s", err);
    zipf_limits_init(&lim);
    if (zipf_list(zip, &lim, &l, err, sizeof(err)) == -1)
        fail_msg("list: %s", err);
    encparams_init(&m->enc);
    m->enc.width = CHECK_W;
    m->enc.height = CHECK_H;
    snprintf(m->job, sizeof(m->job), "t");
    m->sets = 1;
    m->total = l->count;
    assert_int_equal(manifest_set_zip(m, zip), 0);
    assert_int_equal(manifest_alloc_frames(m, l->count), 0);
    for (size_t i = 0; i < l->count; i++)
        manifest_set_frame(m, i, zipf_frame_name(l, i, name), l->frames[i].size,
                           l->frames[i].crc);
    struct render_request rq = {
        .m = m,
        .zip_path = zip,
        .out_path = f->video,
        .encoder = "libx264",
        .threads = 1,
        .enc_threads = 1,
    };
    if (render_set(&rq, NULL, NULL, &res, err, sizeof(err)) == -1)
        fail_msg("render: %s", err);
    f->r.frames = res.frames;
    f->r.bytes = res.bytes;
    snprintf(f->r.sha256, sizeof(f->r.sha256), "%s", res.sha256);
    f->enc = m->enc;
    manifest_free(m);
    zipf_listing_free(l);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *f = *state;
    unit_tmpdir_teardown((void **)&f->dir);
    free(f);
    return 0;
}

/* One check through a real checker thread; the event's ok and text. */
static int
check(const char *path, const struct ev_result *r, uint64_t frames,
      const struct enc_params *enc, char *text, size_t len)
{
    struct evq *q = evq_new();
    struct checker *k = checker_start(q);
    struct amb_event *ev = NULL;
    int ok;

    assert_non_null(k);
    checker_check(k, 1, r, path, frames, enc);
    while ((ev = evq_pop(q)) == NULL) {
        struct pollfd p = {.fd = evq_fd(q), .events = POLLIN};
        poll(&p, 1, 1000);
    }
    assert_int_equal(ev->type, EV_CHECKED);
    ok = ev->u.checked.ok;
    snprintf(text, len, "%s", ev->u.checked.text);
    free(ev);
    checker_free(k);
    evq_free(q, free);
    return ok;
}

/* A copy of the video at path (the checker removes what it rejects). */
static void
copy_of(const struct fixture *f, const char *name, char *path, size_t len,
        off_t keep)
{
    snprintf(path, len, "%s/%s", f->dir, name);
    assert_true(fs_copy_atomic(f->video, path) >= 0);
    if (keep >= 0)
        assert_int_equal(truncate(path, keep), 0);
}

static void
test_honest_result_passes(void **state)
{
    struct fixture *f = *state;
    char path[FS_PATH_MAX], text[ERR_MAX];
    copy_of(f, "ok.mp4", path, sizeof(path), -1);
    if (!check(path, &f->r, CHECK_FRAMES, &f->enc, text, sizeof(text)))
        fail_msg("rejected: %s", text);
}

static void
test_wrong_hash_rejected(void **state)
{
    struct fixture *f = *state;
    struct ev_result r = f->r;
    char path[FS_PATH_MAX], text[ERR_MAX];
    copy_of(f, "hash.mp4", path, sizeof(path), -1);
    r.sha256[0] = r.sha256[0] == '0' ? '1' : '0';
    assert_false(check(path, &r, CHECK_FRAMES, &f->enc, text, sizeof(text)));
    assert_contains(text, "sha256");
    assert_int_equal(access(path, F_OK), -1); /* removed */
}

static void
test_wrong_frame_count_rejected(void **state)
{
    struct fixture *f = *state;
    char path[FS_PATH_MAX], text[ERR_MAX];
    copy_of(f, "count.mp4", path, sizeof(path), -1);
    assert_false(
        check(path, &f->r, CHECK_FRAMES + 1, &f->enc, text, sizeof(text)));
    assert_contains(text, "has 8 frames, the set has 9");
}

/* A node that cut its file short and reported the short file's own size
 * and hash: the container no longer holds the set. */
static void
test_truncated_rejected(void **state)
{
    struct fixture *f = *state;
    struct ev_result r = f->r;
    char path[FS_PATH_MAX], text[ERR_MAX];
    uint64_t size;
    copy_of(f, "cut.mp4", path, sizeof(path), (off_t)(f->r.bytes * 2 / 3));
    assert_int_equal(hash_sha256_file(path, r.sha256, &size), 0);
    r.bytes = size;
    assert_false(check(path, &r, CHECK_FRAMES, &f->enc, text, sizeof(text)));
}

static void
test_wrong_codec_rejected(void **state)
{
    struct fixture *f = *state;
    struct enc_params enc = f->enc;
    char path[FS_PATH_MAX], text[ERR_MAX];
    copy_of(f, "codec.mp4", path, sizeof(path), -1);
    snprintf(enc.codec, sizeof(enc.codec), "hevc");
    assert_false(check(path, &f->r, CHECK_FRAMES, &enc, text, sizeof(text)));
    assert_contains(text, "result codec is h264, the job wants hevc");
}

static void
test_wrong_size_rejected(void **state)
{
    struct fixture *f = *state;
    struct enc_params enc = f->enc;
    char path[FS_PATH_MAX], text[ERR_MAX];
    copy_of(f, "size.mp4", path, sizeof(path), -1);
    enc.width = CHECK_W * 2;
    assert_false(check(path, &f->r, CHECK_FRAMES, &enc, text, sizeof(text)));
    assert_contains(text, "result is 160x96, the job is 320x96");
}

/* Read from the container, as the decode used to give them. */
static void
test_vidinfo_from_container(void **state)
{
    struct fixture *f = *state;
    struct vidinfo vi;
    char err[ERR_MAX];
    if (vidinfo_probe(f->video, &vi, err, sizeof(err)) == -1)
        fail_msg("probe: %s", err);
    assert_string_equal(vi.codec, "h264");
    assert_int_equal(vi.width, CHECK_W);
    assert_int_equal(vi.height, CHECK_H);
    assert_int_equal(vi.frames, CHECK_FRAMES);
    assert_true(vi.first_is_key);
    assert_int_equal(vi.profile, 100); /* High, x264's for 4:2:0 8-bit */
    assert_true(vi.level > 0);
}

/* A video whose index comes first (the concat's: moov before mdat) cut
 * inside its packets: the index still lists them all, so the count must
 * not come from the index alone. Uncut, it reads as whole, moov first. */
static void
test_index_first_cut_rejected(void **state)
{
    struct fixture *f = *state;
    const char *in[] = {f->video};
    char path[FS_PATH_MAX], err[ERR_MAX], head[8];
    struct vidinfo vi;
    uint64_t frames = 0;
    FILE *fp;

    snprintf(path, sizeof(path), "%s/joined.mp4", f->dir);
    if (concat_videos(in, NULL, 1, path, &f->enc, CHECK_FRAMES, &frames, err,
                      sizeof(err)) == -1)
        fail_msg("concat: %s", err);
    fp = fopen(path, "rb");
    assert_non_null(fp);
    /* ftyp, then moov */
    assert_int_equal(fseek(fp, 0, SEEK_SET), 0);
    assert_int_equal(fread(head, 1, 8, fp), 8);
    assert_int_equal(fseek(fp, (long)((unsigned char)head[3]) + 4, SEEK_SET),
                     0);
    assert_int_equal(fread(head, 1, 4, fp), 4);
    fclose(fp);
    assert_memory_equal(head, "moov", 4);
    if (vidinfo_probe(path, &vi, err, sizeof(err)) == -1)
        fail_msg("probe: %s", err);
    assert_int_equal(vi.frames, CHECK_FRAMES);
    assert_int_equal(truncate(path, (off_t)(f->r.bytes / 2) + 65536), 0);
    if (vidinfo_probe(path, &vi, err, sizeof(err)) == 0 &&
        vi.frames == CHECK_FRAMES)
        fail_msg("a cut file read as %llu whole frames",
                 (unsigned long long)vi.frames);
}

/* No temp file of the concat's left in dir. */
static void
assert_no_concat_temp(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;

    assert_non_null(d);
    while ((e = readdir(d)) != NULL)
        assert_null(strstr(e->d_name, ".tmp-"));
    closedir(d);
}

/* The one-pass concat writes as it reads; a failure it meets part way
 * (a frame total that does not add up, an input that no longer reads)
 * still refuses the job with the general path's reason and leaves no
 * file behind, and the sound inputs still join. */
static void
test_concat_one_pass_failures(void **state)
{
    struct fixture *f = *state;
    enum { N = 3 };
    char *paths[N], out[FS_PATH_MAX], err[ERR_MAX], name[32];
    uint64_t frames = 0;

    for (int i = 0; i < N; i++) {
        char path[FS_PATH_MAX];
        snprintf(name, sizeof(name), "p%d.mp4", i);
        copy_of(f, name, path, sizeof(path), -1);
        paths[i] = strdup(path);
        assert_non_null(paths[i]);
    }
    snprintf(out, sizeof(out), "%s/onepass.mp4", f->dir);
    assert_int_equal(concat_videos((const char *const *)paths, NULL, N, out,
                                   NULL, (uint64_t)N * CHECK_FRAMES + 1,
                                   &frames, err, sizeof(err)),
                     -1);
    assert_contains(err, "expected");
    assert_int_equal(access(out, F_OK), -1);
    assert_no_concat_temp(f->dir);

    assert_int_equal(concat_videos((const char *const *)paths, NULL, N, out,
                                   NULL, (uint64_t)N * CHECK_FRAMES, &frames,
                                   err, sizeof(err)),
                     0);
    assert_int_equal(frames, (uint64_t)N * CHECK_FRAMES);

    assert_int_equal(truncate(paths[N - 1], 100), 0);
    snprintf(out, sizeof(out), "%s/onepass2.mp4", f->dir);
    assert_int_equal(concat_videos((const char *const *)paths, NULL, N, out,
                                   NULL, (uint64_t)N * CHECK_FRAMES, &frames,
                                   err, sizeof(err)),
                     -1);
    assert_contains(err, "input 2");
    assert_int_equal(access(out, F_OK), -1);
    assert_no_concat_temp(f->dir);
    for (int i = 0; i < N; i++)
        free(paths[i]);
}

/* n copies of the fixture's video, <prefix><i>.mp4, into paths[i]
 * (malloc'd) and, when shas is not NULL, shas[i] (malloc'd: the sha256
 * they are counted with). */
static void
copies_of(const struct fixture *f, const char *prefix, int n, char **paths,
          char **shas)
{
    for (int i = 0; i < n; i++) {
        char path[FS_PATH_MAX], name[32];
        snprintf(name, sizeof(name), "%s%d.mp4", prefix, i);
        copy_of(f, name, path, sizeof(path), -1);
        paths[i] = strdup(path);
        assert_non_null(paths[i]);
        if (shas != NULL) {
            shas[i] = strdup(f->r.sha256);
            assert_non_null(shas[i]);
        }
    }
}

/* The one pass's readers under a budget of bytes in flight: with one byte
 * (every input over it) they still hand over every input, in order, each
 * whole and checked against its sha256, more inputs than the reader's
 * slots; and a changed one is still named. */
static void
test_concatread_budget(void **state)
{
    struct fixture *f = *state;
    enum { N = 11 };
    char *paths[N], *shas[N], err[ERR_MAX];
    struct vidinfo vi[N];
    struct viddec *vd;
    struct concatread *r;

    copies_of(f, "b", N, paths, shas);
    memset(vi, 0, sizeof(vi));
    r = concatread_start_held((const char *const *)paths,
                              (const char *const *)shas, N, vi, 1);
    assert_non_null(r);
    for (size_t i = 0; i < N; i++) {
        assert_int_equal(concatread_next(r, i, &vd, err, sizeof(err)), 0);
        assert_non_null(vd);
        assert_int_equal(vi[i].frames, CHECK_FRAMES);
        concatread_done(r, i);
    }
    concatread_free(r);

    shas[7][0] = shas[7][0] == '0' ? '1' : '0';
    r = concatread_start_held((const char *const *)paths,
                              (const char *const *)shas, N, vi, 1);
    assert_non_null(r);
    for (size_t i = 0; i < 7; i++) {
        assert_int_equal(concatread_next(r, i, &vd, err, sizeof(err)), 0);
        concatread_done(r, i);
    }
    assert_int_equal(concatread_next(r, 7, &vd, err, sizeof(err)), -1);
    assert_contains(err, "input 7");
    assert_contains(err, "changed since it was counted");
    concatread_free(r);
    for (int i = 0; i < N; i++) {
        free(paths[i]);
        free(shas[i]);
    }
}

/* Replace the file at path with another sound video of the same frames
 * (the concat of the fixture's video alone: other bytes, same stream). */
static void
replace_with_rejoined(const struct fixture *f, const char *path)
{
    const char *one[] = {f->video};
    char other[FS_PATH_MAX], err[ERR_MAX];
    uint64_t frames = 0;

    snprintf(other, sizeof(other), "%s.other.mp4", path);
    if (concat_videos(one, NULL, 1, other, &f->enc, CHECK_FRAMES, &frames, err,
                      sizeof(err)) == -1)
        fail_msg("concat: %s", err);
    assert_int_equal(rename(other, path), 0);
}

/* checker_concat of paths and shas (both taken) into out; the event it
 * answers with. */
static struct amb_event *
checker_concat_wait(const struct fixture *f, char **paths, char **shas, int n,
                    const char *out)
{
    struct evq *q = evq_new();
    struct checker *k = checker_start(q);
    struct amb_event *ev;

    assert_non_null(k);
    checker_concat(k, paths, shas, (size_t)n, out, (uint64_t)n * CHECK_FRAMES,
                   &f->enc);
    while ((ev = evq_pop(q)) == NULL) {
        struct pollfd p = {.fd = evq_fd(q), .events = POLLIN};
        poll(&p, 1, 1000);
    }
    checker_free(k);
    evq_free(q, free);
    assert_int_equal(ev->type, EV_CONCATED);
    return ev;
}

/* Every counted file must still hash as counted before anything is
 * published: the concat stops at the first that does not, and the
 * checker then hashes them all (the two halves of the list on two
 * threads) so that the changed sets of both come back in set order. */
static void
test_concat_refuses_changed(void **state)
{
    struct fixture *f = *state;
    enum { N = 5 };
    char **paths = calloc(N, sizeof(*paths)), **shas = calloc(N, sizeof(*shas));
    char out[FS_PATH_MAX];
    struct amb_event *ev;

    assert_non_null(paths);
    assert_non_null(shas);
    copies_of(f, "c", N, paths, shas);
    /* set 0 (first half) and set 4 (second half) changed since counted */
    assert_int_equal(truncate(paths[0], 100), 0);
    assert_int_equal(truncate(paths[4], 200), 0);
    snprintf(out, sizeof(out), "%s/out.mp4", f->dir);
    ev = checker_concat_wait(f, paths, shas, N, out);
    assert_false(ev->u.concated.ok);
    assert_int_equal(ev->u.concated.nbad, 2);
    assert_int_equal(ev->u.concated.bad[0], 0);
    assert_int_equal(ev->u.concated.bad[1], 4);
    assert_contains(ev->u.concated.text, "set 0, set 4");
    assert_int_equal(access(out, F_OK), -1);
    free(ev);
}

/* Through the checker: a counted set replaced by another sound video
 * (found by its hash during the concat's one pass) is the one named to
 * render again, and nothing is published. */
static void
test_checker_concat_replaced(void **state)
{
    struct fixture *f = *state;
    enum { N = 4 };
    char **paths = calloc(N, sizeof(*paths)), **shas = calloc(N, sizeof(*shas));
    char out[FS_PATH_MAX];
    struct amb_event *ev;

    assert_non_null(paths);
    assert_non_null(shas);
    copies_of(f, "k", N, paths, shas);
    replace_with_rejoined(f, paths[2]);
    snprintf(out, sizeof(out), "%s/out2.mp4", f->dir);
    ev = checker_concat_wait(f, paths, shas, N, out);
    assert_false(ev->u.concated.ok);
    assert_int_equal(ev->u.concated.nbad, 1);
    assert_int_equal(ev->u.concated.bad[0], 2);
    assert_contains(ev->u.concated.text, "set 2");
    assert_int_equal(access(out, F_OK), -1);
    assert_no_concat_temp(f->dir);
    free(ev);
}

/* concat_videos of paths with shas must refuse, naming input as changed,
 * and leave nothing behind. */
static void
assert_concat_refuses(const struct fixture *f, char **paths, char **shas, int n,
                      const char *out, int input)
{
    char err[ERR_MAX], want[32];
    uint64_t frames = 0;

    assert_int_equal(concat_videos((const char *const *)paths,
                                   (const char *const *)shas, (size_t)n, out,
                                   NULL, (uint64_t)n * CHECK_FRAMES, &frames,
                                   err, sizeof(err)),
                     -1);
    snprintf(want, sizeof(want), "input %d ", input);
    assert_contains(err, want);
    assert_contains(err, "changed since it was counted");
    assert_int_equal(access(out, F_OK), -1);
    assert_no_concat_temp(f->dir);
}

/* A counted set's file replaced by another sound video of the same
 * frames would join, so only its sha256 tells. The one pass hashes each
 * input as it reads it and refuses before anything is published; and
 * when the one pass gives up earlier (input 0 cut short, no sha256 known
 * for it) the general path checks the hashes before it writes. */
static void
test_concat_refuses_replaced(void **state)
{
    struct fixture *f = *state;
    enum { N = 3 };
    char *paths[N], *shas[N], out[FS_PATH_MAX], err[ERR_MAX];
    uint64_t frames = 0;

    copies_of(f, "r", N, paths, shas);
    replace_with_rejoined(f, paths[1]);
    snprintf(out, sizeof(out), "%s/replaced.mp4", f->dir);
    if (concat_videos((const char *const *)paths, NULL, N, out, NULL,
                      (uint64_t)N * CHECK_FRAMES, &frames, err,
                      sizeof(err)) == -1)
        fail_msg("without hashes the replaced set should join: %s", err);
    assert_int_equal(unlink(out), 0);
    assert_concat_refuses(f, paths, shas, N, out, 1);

    assert_int_equal(truncate(paths[0], 100), 0);
    free(shas[0]);
    shas[0] = NULL;
    assert_concat_refuses(f, paths, shas, N, out, 1);
    for (int i = 0; i < N; i++) {
        free(paths[i]);
        free(shas[i]);
    }
}

/* A write of the output that fails (here: over RLIMIT_FSIZE, EFBIG)
 * fails the concat with libav's reason, and leaves no file behind. */
static void
test_concat_write_fails(void **state)
{
    struct fixture *f = *state;
    enum { N = 3, LIMIT = 32 << 10 };
    char *paths[N], out[FS_PATH_MAX], err[ERR_MAX];
    struct rlimit old, lim;
    uint64_t frames = 0;
    int rc;

    copies_of(f, "w", N, paths, NULL);
    snprintf(out, sizeof(out), "%s/toolarge.mp4", f->dir);
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = LIMIT;
    signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    rc = concat_videos((const char *const *)paths, NULL, N, out, NULL,
                       (uint64_t)N * CHECK_FRAMES, &frames, err, sizeof(err));
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, SIG_DFL);
    assert_int_equal(rc, -1);
    assert_contains(err, "too large");
    assert_int_equal(access(out, F_OK), -1);
    assert_no_concat_temp(f->dir);
    for (int i = 0; i < N; i++)
        free(paths[i]);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_honest_result_passes),
        cmocka_unit_test(test_wrong_hash_rejected),
        cmocka_unit_test(test_wrong_frame_count_rejected),
        cmocka_unit_test(test_truncated_rejected),
        cmocka_unit_test(test_wrong_codec_rejected),
        cmocka_unit_test(test_wrong_size_rejected),
        cmocka_unit_test(test_vidinfo_from_container),
        cmocka_unit_test(test_index_first_cut_rejected),
        cmocka_unit_test(test_concat_refuses_changed),
        cmocka_unit_test(test_concat_one_pass_failures),
        cmocka_unit_test(test_concat_refuses_replaced),
        cmocka_unit_test(test_checker_concat_replaced),
        cmocka_unit_test(test_concat_write_fails),
        cmocka_unit_test(test_concatread_budget),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
