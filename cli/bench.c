/*
 * bench.c - `framefarm bench`: the same first N frames of a zip encoded
 * by every encoder this machine has (media/encprobe) and by the ffmpeg
 * command line with libx264 (the baseline, measured in the same run), and
 * for each: frames per second, speed against real time, CPU seconds, peak
 * memory, size, bitrate, and luma PSNR and SSIM against the source frames
 * (media/quality). Printed as a table or JSON; drawn as an SVG chart.
 *
 * Every measured run is a child process, one at a time: fork + render_set
 * (one set of N frames, as a node renders an assignment) for an encoder,
 * fork + exec for ffmpeg, on frames extracted beforehand (which favours
 * ffmpeg: no zip reading). The parent takes the wall time around the
 * child and its CPU seconds and peak RSS from wait4's rusage, so every
 * figure belongs to one encoder. The probe and each quality pass run in
 * children too: the parent never holds a libav, CUDA or VAAPI context
 * (which must not cross a fork) and a crash costs one row, not the run.
 * A child answers through a pipe with a fixed-size reply; one that dies
 * without answering gives its row the way it died as the error. An
 * encoder that fails is a row with its error, never the end of the run.
 *
 * Everything is written under a temp dir, removed at the end; SIGINT and
 * SIGTERM are passed on to the running child and end the run there.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli/cli.h"
#include "common/encparams.h"
#include "common/err.h"
#include "common/fdio.h"
#include "common/fsutil.h"
#include "common/log.h"
#include "common/manifest.h"
#include "media/avlog.h"
#include "media/decprobe.h"
#include "media/encprobe.h"
#include "media/quality.h"
#include "media/render.h"
#include "media/zipframes.h"

#define BENCH_MAX_ROWS (ENCPROBE_MAX + 1) /* the baseline + every back end */
#define BENCH_BASELINE_NAME "ffmpeg-libx264"
#define BENCH_BASELINE_KIND "baseline"
#define BENCH_UNKNOWN_KIND "unknown"
#define BENCH_FFMPEG "ffmpeg"
#define BENCH_DEFAULT_PATH "/usr/bin:/bin"
#define BENCH_SEQ_DIR "seq"
#define BENCH_SEQ_PATTERN "%05d.jpg"  /* what ffmpeg reads */
#define BENCH_SEQ_NAME "%s/%05zu.jpg" /* what we write: the same names */
#define BENCH_FFMPEG_LOG "ffmpeg.log"
#define BENCH_SVT_LOG "SVT_LOG"
#define BENCH_SVT_LOG_ERRORS "1"
#define BENCH_LOG_MAX (1u << 20)
#define BENCH_FILE_MODE 0644
#define BENCH_DIR_MODE 0755
#define BENCH_EXEC_FAILED 127
#define BENCH_EXIT_FAILED 1
#define BENCH_EXIT_SIGNAL_BASE 128
#define BENCH_NS_PER_S 1e9
#define BENCH_US_PER_S 1e6
#define BENCH_KIB 1024.0
#define BENCH_KBIT 1000.0
#define BENCH_BITS_PER_BYTE 8.0
#define BENCH_JSON_DECIMALS 3
#define BENCH_SSIM_DECIMALS 5
#define BENCH_DECIMAL_BASE 10.0
#define BENCH_CELL_MAX 32

/* The SVG chart: three panels of horizontal bars, one bar per encoder. */
#define BENCH_SVG_WIDTH 980
#define BENCH_SVG_MARGIN 20
#define BENCH_SVG_LABEL_W 150 /* encoder names, right-aligned */
#define BENCH_SVG_VALUE_W 290 /* the value written after each bar */
#define BENCH_SVG_HEAD_H 64   /* title and subtitle */
#define BENCH_SVG_TITLE_Y 28
#define BENCH_SVG_SUBTITLE_Y 48
#define BENCH_SVG_PANEL_TITLE_H 26
#define BENCH_SVG_ROW_H 24
#define BENCH_SVG_BAR_H 16
#define BENCH_SVG_PANEL_GAP 18
#define BENCH_SVG_TEXT_GAP 6
#define BENCH_SVG_BASELINE_DY 12 /* text baseline below a bar's top */
#define BENCH_SVG_ERROR_CHARS 90
#define BENCH_SVG_FONT_TITLE 16
#define BENCH_SVG_FONT_PANEL 13
#define BENCH_SVG_FONT_TEXT 12
#define BENCH_SVG_LEGEND_H 24
#define BENCH_SVG_LEGEND_BOX 12
#define BENCH_SVG_LEGEND_ITEM_W 280
#define BENCH_SVG_INITIAL 8192

struct bench_opts {
    const char *zip, *encoders, *svg;
    struct enc_params enc; /* codec, preset, crf, fps; size from the zip */
    size_t frames;         /* 0: every frame of the zip */
    int json, baseline;
};

struct bench_row {
    char name[ENC_NAME_MAX];
    char codec[ENC_NAME_MAX];
    const char *kind; /* BENCH_BASELINE_KIND or encprobe_kind_name() */
    int run;          /* still to be measured */
    int ok;           /* measured and scored */
    char error[ERR_MAX];
    char out[FS_PATH_MAX]; /* the video it made */
    double wall_s, cpu_s;
    long peak_rss_kb;
    uint64_t bytes;
    struct quality_report q;
};

struct bench {
    struct bench_opts o;
    struct zipf_listing *list;
    size_t n; /* frames encoded */
    char tmp[FS_PATH_MAX];
    struct bench_row rows[BENCH_MAX_ROWS];
    size_t nrows;
    struct decprobe dec; /* JPEG decode times (decprobe_run) */
};

/* What a child measured, from the parent's side. */
struct bench_usage {
    double wall_s, cpu_s;
    long peak_rss_kb;
};

/* The fixed head of a child's reply; its payload follows when rc == 0. */
struct bench_reply {
    int rc;
    char err[ERR_MAX];
};

struct bench_probe {
    struct encprobe_entry e[ENCPROBE_MAX];
    size_t n;
    struct decprobe dec; /* JPEG decoding: the CPU and each GPU decoder */
};

struct bench_quality_job {
    const struct bench *b;
    const char *video;
};

/* What the table, JSON and chart show for an ok row. */
struct bench_metrics {
    double fps, realtime, rss_mib, size_kib, size_mib, bitrate_kbps;
    double vs_baseline; /* NAN without a baseline */
};

/* A growing text buffer for the SVG. */
struct bench_buf {
    char *p;
    size_t len, cap;
    int failed;
};

static const char bench_usage_text[] =
    "usage: framefarm bench ZIP [--frames N] [--encoders LIST]\n"
    "           [--codec h264|hevc|av1] [--preset P] [--crf N] [--fps F]\n"
    "           [--json] [--svg FILE] [--no-baseline] [-v|--verbose]\n"
    "Encodes the first N frames of ZIP (default: all, at most 4096) with\n"
    "every encoder that passes its probe for the codec, or with LIST\n"
    "(encoder names or kinds cpu, nvenc, vaapi, comma-separated), and with\n"
    "the ffmpeg command line and libx264 as the baseline; one encoder at a\n"
    "time, each in its own process. Prints per encoder: frames per second,\n"
    "speed against real time, CPU seconds, peak memory, size, bitrate, and\n"
    "luma PSNR and SSIM against the source frames. --json prints JSON\n"
    "instead of the table; --svg FILE also draws a chart. Exit 0 with a\n"
    "report (encoders that failed are rows), 1 when nothing could be\n"
    "measured or FILE not written, 2 on bad usage or an unreadable zip.\n"
    "--no-baseline: skip the ffmpeg command line. -v: libav's own lines\n"
    "too.\n";

static volatile sig_atomic_t bench_stop;      /* the signal that ended us */
static volatile sig_atomic_t bench_child_pid; /* the running child, or 0 */

static void
bench_on_signal(int sig)
{
    bench_stop = sig;
    if (bench_child_pid > 0)
        kill((pid_t)bench_child_pid, sig);
}

static double
bench_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / BENCH_NS_PER_S;
}

static double
bench_tv_s(struct timeval tv)
{
    return (double)tv.tv_sec + (double)tv.tv_usec / BENCH_US_PER_S;
}

static double
bench_fps(const struct bench *b)
{
    return (double)b->o.enc.fps_num / (double)b->o.enc.fps_den;
}

/* In a fresh child: die with the parent, take signals the default way. */
static void
bench_child_setup(void)
{
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
}

/* Wait for pid, measuring it from t0. Its wait status in *status. */
static int
bench_wait(pid_t pid, double t0, int *status, struct bench_usage *u)
{
    struct rusage ru;
    pid_t got;

    memset(&ru, 0, sizeof(ru));
    do
        got = wait4(pid, status, 0, &ru);
    while (got == -1 && errno == EINTR);
    bench_child_pid = 0;
    if (got == -1)
        return -1;
    u->wall_s = bench_now_s() - t0;
    u->cpu_s = bench_tv_s(ru.ru_utime) + bench_tv_s(ru.ru_stime);
    u->peak_rss_kb = ru.ru_maxrss; /* kilobytes on Linux */
    return 0;
}

/* "killed by signal 9 (Killed)" or "exited with status 3". */
static void
bench_describe_status(int status, char *err, size_t errlen)
{
    if (WIFSIGNALED(status))
        errf(err, errlen, "killed by signal %d (%s)", WTERMSIG(status),
             strsignal(WTERMSIG(status)));
    else
        errf(err, errlen, "exited with status %d", WEXITSTATUS(status));
}

/* Run fn in a child process; its out[0..outlen) comes back into out. 0,
 * or -1 with err (fn's own, or how the child died). u may be NULL. */
static int
bench_child(int (*fn)(void *arg, void *out, char *err, size_t errlen),
            void *arg, void *out, size_t outlen, struct bench_usage *u,
            char *err, size_t errlen)
{
    struct bench_usage ignored;
    struct bench_reply reply;
    int fds[2] = {-1, -1}, status = 0, got = 0, rc = -1;
    double t0;
    pid_t pid;

    if (pipe2(fds, O_CLOEXEC) == -1) {
        errf(err, errlen, "pipe: %s", strerror(errno));
        goto out;
    }
    fflush(stdout);
    fflush(stderr);
    t0 = bench_now_s();
    pid = fork();
    if (pid == -1) {
        errf(err, errlen, "fork: %s", strerror(errno));
        goto out;
    }
    if (pid == 0) {
        bench_child_setup();
        close(fds[0]);
        memset(&reply, 0, sizeof(reply));
        reply.rc = fn(arg, out, reply.err, sizeof(reply.err));
        if (fdio_write_full(fds[1], &reply, sizeof(reply)) == -1 ||
            (reply.rc == 0 && fdio_write_full(fds[1], out, outlen) == -1))
            _exit(BENCH_EXIT_FAILED);
        _exit(reply.rc == 0 ? 0 : BENCH_EXIT_FAILED);
    }
    bench_child_pid = pid;
    close(fds[1]);
    fds[1] = -1;
    if (fdio_read_full(fds[0], &reply, sizeof(reply)) == 0)
        got = reply.rc != 0 || fdio_read_full(fds[0], out, outlen) == 0;
    if (bench_wait(pid, t0, &status, u != NULL ? u : &ignored) == -1) {
        errf(err, errlen, "wait: %s", strerror(errno));
        goto out;
    }
    if (!got) {
        bench_describe_status(status, err, errlen);
        goto out;
    }
    if (reply.rc != 0) {
        reply.err[sizeof(reply.err) - 1] = '\0';
        errf(err, errlen, "%s", reply.err);
        goto out;
    }
    rc = 0;
out:
    if (fds[0] != -1)
        close(fds[0]);
    if (fds[1] != -1)
        close(fds[1]);
    return rc;
}

/* prog's path on $PATH, like execvp would find it. 0, or -1. */
static int
bench_which(const char *prog, char *out, size_t outlen)
{
    const char *path = getenv("PATH");
    char *copy, *save = NULL, *dir;
    int rc = -1;

    copy = strdup(path != NULL && path[0] != '\0' ? path : BENCH_DEFAULT_PATH);
    if (copy == NULL)
        goto out;
    for (dir = strtok_r(copy, ":", &save); dir != NULL;
         dir = strtok_r(NULL, ":", &save))
        if (fs_join(out, outlen, dir, prog) == 0 && access(out, X_OK) == 0) {
            rc = 0;
            break;
        }
out:
    free(copy);
    return rc;
}

/* Write frames 0..n-1 of the zip to dir as 00000.jpg, 00001.jpg, ... */
static int
bench_extract(const struct bench *b, const char *dir, char *err, size_t errlen)
{
    struct zipf_reader *zr = NULL;
    uint8_t *jpeg = NULL;
    size_t len;
    char path[FS_PATH_MAX], why[ERR_MAX], name[ZIPF_NAME_MAX];
    int fd = -1, rc = -1;

    if (mkdir(dir, BENCH_DIR_MODE) == -1) {
        errf(err, errlen, "%s: %s", dir, strerror(errno));
        goto out;
    }
    if ((zr = zipf_reader_open(b->o.zip, why, sizeof(why))) == NULL) {
        errf(err, errlen, "%s", why);
        goto out;
    }
    for (size_t i = 0; i < b->n; i++) {
        const struct zipf_frame *f = &b->list->frames[i];
        if (zipf_reader_read(zr, zipf_frame_name(b->list, i, name), f->size,
                             f->crc, &jpeg, &len, why, sizeof(why)) == -1) {
            errf(err, errlen, "frame %zu: %s", i, why);
            goto out;
        }
        if (snprintf(path, sizeof(path), BENCH_SEQ_NAME, dir, i) >=
            (int)sizeof(path)) {
            errf(err, errlen, "%s: path too long", dir);
            goto out;
        }
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
                  BENCH_FILE_MODE);
        if (fd == -1 || fdio_write_full(fd, jpeg, len) == -1 ||
            close(fd) == -1) {
            errf(err, errlen, "%s: %s", path, strerror(errno));
            goto out;
        }
        fd = -1;
        free(jpeg);
        jpeg = NULL;
    }
    rc = 0;
out:
    if (fd != -1)
        close(fd);
    free(jpeg);
    zipf_reader_close(zr);
    return rc;
}

/* The last non-empty line of a log file, for an error message. */
static void
bench_log_tail(const char *path, char *out, size_t outlen)
{
    char *text = NULL, *end, *start;
    size_t len = 0;

    out[0] = '\0';
    if (fs_read_max(path, BENCH_LOG_MAX, &text, &len) == -1)
        return;
    end = text + len;
    while (end > text && (end[-1] == '\n' || end[-1] == '\r'))
        end--;
    *end = '\0';
    start = strrchr(text, '\n');
    snprintf(out, outlen, "%s", start != NULL ? start + 1 : text);
    free(text);
}

/* The baseline: ffmpeg's command line on the extracted frames. */
static void
bench_run_baseline(struct bench *b, struct bench_row *r)
{
    char ffmpeg[FS_PATH_MAX], seq[FS_PATH_MAX], input[FS_PATH_MAX];
    char log[FS_PATH_MAX], fps[BENCH_CELL_MAX], crf[BENCH_CELL_MAX];
    char gop[BENCH_CELL_MAX], tail[ERR_MAX];
    struct bench_usage u;
    struct stat st;
    int status = 0, fd = -1;
    double t0;
    pid_t pid;

    r->run = 0;
    if (bench_which(BENCH_FFMPEG, ffmpeg, sizeof(ffmpeg)) == -1) {
        errf(r->error, sizeof(r->error), "%s not found on PATH", BENCH_FFMPEG);
        goto out;
    }
    if (fs_join(seq, sizeof(seq), b->tmp, BENCH_SEQ_DIR) == -1 ||
        fs_join(input, sizeof(input), seq, BENCH_SEQ_PATTERN) == -1 ||
        fs_join(log, sizeof(log), b->tmp, BENCH_FFMPEG_LOG) == -1) {
        errf(r->error, sizeof(r->error), "temp path too long");
        goto out;
    }
    fprintf(stderr, "framefarm bench: extracting %zu frames for %s\n", b->n,
            BENCH_FFMPEG);
    if (bench_extract(b, seq, r->error, sizeof(r->error)) == -1)
        goto out;
    snprintf(fps, sizeof(fps), "%d/%d", b->o.enc.fps_num, b->o.enc.fps_den);
    snprintf(crf, sizeof(crf), "%d", b->o.enc.crf);
    snprintf(gop, sizeof(gop), "%d", b->o.enc.gop);
    char *const argv[] = {
        ffmpeg,
        "-nostdin",
        "-hide_banner",
        "-loglevel",
        "error",
        "-y",
        "-framerate",
        fps,
        "-i",
        input,
        "-c:v",
        "libx264",
        "-preset",
        b->o.enc.preset,
        "-crf",
        crf,
        "-g",
        gop,
        "-keyint_min",
        gop,
        "-sc_threshold",
        "0",
        "-pix_fmt",
        "yuv420p",
        r->out,
        NULL,
    };
    fprintf(stderr, "framefarm bench: %s: encoding\n", r->name);
    fflush(stdout);
    fflush(stderr);
    t0 = bench_now_s();
    pid = fork();
    if (pid == -1) {
        errf(r->error, sizeof(r->error), "fork: %s", strerror(errno));
        goto out;
    }
    if (pid == 0) {
        bench_child_setup();
        fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, BENCH_FILE_MODE);
        if (fd != -1) {
            dup2(fd, STDOUT_FILENO);
            dup2(fd, STDERR_FILENO);
        }
        fd = open("/dev/null", O_RDONLY);
        if (fd != -1)
            dup2(fd, STDIN_FILENO);
        execv(argv[0], argv);
        fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
        _exit(BENCH_EXEC_FAILED);
    }
    bench_child_pid = pid;
    if (bench_wait(pid, t0, &status, &u) == -1) {
        errf(r->error, sizeof(r->error), "wait: %s", strerror(errno));
        goto out;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        char how[ERR_MAX];
        bench_describe_status(status, how, sizeof(how));
        bench_log_tail(log, tail, sizeof(tail));
        errf(r->error, sizeof(r->error), "%s %s%s%s", BENCH_FFMPEG, how,
             tail[0] != '\0' ? ": " : "", tail);
        goto out;
    }
    if (stat(r->out, &st) == -1) {
        errf(r->error, sizeof(r->error), "%s: %s", r->out, strerror(errno));
        goto out;
    }
    r->wall_s = u.wall_s;
    r->cpu_s = u.cpu_s;
    r->peak_rss_kb = u.peak_rss_kb;
    r->bytes = (uint64_t)st.st_size;
    r->run = 1;
out:
    return;
}

static int
bench_probe_child(void *arg, void *out, char *err, size_t errlen)
{
    struct bench_probe *p = out;
    (void)arg;
    (void)err;
    (void)errlen;
    encprobe_run(p->e, ENCPROBE_MAX, &p->n);
    decprobe_run(&p->dec, 0, 1);
    return 0;
}

static int
bench_encode_child(void *arg, void *out, char *err, size_t errlen)
{
    return render_set(arg, NULL, NULL, out, err, errlen);
}

static int
bench_quality_child(void *arg, void *out, char *err, size_t errlen)
{
    const struct bench_quality_job *j = arg;
    return quality_video(j->video, j->b->o.zip, j->b->list, j->b->n, out, err,
                         errlen);
}

/* One encoder on the N frames, as one set, in a child. */
static void
bench_run_encoder(struct bench *b, struct manifest *m, struct bench_row *r)
{
    struct render_result res;
    struct bench_usage u;
    struct render_request rq = {
        .m = m,
        .zip_path = b->o.zip,
        .out_path = r->out,
        .encoder = r->name,
        .threads = 0, /* one decoder per CPU, as a node */
    };

    snprintf(m->enc.codec, sizeof(m->enc.codec), "%s", r->codec);
    snprintf(m->enc.encoder, sizeof(m->enc.encoder), "%s", r->name);
    fprintf(stderr, "framefarm bench: %s: encoding\n", r->name);
    memset(&res, 0, sizeof(res));
    if (bench_child(bench_encode_child, &rq, &res, sizeof(res), &u, r->error,
                    sizeof(r->error)) == -1) {
        r->run = 0;
        return;
    }
    r->wall_s = u.wall_s;
    r->cpu_s = u.cpu_s;
    r->peak_rss_kb = u.peak_rss_kb;
    r->bytes = res.bytes;
}

/* Decode a measured row's video and score it against the sources. */
static void
bench_score(struct bench *b, struct bench_row *r)
{
    struct bench_quality_job j = {.b = b, .video = r->out};

    fprintf(stderr, "framefarm bench: %s: scoring PSNR and SSIM\n", r->name);
    if (bench_child(bench_quality_child, &j, &r->q, sizeof(r->q), NULL,
                    r->error, sizeof(r->error)) == -1)
        return;
    if (r->q.frames != b->n || r->q.scored != b->n) {
        errf(r->error, sizeof(r->error), "the video has %llu frames, not %zu",
             (unsigned long long)r->q.frames, b->n);
        return;
    }
    if (r->q.decode_errors > 0) {
        errf(r->error, sizeof(r->error), "%llu decode errors in the video",
             (unsigned long long)r->q.decode_errors);
        return;
    }
    r->ok = 1;
}

/* A new row, or NULL when it is there already or there is no room. */
static struct bench_row *
bench_add_row(struct bench *b, const char *name, const char *codec,
              const char *kind)
{
    struct bench_row *r;

    for (size_t i = 0; i < b->nrows; i++)
        if (strcmp(b->rows[i].name, name) == 0)
            return NULL;
    if (b->nrows == BENCH_MAX_ROWS) {
        fprintf(stderr, "framefarm bench: more than %d encoders; %s left out\n",
                BENCH_MAX_ROWS, name);
        return NULL;
    }
    r = &b->rows[b->nrows++];
    memset(r, 0, sizeof(*r));
    snprintf(r->name, sizeof(r->name), "%s", name);
    snprintf(r->codec, sizeof(r->codec), "%s", codec);
    r->kind = kind;
    if (fs_join(r->out, sizeof(r->out), b->tmp, name) == -1 ||
        strlen(r->out) + strlen(".mp4") >= sizeof(r->out))
        errf(r->error, sizeof(r->error), "temp path too long");
    else
        strcat(r->out, ".mp4");
    return r;
}

/* A row for a probed encoder: to be run when it passed its probe. */
static void
bench_add_entry(struct bench *b, const struct encprobe_entry *e)
{
    struct bench_row *r =
        bench_add_row(b, e->name, e->codec, encprobe_kind_name(e->kind));
    if (r == NULL || r->error[0] != '\0')
        return;
    if (e->ok)
        r->run = 1;
    else
        errf(r->error, sizeof(r->error), "failed its probe: %s", e->reason);
}

/* One word of --encoders: a kind (every back end of that kind for the
 * codec) or an encoder name (any codec). */
static void
bench_select_word(struct bench *b, const struct bench_probe *p,
                  const char *word)
{
    static const enum encprobe_kind kinds[] = {ENCPROBE_NVENC, ENCPROBE_VAAPI,
                                               ENCPROBE_CPU};
    struct bench_row *r;
    int found = 0;

    for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
        if (strcmp(word, encprobe_kind_name(kinds[k])) != 0)
            continue;
        for (size_t i = 0; i < p->n; i++)
            if (p->e[i].kind == kinds[k] &&
                strcmp(p->e[i].codec, b->o.enc.codec) == 0) {
                bench_add_entry(b, &p->e[i]);
                found = 1;
            }
        if (!found &&
            (r = bench_add_row(b, word, b->o.enc.codec, word)) != NULL)
            errf(r->error, sizeof(r->error), "no %s encoder for %s", word,
                 b->o.enc.codec);
        return;
    }
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->e[i].name, word) == 0) {
            bench_add_entry(b, &p->e[i]);
            return;
        }
    if ((r = bench_add_row(b, word, "", BENCH_UNKNOWN_KIND)) != NULL)
        errf(r->error, sizeof(r->error),
             "not an encoder framefarm has (see framefarm-node --probe)");
}

/* The rows to run, from the probe and --encoders. */
static void
bench_select(struct bench *b, const struct bench_probe *p)
{
    char *list, *save = NULL, *word;
    size_t before = b->nrows;

    if (b->o.encoders == NULL) {
        for (size_t i = 0; i < p->n; i++)
            if (p->e[i].ok && strcmp(p->e[i].codec, b->o.enc.codec) == 0)
                bench_add_entry(b, &p->e[i]);
        if (b->nrows == before)
            fprintf(stderr,
                    "framefarm bench: no %s encoder passed its probe "
                    "(framefarm-node --probe says why)\n",
                    b->o.enc.codec);
        return;
    }
    list = strdup(b->o.encoders);
    if (list == NULL)
        return;
    for (word = strtok_r(list, ",", &save); word != NULL;
         word = strtok_r(NULL, ",", &save))
        bench_select_word(b, p, word);
    free(list);
}

/* The manifest of the one set every encoder renders: frames 0..n-1. */
static struct manifest *
bench_manifest(const struct bench *b)
{
    struct manifest *m = manifest_new(), *ok = NULL;
    char name[ZIPF_NAME_MAX];

    if (m == NULL || manifest_set_zip(m, b->o.zip) == -1 ||
        manifest_alloc_frames(m, b->n) == -1)
        goto out;
    m->enc = b->o.enc;
    snprintf(m->job, sizeof(m->job), "bench");
    m->set = 0;
    m->sets = 1;
    m->first = 0;
    m->total = b->n;
    for (size_t i = 0; i < b->n; i++)
        if (manifest_set_frame(m, i, zipf_frame_name(b->list, i, name),
                               b->list->frames[i].size,
                               b->list->frames[i].crc) == -1)
            goto out;
    ok = m;
    m = NULL;
out:
    manifest_free(m);
    return ok;
}

/* Probe, then measure every row, then score every measured row. */
static int
bench_measure(struct bench *b)
{
    struct bench_probe *probe = calloc(1, sizeof(*probe));
    struct manifest *m = NULL;
    struct bench_row *base = NULL;
    char err[ERR_MAX];
    int rc = -1;

    if (probe == NULL || (m = bench_manifest(b)) == NULL) {
        fprintf(stderr, "framefarm bench: out of memory\n");
        goto out;
    }
    if (b->o.baseline &&
        (base = bench_add_row(b, BENCH_BASELINE_NAME, ENC_DEFAULT_CODEC,
                              BENCH_BASELINE_KIND)) == NULL)
        goto out;
    fprintf(stderr, "framefarm bench: probing encoders and JPEG decoders\n");
    if (bench_child(bench_probe_child, NULL, probe, sizeof(*probe), NULL, err,
                    sizeof(err)) == -1) {
        fprintf(stderr, "framefarm bench: the encoder probe %s\n", err);
        probe->n = 0;
        probe->dec.n = 0;
    }
    b->dec = probe->dec;
    bench_select(b, probe);
    if (base != NULL && base->error[0] == '\0' && !bench_stop)
        bench_run_baseline(b, base);
    for (size_t i = 0; i < b->nrows && !bench_stop; i++)
        if (b->rows[i].run && &b->rows[i] != base)
            bench_run_encoder(b, m, &b->rows[i]);
    for (size_t i = 0; i < b->nrows && !bench_stop; i++)
        if (b->rows[i].run)
            bench_score(b, &b->rows[i]);
    rc = bench_stop ? -1 : 0;
out:
    manifest_free(m);
    free(probe);
    return rc;
}

static struct bench_row *
bench_baseline(struct bench *b)
{
    for (size_t i = 0; i < b->nrows; i++)
        if (strcmp(b->rows[i].kind, BENCH_BASELINE_KIND) == 0)
            return b->rows[i].ok ? &b->rows[i] : NULL;
    return NULL;
}

static void
bench_metrics(struct bench *b, const struct bench_row *r,
              struct bench_metrics *mt)
{
    const struct bench_row *base = bench_baseline(b);
    double seconds = (double)b->n / bench_fps(b); /* of video */

    mt->fps = (double)b->n / r->wall_s;
    mt->realtime = seconds / r->wall_s;
    mt->rss_mib = (double)r->peak_rss_kb / BENCH_KIB;
    mt->size_kib = (double)r->bytes / BENCH_KIB;
    mt->size_mib = mt->size_kib / BENCH_KIB;
    mt->bitrate_kbps =
        (double)r->bytes * BENCH_BITS_PER_BYTE / seconds / BENCH_KBIT;
    mt->vs_baseline = base != NULL ? base->wall_s / r->wall_s : NAN;
}

/* The run's parameters, one line. */
static void
bench_describe(const struct bench *b, FILE *f)
{
    const char *zipname = strrchr(b->o.zip, '/');
    fprintf(f,
            "%zu frames of %s (%dx%d) at %g fps = %.1f s of video; %s, preset "
            "%s, crf %d, GOP %d; %ld CPUs\n",
            b->n, zipname != NULL ? zipname + 1 : b->o.zip, b->o.enc.width,
            b->o.enc.height, bench_fps(b), (double)b->n / bench_fps(b),
            b->o.enc.codec, b->o.enc.preset, b->o.enc.crf, b->o.enc.gop,
            sysconf(_SC_NPROCESSORS_ONLN));
}

/* The table's numeric columns. */
enum bench_col {
    BENCH_COL_FPS,
    BENCH_COL_REALTIME,
    BENCH_COL_CPU,
    BENCH_COL_RSS,
    BENCH_COL_SIZE,
    BENCH_COL_BITRATE,
    BENCH_COL_PSNR,
    BENCH_COL_SSIM,
    BENCH_COL_COUNT
};

static const struct {
    const char *head;
    int decimals;
} bench_cols[BENCH_COL_COUNT] = {
    [BENCH_COL_FPS] = {"fps", 1},
    [BENCH_COL_REALTIME] = {"realtime (x)", 2},
    [BENCH_COL_CPU] = {"CPU (s)", 2},
    [BENCH_COL_RSS] = {"peak RSS (MiB)", 1},
    [BENCH_COL_SIZE] = {"size (KiB)", 0},
    [BENCH_COL_BITRATE] = {"bitrate (kbit/s)", 0},
    [BENCH_COL_PSNR] = {"PSNR (dB)", 2},
    [BENCH_COL_SSIM] = {"SSIM", 4},
};

static void
bench_cells(struct bench *b, const struct bench_row *r,
            char cells[BENCH_COL_COUNT][BENCH_CELL_MAX])
{
    struct bench_metrics mt;
    double v[BENCH_COL_COUNT];

    bench_metrics(b, r, &mt);
    v[BENCH_COL_FPS] = mt.fps;
    v[BENCH_COL_REALTIME] = mt.realtime;
    v[BENCH_COL_CPU] = r->cpu_s;
    v[BENCH_COL_RSS] = mt.rss_mib;
    v[BENCH_COL_SIZE] = mt.size_kib;
    v[BENCH_COL_BITRATE] = mt.bitrate_kbps;
    v[BENCH_COL_PSNR] = r->q.psnr_db;
    v[BENCH_COL_SSIM] = r->q.ssim;
    for (int c = 0; c < BENCH_COL_COUNT; c++)
        snprintf(cells[c], BENCH_CELL_MAX, "%.*f", bench_cols[c].decimals,
                 v[c]);
}

/* JPEG decoding, one camera-sized picture at a time: the CPU (one thread,
 * and all of them together) and each GPU decoder (one stream). */
static void
bench_print_decoders(const struct bench *b)
{
    const struct decprobe *d = &b->dec;
    if (d->cpu_ms <= 0) {
        printf("JPEG decode: not measured\n");
        return;
    }
    printf("JPEG decode of a %dx%d picture: %s %.2f ms on one thread, %.2f ms "
           "a picture on %d threads together",
           d->width, d->height, DECPROBE_CPU, d->cpu_ms,
           d->cpu_ms / d->cpu_threads, d->cpu_threads);
    for (size_t i = 0; i < d->n; i++) {
        if (d->hw[i].ok)
            printf("; %s %.2f ms (one stream, PSNR %.1f dB against the CPU's)",
                   d->hw[i].name, d->hw[i].ms, d->hw[i].psnr);
        else
            printf("; %s unavailable: %s", d->hw[i].name, d->hw[i].reason);
    }
    printf("\n");
}

static void
bench_print_table(struct bench *b)
{
    char cells[BENCH_MAX_ROWS][BENCH_COL_COUNT][BENCH_CELL_MAX];
    int namew = (int)strlen("encoder"), kindw = (int)strlen("kind");
    int w[BENCH_COL_COUNT];
    const struct bench_row *base = bench_baseline(b);
    int listed = 0;

    for (int c = 0; c < BENCH_COL_COUNT; c++)
        w[c] = (int)strlen(bench_cols[c].head);
    for (size_t i = 0; i < b->nrows; i++) {
        const struct bench_row *r = &b->rows[i];
        if ((int)strlen(r->name) > namew)
            namew = (int)strlen(r->name);
        if ((int)strlen(r->kind) > kindw)
            kindw = (int)strlen(r->kind);
        if (!r->ok)
            continue;
        bench_cells(b, r, cells[i]);
        for (int c = 0; c < BENCH_COL_COUNT; c++)
            if ((int)strlen(cells[i][c]) > w[c])
                w[c] = (int)strlen(cells[i][c]);
    }
    bench_describe(b, stdout);
    printf("%-*s  %-*s", namew, "encoder", kindw, "kind");
    for (int c = 0; c < BENCH_COL_COUNT; c++)
        printf("  %*s", w[c], bench_cols[c].head);
    printf("\n");
    for (size_t i = 0; i < b->nrows; i++) {
        const struct bench_row *r = &b->rows[i];
        printf("%-*s  %-*s", namew, r->name, kindw, r->kind);
        if (!r->ok) {
            printf("  not measured: %s\n", r->error);
            continue;
        }
        for (int c = 0; c < BENCH_COL_COUNT; c++)
            printf("  %*s", w[c], cells[i][c]);
        printf("\n");
    }
    printf("speed against the baseline (%s):", BENCH_BASELINE_NAME);
    if (base == NULL) {
        printf(" no baseline (%s)\n",
               !b->o.baseline ? "--no-baseline" : "it failed, see above");
        return;
    }
    for (size_t i = 0; i < b->nrows; i++) {
        struct bench_metrics mt;
        const struct bench_row *r = &b->rows[i];
        if (!r->ok || r == base)
            continue;
        bench_metrics(b, r, &mt);
        printf("%s %s %.2fx", listed++ ? "," : "", r->name, mt.vs_baseline);
    }
    printf("%s\n", listed ? "" : " no other encoder measured");
    bench_print_decoders(b);
}

static double
bench_round(double v, int decimals)
{
    double scale = pow(BENCH_DECIMAL_BASE, decimals);
    return round(v * scale) / scale;
}

/* Add a number; *failed is set when cJSON runs out of memory. */
static void
bench_json_num(cJSON *o, const char *key, double v, int *failed)
{
    if (cJSON_AddNumberToObject(o, key, v) == NULL)
        *failed = 1;
}

static cJSON *
bench_json_row(struct bench *b, const struct bench_row *r, int *failed)
{
    cJSON *o = cJSON_CreateObject();
    struct bench_metrics mt;

    if (o == NULL) {
        *failed = 1;
        return NULL;
    }
    if (cJSON_AddStringToObject(o, "name", r->name) == NULL ||
        cJSON_AddStringToObject(o, "kind", r->kind) == NULL ||
        cJSON_AddBoolToObject(o, "ok", r->ok) == NULL)
        *failed = 1;
    if (!r->ok) {
        if (cJSON_AddStringToObject(o, "error", r->error) == NULL)
            *failed = 1;
        return o;
    }
    bench_metrics(b, r, &mt);
    if (cJSON_AddStringToObject(o, "codec", r->codec) == NULL)
        *failed = 1;
    bench_json_num(o, "fps", bench_round(mt.fps, BENCH_JSON_DECIMALS), failed);
    bench_json_num(o, "realtime", bench_round(mt.realtime, BENCH_JSON_DECIMALS),
                   failed);
    bench_json_num(o, "wall_s", bench_round(r->wall_s, BENCH_JSON_DECIMALS),
                   failed);
    bench_json_num(o, "cpu_s", bench_round(r->cpu_s, BENCH_JSON_DECIMALS),
                   failed);
    bench_json_num(o, "peak_rss_kb", (double)r->peak_rss_kb, failed);
    bench_json_num(o, "bytes", (double)r->bytes, failed);
    bench_json_num(o, "bitrate_kbps",
                   bench_round(mt.bitrate_kbps, BENCH_JSON_DECIMALS), failed);
    bench_json_num(o, "psnr_db", bench_round(r->q.psnr_db, BENCH_JSON_DECIMALS),
                   failed);
    bench_json_num(o, "ssim", bench_round(r->q.ssim, BENCH_SSIM_DECIMALS),
                   failed);
    if (isnan(mt.vs_baseline)) {
        if (cJSON_AddNullToObject(o, "vs_baseline") == NULL)
            *failed = 1;
    } else {
        bench_json_num(o, "vs_baseline",
                       bench_round(mt.vs_baseline, BENCH_JSON_DECIMALS),
                       failed);
    }
    return o;
}

/* "jpeg_decode": {width, height, cpu_ms, cpu_threads, decoders: [{name,
 * ok, ms, psnr_db | error}]}; cpu_ms is null when it was not measured. */
static void
bench_json_decoders(const struct bench *b, cJSON *root, int *failed)
{
    const struct decprobe *d = &b->dec;
    cJSON *o = cJSON_AddObjectToObject(root, "jpeg_decode"), *arr;

    if (o == NULL) {
        *failed = 1;
        return;
    }
    bench_json_num(o, "width", d->width, failed);
    bench_json_num(o, "height", d->height, failed);
    if (d->cpu_ms > 0)
        bench_json_num(o, "cpu_ms", bench_round(d->cpu_ms, BENCH_JSON_DECIMALS),
                       failed);
    else if (cJSON_AddNullToObject(o, "cpu_ms") == NULL)
        *failed = 1;
    bench_json_num(o, "cpu_threads", d->cpu_threads, failed);
    arr = cJSON_AddArrayToObject(o, "decoders");
    for (size_t i = 0; arr != NULL && i < d->n; i++) {
        cJSON *e = cJSON_CreateObject();
        if (e == NULL || !cJSON_AddItemToArray(arr, e)) {
            cJSON_Delete(e);
            *failed = 1;
            continue;
        }
        if (cJSON_AddStringToObject(e, "name", d->hw[i].name) == NULL ||
            cJSON_AddBoolToObject(e, "ok", d->hw[i].ok) == NULL)
            *failed = 1;
        if (!d->hw[i].ok) {
            if (cJSON_AddStringToObject(e, "error", d->hw[i].reason) == NULL)
                *failed = 1;
            continue;
        }
        bench_json_num(e, "ms", bench_round(d->hw[i].ms, BENCH_JSON_DECIMALS),
                       failed);
        bench_json_num(e, "psnr_db",
                       bench_round(d->hw[i].psnr, BENCH_JSON_DECIMALS), failed);
    }
    if (arr == NULL)
        *failed = 1;
}

/* The report as JSON on stdout. 0, or -1 (no memory). */
static int
bench_print_json(struct bench *b)
{
    cJSON *root = cJSON_CreateObject(), *results = NULL, *row;
    char *text = NULL;
    int failed = root == NULL, rc = -1;

    if (failed)
        goto out;
    bench_json_num(root, "frames", (double)b->n, &failed);
    bench_json_num(root, "fps", bench_fps(b), &failed);
    bench_json_num(root, "width", b->o.enc.width, &failed);
    bench_json_num(root, "height", b->o.enc.height, &failed);
    if (cJSON_AddStringToObject(root, "codec", b->o.enc.codec) == NULL ||
        cJSON_AddStringToObject(root, "preset", b->o.enc.preset) == NULL)
        failed = 1;
    bench_json_num(root, "crf", b->o.enc.crf, &failed);
    bench_json_num(root, "gop", b->o.enc.gop, &failed);
    bench_json_num(root, "cpus", (double)sysconf(_SC_NPROCESSORS_ONLN),
                   &failed);
    bench_json_decoders(b, root, &failed);
    results = cJSON_AddArrayToObject(root, "results");
    for (size_t i = 0; results != NULL && i < b->nrows; i++)
        if ((row = bench_json_row(b, &b->rows[i], &failed)) != NULL &&
            !cJSON_AddItemToArray(results, row)) {
            cJSON_Delete(row);
            failed = 1;
        }
    if (results == NULL || failed || (text = cJSON_Print(root)) == NULL)
        goto out;
    printf("%s\n", text);
    rc = 0;
out:
    if (rc == -1)
        fprintf(stderr, "framefarm bench: out of memory for the JSON\n");
    free(text);
    cJSON_Delete(root);
    return rc;
}

static void bench_buf_printf(struct bench_buf *sb, const char *fmt, ...)
    PRINTFLIKE(2, 3);

static void
bench_buf_printf(struct bench_buf *sb, const char *fmt, ...)
{
    va_list ap;
    int need;
    char *p;

    if (sb->failed)
        return;
    va_start(ap, fmt);
    need = vsnprintf(sb->p + sb->len, sb->cap - sb->len, fmt, ap);
    va_end(ap);
    if (need < 0) {
        sb->failed = 1;
        return;
    }
    if ((size_t)need < sb->cap - sb->len) {
        sb->len += (size_t)need;
        return;
    }
    sb->cap = (sb->len + (size_t)need + 1) * 2;
    if ((p = realloc(sb->p, sb->cap)) == NULL) {
        sb->failed = 1;
        return;
    }
    sb->p = p;
    va_start(ap, fmt);
    vsnprintf(sb->p + sb->len, sb->cap - sb->len, fmt, ap);
    va_end(ap);
    sb->len += (size_t)need;
}

/* text, at most max characters of it, escaped for XML. */
static void
bench_buf_escape(struct bench_buf *sb, const char *text, size_t max)
{
    size_t n = 0;
    for (const char *s = text; *s != '\0'; s++, n++) {
        if (n == max) {
            bench_buf_printf(sb, "...");
            return;
        }
        switch (*s) {
        case '&':
            bench_buf_printf(sb, "&amp;");
            break;
        case '<':
            bench_buf_printf(sb, "&lt;");
            break;
        case '>':
            bench_buf_printf(sb, "&gt;");
            break;
        case '"':
            bench_buf_printf(sb, "&quot;");
            break;
        default:
            /* control characters are not allowed in XML 1.0 */
            bench_buf_printf(sb, "%c", (unsigned char)*s < ' ' ? ' ' : (int)*s);
        }
    }
}

/* One panel of the chart: its value and its label for an ok row. */
struct bench_panel {
    const char *title;
    double (*value)(struct bench *b, const struct bench_row *r);
    void (*label)(struct bench *b, const struct bench_row *r, char *out,
                  size_t outlen);
};

static double
bench_panel_fps(struct bench *b, const struct bench_row *r)
{
    struct bench_metrics mt;
    bench_metrics(b, r, &mt);
    return mt.fps;
}

static void
bench_label_fps(struct bench *b, const struct bench_row *r, char *out,
                size_t outlen)
{
    struct bench_metrics mt;
    bench_metrics(b, r, &mt);
    if (isnan(mt.vs_baseline) || strcmp(r->kind, BENCH_BASELINE_KIND) == 0)
        snprintf(out, outlen, "%.1f fps (%.2fx real time)", mt.fps,
                 mt.realtime);
    else
        snprintf(out, outlen, "%.1f fps (%.2fx real time, %.2fx baseline)",
                 mt.fps, mt.realtime, mt.vs_baseline);
}

static double
bench_panel_size(struct bench *b, const struct bench_row *r)
{
    struct bench_metrics mt;
    bench_metrics(b, r, &mt);
    return mt.size_mib;
}

static void
bench_label_size(struct bench *b, const struct bench_row *r, char *out,
                 size_t outlen)
{
    struct bench_metrics mt;
    bench_metrics(b, r, &mt);
    if (mt.size_mib < 1.0)
        snprintf(out, outlen, "%.0f KiB (%.0f kbit/s)", mt.size_kib,
                 mt.bitrate_kbps);
    else
        snprintf(out, outlen, "%.2f MiB (%.0f kbit/s)", mt.size_mib,
                 mt.bitrate_kbps);
}

static double
bench_panel_psnr(struct bench *b, const struct bench_row *r)
{
    (void)b;
    return r->q.psnr_db;
}

static void
bench_label_psnr(struct bench *b, const struct bench_row *r, char *out,
                 size_t outlen)
{
    (void)b;
    snprintf(out, outlen, "%.2f dB (SSIM %.4f)", r->q.psnr_db, r->q.ssim);
}

static const struct bench_panel bench_panels[] = {
    {"Speed: frames per second (longer is faster)", bench_panel_fps,
     bench_label_fps},
    {"Size of the video (shorter is smaller)", bench_panel_size,
     bench_label_size},
    {"Quality: luma PSNR against the source frames, dB (longer is better)",
     bench_panel_psnr, bench_label_psnr},
};

/* Bar colours by kind, and what the legend says of each. */
static const struct {
    const char *kind, *colour, *legend;
} bench_svg_kinds[] = {
    {BENCH_BASELINE_KIND, "#8c8c8c", "baseline: the ffmpeg command line"},
    {"cpu", "#4e79a7", "cpu: framefarm, CPU encoder"},
    {"nvenc", "#59a14f", "nvenc: framefarm, NVIDIA GPU"},
    {"vaapi", "#f28e2b", "vaapi: framefarm, VAAPI GPU"},
};

static const char *
bench_svg_colour(const char *kind)
{
    for (size_t i = 0; i < sizeof(bench_svg_kinds) / sizeof(bench_svg_kinds[0]);
         i++)
        if (strcmp(kind, bench_svg_kinds[i].kind) == 0)
            return bench_svg_kinds[i].colour;
    return bench_svg_kinds[0].colour;
}

/* A coloured box and its words for each kind that has a bar. */
static void
bench_svg_legend(const struct bench *b, struct bench_buf *sb, int y)
{
    int x = BENCH_SVG_MARGIN + BENCH_SVG_LABEL_W;

    for (size_t k = 0; k < sizeof(bench_svg_kinds) / sizeof(bench_svg_kinds[0]);
         k++) {
        int shown = 0;
        for (size_t i = 0; i < b->nrows; i++)
            shown |= b->rows[i].ok &&
                     strcmp(b->rows[i].kind, bench_svg_kinds[k].kind) == 0;
        if (!shown)
            continue;
        bench_buf_printf(sb,
                         "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
                         "fill=\"%s\"/>\n<text x=\"%d\" y=\"%d\">",
                         x, y, BENCH_SVG_LEGEND_BOX, BENCH_SVG_LEGEND_BOX,
                         bench_svg_kinds[k].colour,
                         x + BENCH_SVG_LEGEND_BOX + BENCH_SVG_TEXT_GAP,
                         y + BENCH_SVG_LEGEND_BOX);
        bench_buf_escape(sb, bench_svg_kinds[k].legend, SIZE_MAX);
        bench_buf_printf(sb, "</text>\n");
        x += BENCH_SVG_LEGEND_ITEM_W;
    }
}

/* One panel at *y, moved past it. Rows that were not measured say why
 * in the first panel only. */
static void
bench_svg_panel(struct bench *b, struct bench_buf *sb,
                const struct bench_panel *p, int first, int *y)
{
    const int bar_x = BENCH_SVG_MARGIN + BENCH_SVG_LABEL_W;
    const int bar_w =
        BENCH_SVG_WIDTH - bar_x - BENCH_SVG_VALUE_W - BENCH_SVG_MARGIN;
    char label[ERR_MAX];
    double max = 0.0;

    for (size_t i = 0; i < b->nrows; i++)
        if (b->rows[i].ok && p->value(b, &b->rows[i]) > max)
            max = p->value(b, &b->rows[i]);
    bench_buf_printf(sb,
                     "<text x=\"%d\" y=\"%d\" font-size=\"%d\" "
                     "font-weight=\"bold\">",
                     BENCH_SVG_MARGIN, *y + BENCH_SVG_FONT_PANEL,
                     BENCH_SVG_FONT_PANEL);
    bench_buf_escape(sb, p->title, SIZE_MAX);
    bench_buf_printf(sb, "</text>\n");
    *y += BENCH_SVG_PANEL_TITLE_H;
    bench_buf_printf(sb,
                     "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" "
                     "stroke=\"#444\"/>\n",
                     bar_x, *y, bar_x, *y + BENCH_SVG_ROW_H * (int)b->nrows);
    for (size_t i = 0; i < b->nrows; i++) {
        const struct bench_row *r = &b->rows[i];
        int text_y = *y + (BENCH_SVG_ROW_H - BENCH_SVG_BAR_H) / 2 +
                     BENCH_SVG_BASELINE_DY;
        bench_buf_printf(sb, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">",
                         bar_x - BENCH_SVG_TEXT_GAP, text_y);
        bench_buf_escape(sb, r->name, SIZE_MAX);
        bench_buf_printf(sb, "</text>\n");
        if (!r->ok) {
            bench_buf_printf(sb,
                             "<text x=\"%d\" y=\"%d\" fill=\"#b00020\" "
                             "font-style=\"italic\">not measured",
                             bar_x + BENCH_SVG_TEXT_GAP, text_y);
            if (first) {
                bench_buf_printf(sb, ": ");
                bench_buf_escape(sb, r->error, BENCH_SVG_ERROR_CHARS);
            }
            bench_buf_printf(sb, "</text>\n");
        } else {
            double v = p->value(b, r);
            double len = max > 0.0 ? v / max * bar_w : 0.0;
            p->label(b, r, label, sizeof(label));
            bench_buf_printf(sb,
                             "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" "
                             "height=\"%d\" fill=\"%s\"/>\n",
                             bar_x,
                             *y + (BENCH_SVG_ROW_H - BENCH_SVG_BAR_H) / 2, len,
                             BENCH_SVG_BAR_H, bench_svg_colour(r->kind));
            bench_buf_printf(sb, "<text x=\"%.1f\" y=\"%d\">",
                             bar_x + len + BENCH_SVG_TEXT_GAP, text_y);
            bench_buf_escape(sb, label, SIZE_MAX);
            bench_buf_printf(sb, "</text>\n");
        }
        *y += BENCH_SVG_ROW_H;
    }
    *y += BENCH_SVG_PANEL_GAP;
}

/* The chart, written atomically to path. 0, or -1 (said why). */
static int
bench_write_svg(struct bench *b, const char *path)
{
    const size_t npanels = sizeof(bench_panels) / sizeof(bench_panels[0]);
    struct bench_buf sb = {.p = malloc(BENCH_SVG_INITIAL),
                           .cap = BENCH_SVG_INITIAL};
    int height =
        BENCH_SVG_HEAD_H + BENCH_SVG_LEGEND_H + BENCH_SVG_MARGIN +
        (int)npanels * (BENCH_SVG_PANEL_TITLE_H +
                        BENCH_SVG_ROW_H * (int)b->nrows + BENCH_SVG_PANEL_GAP);
    const char *zipname = strrchr(b->o.zip, '/');
    char subtitle[ERR_MAX];
    int y = BENCH_SVG_HEAD_H, rc = -1;

    if (sb.p == NULL) {
        sb.cap = 0;
        sb.failed = 1;
    }
    bench_buf_printf(&sb,
                     "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                     "<svg xmlns=\"http://www.w3.org/2000/svg\" "
                     "version=\"1.1\" width=\"%d\" height=\"%d\" "
                     "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" "
                     "font-size=\"%d\">\n"
                     "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
                     "<text x=\"%d\" y=\"%d\" font-size=\"%d\" "
                     "font-weight=\"bold\">framefarm bench</text>\n",
                     BENCH_SVG_WIDTH, height, BENCH_SVG_WIDTH, height,
                     BENCH_SVG_FONT_TEXT, BENCH_SVG_MARGIN, BENCH_SVG_TITLE_Y,
                     BENCH_SVG_FONT_TITLE);
    snprintf(subtitle, sizeof(subtitle),
             "%zu frames of %s, %dx%d at %g fps; %s, preset %s, crf %d, GOP "
             "%d; %ld CPUs; each encoder alone in its own process",
             b->n, zipname != NULL ? zipname + 1 : b->o.zip, b->o.enc.width,
             b->o.enc.height, bench_fps(b), b->o.enc.codec, b->o.enc.preset,
             b->o.enc.crf, b->o.enc.gop, sysconf(_SC_NPROCESSORS_ONLN));
    bench_buf_printf(&sb, "<text x=\"%d\" y=\"%d\" fill=\"#444\">",
                     BENCH_SVG_MARGIN, BENCH_SVG_SUBTITLE_Y);
    bench_buf_escape(&sb, subtitle, SIZE_MAX);
    bench_buf_printf(&sb, "</text>\n");
    for (size_t i = 0; i < npanels; i++)
        bench_svg_panel(b, &sb, &bench_panels[i], i == 0, &y);
    bench_svg_legend(b, &sb, y);
    bench_buf_printf(&sb, "</svg>\n");
    if (sb.failed) {
        fprintf(stderr, "framefarm bench: out of memory for the chart\n");
        goto out;
    }
    if (fs_write_atomic(path, sb.p, sb.len) == -1) {
        fprintf(stderr, "framefarm bench: %s: %s\n", path, strerror(errno));
        goto out;
    }
    fprintf(stderr, "framefarm bench: chart written to %s\n", path);
    rc = 0;
out:
    free(sb.p);
    return rc;
}

/* Parse the flags into o. 0, or -1 after printing the usage (*help: 1
 * when --help was asked for). */
static int
bench_parse(int argc, char **argv, struct bench_opts *o, int *help)
{
    enum {
        OPT_FRAMES = 256,
        OPT_ENCODERS,
        OPT_CODEC,
        OPT_PRESET,
        OPT_CRF,
        OPT_FPS,
        OPT_JSON,
        OPT_SVG,
        OPT_NO_BASELINE,
    };
    static const struct option opts[] = {
        {"frames", required_argument, NULL, OPT_FRAMES},
        {"encoders", required_argument, NULL, OPT_ENCODERS},
        {"codec", required_argument, NULL, OPT_CODEC},
        {"preset", required_argument, NULL, OPT_PRESET},
        {"crf", required_argument, NULL, OPT_CRF},
        {"fps", required_argument, NULL, OPT_FPS},
        {"json", no_argument, NULL, OPT_JSON},
        {"svg", required_argument, NULL, OPT_SVG},
        {"no-baseline", no_argument, NULL, OPT_NO_BASELINE},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    char *end;
    long v;
    int opt;

    memset(o, 0, sizeof(*o));
    encparams_init(&o->enc);
    o->baseline = 1;
    *help = 0;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
        switch (opt) {
        case OPT_FRAMES:
            errno = 0;
            v = strtol(optarg, &end, 10);
            if (*end != '\0' || errno != 0 || v < 1 ||
                v > MANIFEST_MAX_FRAMES) {
                fprintf(stderr, "framefarm bench: --frames: 1..%d\n",
                        MANIFEST_MAX_FRAMES);
                return -1;
            }
            o->frames = (size_t)v;
            break;
        case OPT_ENCODERS:
            o->encoders = optarg;
            break;
        case OPT_CODEC:
        case OPT_PRESET:
            if (strlen(optarg) >= ENC_NAME_MAX) {
                fprintf(stderr, "framefarm bench: %s: too long\n", optarg);
                return -1;
            }
            strcpy(opt == OPT_CODEC ? o->enc.codec : o->enc.preset, optarg);
            break;
        case OPT_CRF:
            errno = 0;
            v = strtol(optarg, &end, 10);
            if (*end != '\0' || errno != 0 || v < INT32_MIN || v > INT32_MAX) {
                fprintf(stderr, "framefarm bench: --crf: a number\n");
                return -1;
            }
            o->enc.crf = (int)v;
            break;
        case OPT_FPS:
            if (encparams_parse_fps(optarg, &o->enc.fps_num, &o->enc.fps_den) ==
                -1) {
                fprintf(stderr, "framefarm bench: --fps: e.g. 12, 29.97 or "
                                "30000/1001\n");
                return -1;
            }
            break;
        case OPT_JSON:
            o->json = 1;
            break;
        case OPT_SVG:
            o->svg = optarg;
            break;
        case OPT_NO_BASELINE:
            o->baseline = 0;
            break;
        case 'v':
            log_verbosity = 2;
            break;
        case 'h':
            *help = 1;
            fputs(bench_usage_text, stdout);
            return -1;
        default:
            fputs(bench_usage_text, stderr);
            return -1;
        }
    }
    if (optind != argc - 1) {
        fputs(bench_usage_text, stderr);
        return -1;
    }
    o->zip = argv[optind];
    o->enc.gop = o->enc.fps_num / o->enc.fps_den * ENC_DEFAULT_GOP_SECONDS;
    if (o->enc.gop < 1)
        o->enc.gop = 1;
    return 0;
}

/* List the zip and fix N and the size. 0, or -1 (said why). */
static int
bench_prepare(struct bench *b)
{
    struct zipf_limits lim;
    char err[ERR_MAX];
    size_t n;

    zipf_limits_init(&lim);
    if (zipf_list(b->o.zip, &lim, &b->list, err, sizeof(err)) == -1) {
        fprintf(stderr, "framefarm bench: %s\n", err); /* names the zip */
        return -1;
    }
    n = b->o.frames != 0 ? b->o.frames : b->list->count;
    if (n > MANIFEST_MAX_FRAMES)
        n = MANIFEST_MAX_FRAMES;
    if (n > b->list->count) {
        fprintf(stderr, "framefarm bench: the zip has only %zu frames\n",
                b->list->count);
        n = b->list->count;
    }
    if (b->o.frames == 0 && n < b->list->count)
        fprintf(stderr, "framefarm bench: using the first %zu of %zu frames\n",
                n, b->list->count);
    b->n = n;
    b->o.enc.width = b->list->frames[0].width & ~1;
    b->o.enc.height = b->list->frames[0].height & ~1;
    if (encparams_check(&b->o.enc, err, sizeof(err)) == -1) {
        fprintf(stderr, "framefarm bench: %s\n", err);
        return -1;
    }
    return 0;
}

int
cli_bench(int argc, char **argv)
{
    struct bench *b = calloc(1, sizeof(*b));
    struct sigaction sa, old_int, old_term;
    const char *tmpdir = getenv("TMPDIR");
    int help = 0, measured = 0, rc = CLI_EXIT_USAGE, handlers = 0;

    if (b == NULL) {
        fprintf(stderr, "framefarm bench: out of memory\n");
        goto out;
    }
    if (bench_parse(argc, argv, &b->o, &help) == -1) {
        rc = help ? 0 : CLI_EXIT_USAGE;
        goto out;
    }
    /* Before any child: each inherits it. A failed encode is its row's
     * error; libav's words for it only with -v. */
    avlog_start(0);
    if (bench_prepare(b) == -1)
        goto out;
    rc = BENCH_EXIT_FAILED;
    /* as framefarm-node: SVT-AV1 prints only errors, not its banner */
    setenv(BENCH_SVT_LOG, BENCH_SVT_LOG_ERRORS, 0);
    if (snprintf(b->tmp, sizeof(b->tmp), "%s/framefarm-bench-XXXXXX",
                 tmpdir != NULL && tmpdir[0] != '\0' ? tmpdir : "/tmp") >=
            (int)sizeof(b->tmp) ||
        mkdtemp(b->tmp) == NULL) {
        fprintf(stderr, "framefarm bench: temp dir %s: %s\n", b->tmp,
                strerror(errno));
        b->tmp[0] = '\0';
        goto out;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = bench_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    handlers = 1;

    if (bench_measure(b) == -1) {
        if (bench_stop)
            rc = BENCH_EXIT_SIGNAL_BASE + bench_stop;
        goto out;
    }
    for (size_t i = 0; i < b->nrows; i++)
        measured += b->rows[i].ok;
    if (b->o.json ? bench_print_json(b) == -1 : (bench_print_table(b), 0))
        goto out;
    if (b->o.svg != NULL && bench_write_svg(b, b->o.svg) == -1)
        goto out;
    rc = measured > 0 ? 0 : BENCH_EXIT_FAILED;
out:
    if (b != NULL && b->tmp[0] != '\0' && fs_rm_rf(b->tmp) == -1)
        fprintf(stderr, "framefarm bench: cannot remove %s: %s\n", b->tmp,
                strerror(errno));
    if (handlers) {
        sigaction(SIGINT, &old_int, NULL);
        sigaction(SIGTERM, &old_term, NULL);
    }
    if (b != NULL)
        zipf_listing_free(b->list);
    free(b);
    return rc;
}
