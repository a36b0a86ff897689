/*
 * render.c - `framefarm render`, the embedded default: on one machine it
 * starts an ambassador (framefarm-coordinator) and N render nodes
 * (framefarm-node) as real processes on loopback, on a share directory of
 * their own, draws a progress bar from the ambassador's progress lines,
 * and leaves OUT.mp4. Logs go to <share>/logs/; the share is removed after
 * a successful run unless --keep-share or --share was given.
 *
 * The processes are forked, not executed: each runs its program's main
 * (coordinator/main.h, gpu-node/main.h), linked into framefarm, with the
 * shared libraries this process has already loaded (exec would map and
 * relocate FFmpeg's ~140 libraries again in each, ~25 ms of CPU). The
 * ambassador's listening socket is made here, so the nodes start at once,
 * while the ambassador lists the zip and prepares the job.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/clock.h"
#include "common/encparams.h"
#include "common/err.h"
#include "common/fsutil.h"
#include "common/netio.h"
#include "common/sharepath.h"
#include "coordinator/main.h"
#include "gpu-node/main.h"
#include "media/setplan.h"
#include "media/zipframes.h"

#define RENDER_DEFAULT_NODES 2
#define RENDER_MAX_NODES 64
#define RENDER_MAX_ARGS 64
#define RENDER_LISTEN_HOST "127.0.0.1"
#define RENDER_LISTEN_TIMEOUT_MS 30000
#define RENDER_NODE_EXIT_GRACE_MS 5000
#define RENDER_BAR_WIDTH 30
#define RENDER_BAR_MIN 8    /* a narrower bar says nothing: left out */
#define RENDER_BAR_LEVELS 3 /* texts of the progress line, longest first */
#define RENDER_DEFAULT_COLUMNS 80
#define RENDER_PAUSED_MAX 64 /* why the job waits, from a progress line */
#define RENDER_LINE_MAX 1024
#define RENDER_LOG_TAIL 15
#define RENDER_EXIT_INTERRUPTED 130 /* 128 + SIGINT, as shells report */
/* a node's fixed arguments, its name included */
#define RENDER_NODE_ARGC 13
#define RENDER_INPUT_PREFIX "input: " /* the ambassador's line on the zip */
#define RENDER_NOTE_PREFIX "note: "   /* e.g. sets encoded on the CPU */

static const char render_usage[] =
    "usage: framefarm render ZIP -o OUT.mp4 [--nodes N] [--set-size N]\n"
    "           [--fps F] [--codec C] [--encoder E] [--fallback cpu|none]\n"
    "           [--preset P] [--crf N] [--gop N] [--size WxH|Wx-2|-2xH]\n"
    "           [--decoder auto|cpu|nvdec|vaapi] [--share DIR] [--keep-share]\n"
    "           [--camera CAM_NAME] [--timing fps|timestamps] [--backups N]\n"
    "           [-v]\n"
    "Runs an ambassador and N render nodes (default 2) on this machine,\n"
    "on a private share directory, and writes OUT.mp4 (-o, --output).\n"
    "OUT's extension picks the container: .mp4, .mkv, .mov or .webm (AV1\n"
    "only). --size scales the frames (-2: that side follows the aspect).\n"
    "--decoder is each node's: where it decodes JPEGs. --camera picks the\n"
    "camera of a nuScenes zip (default CAM_FRONT); --timing timestamps\n"
    "shows each frame at its capture time. The job's flags are those of\n"
    "framefarm-coordinator (see its --help). --share DIR: a share of your\n"
    "own, kept; --keep-share keeps the private one (logs in its logs/).\n"
    "-v, --verbose: the ambassador's and nodes' logs on the terminal\n"
    "instead of in the share's logs/. Without --set-size the frames are\n"
    "shared out evenly, one set per node (24 to 600 frames a set; longer\n"
    "jobs in rounds of one set per node), but for the last eighth, in\n"
    "small sets that whichever node is free takes, so that the nodes end\n"
    "together; each node gets cores/N threads.\n"
    "The nodes share this machine's cores, so no set gets a speculative\n"
    "backup unless --backups N asks for one.\n";

struct render_opts {
    char *zip, *out, *share;
    char *decoder;      /* the nodes' --decoder, or NULL */
    char *codec;        /* the job's --codec (the nodes probe only it) */
    const char *camera; /* the job's --camera, or NULL */
    int set_size_given; /* --set-size: else setplan_size's */
    int backups_given;  /* --backups: else none (see render_main) */
    int nodes, keep, verbose;
    char *pass[RENDER_MAX_ARGS]; /* flags passed to the coordinator */
    int npass;
};

static volatile sig_atomic_t render_interrupted;

static void
render_on_signal(int sig)
{
    (void)sig;
    render_interrupted = 1;
}

/* Fork a process that runs argv[0]'s program: framefarm-coordinator's
 * main on the listening socket lfd when lfd is not -1, else
 * framefarm-node's. Its stdout goes to out_fd (-1: inherit), its stderr
 * to a log file (NULL: inherit), and it keeps no other descriptor of ours
 * (as exec would, by O_CLOEXEC): a node that kept the listening socket
 * would hold it open after the ambassador died. The pid, or -1. */
static pid_t
render_spawn(int argc, char **argv, int lfd, int out_fd, const char *log)
{
    pid_t pid;

    fflush(NULL); /* nothing buffered here is written twice */
    pid = fork();
    if (pid != 0)
        return pid;
    /* If framefarm render dies, its ambassador and nodes go with it. */
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    prctl(PR_SET_NAME, argv[0]); /* ps and top tell them apart */
    signal(SIGINT, SIG_DFL);     /* render's handlers are not theirs */
    signal(SIGTERM, SIG_DFL);
    if (log != NULL) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (fd != -1)
            dup2(fd, STDERR_FILENO);
    }
    if (out_fd != -1)
        dup2(out_fd, STDOUT_FILENO);
    if (lfd > STDERR_FILENO + 1)
        close_range(STDERR_FILENO + 1, (unsigned)lfd - 1, 0);
    close_range(lfd > STDERR_FILENO ? (unsigned)lfd + 1 : STDERR_FILENO + 1,
                ~0U, 0);
    optind = 0; /* getopt starts afresh on the program's own argv */
    exit(lfd != -1 ? coordinator_main(argc, argv, lfd) : node_main(argc, argv));
}

/* The terminal's width for the progress line: stderr's, else $COLUMNS,
 * else 80. Read at every draw, so a resized window is followed. */
static int
render_columns(void)
{
    struct winsize ws;
    const char *env = getenv("COLUMNS");
    long cols;

    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        return ws.ws_col;
    cols = env != NULL ? strtol(env, NULL, 10) : 0;
    return cols > 0 && cols < RENDER_LINE_MAX ? (int)cols
                                              : RENDER_DEFAULT_COLUMNS;
}

/* "42s", "12m05s" or "3h07m", rounded up (never "0s" while work is
 * left). */
static void
render_duration(char *buf, size_t len, double secs)
{
    unsigned long s = (unsigned long)ceil(secs);
    if (s < 100)
        snprintf(buf, len, "%lus", s);
    else if (s < 3600)
        snprintf(buf, len, "%lum%02lus", s / 60, s % 60);
    else
        snprintf(buf, len, "%luh%02lum", s / 3600, s % 3600 / 60);
}

/* One progress line. On a terminal it is redrawn in place and never
 * wider than the terminal less one column (a full-width line wraps on
 * some terminals, and every redraw would leave a line behind): the bar
 * shrinks, then the rate goes, then the set count, then the bar, and
 * what is still too long is cut. Elsewhere (a log) it is a whole line each
 * time. Rate and ETA only once frames have been rendered: an estimate needs
 * data. */
static void
render_bar(uint32_t counted, uint32_t sets, uint64_t frames, uint64_t total,
           uint64_t t0, int tty, const char *paused)
{
    static int last_len; /* the line drawn before, to blank its remains */
    double secs = (double)(clock_now_ms() - t0) / 1000.0;
    double fps = secs > 0 ? (double)frames / secs : 0;
    char sets_s[48], frames_s[48], rate[32] = "", tail[RENDER_PAUSED_MAX + 32];
    char text[RENDER_BAR_LEVELS][RENDER_LINE_MAX];
    char line[RENDER_BAR_WIDTH + sizeof("[] ") + RENDER_LINE_MAX];
    int width = tty ? render_columns() - 1 : RENDER_LINE_MAX - 1;
    int level = RENDER_BAR_LEVELS - 1, barw = 0, n;

    snprintf(sets_s, sizeof(sets_s), "%u/%u sets  ", counted, sets);
    snprintf(frames_s, sizeof(frames_s), "%llu/%llu frames",
             (unsigned long long)frames, (unsigned long long)total);
    tail[0] = '\0';
    if (paused[0] != '\0') {
        snprintf(tail, sizeof(tail), "  paused: %s", paused);
    } else if (fps > 0) {
        snprintf(rate, sizeof(rate), "  %.1f fps", fps);
        if (frames < total) {
            char d[24];
            render_duration(d, sizeof(d), (double)(total - frames) / fps);
            snprintf(tail, sizeof(tail), "  ETA %s", d);
        }
    }
    snprintf(text[0], sizeof(text[0]), "%s%s%s%s", sets_s, frames_s, rate,
             tail);
    snprintf(text[1], sizeof(text[1]), "%s%s%s", sets_s, frames_s, tail);
    snprintf(text[2], sizeof(text[2]), "%s%s", frames_s, tail);
    /* The most said that fits with a bar; else without one. */
    for (int i = 0; i < RENDER_BAR_LEVELS; i++) {
        int room = width - (int)strlen(text[i]) - (int)sizeof("[] ") + 1;
        if (room >= RENDER_BAR_MIN) {
            level = i;
            barw = room < RENDER_BAR_WIDTH ? room : RENDER_BAR_WIDTH;
            break;
        }
    }
    for (int i = 0; barw == 0 && i < RENDER_BAR_LEVELS; i++)
        if ((int)strlen(text[i]) <= width) {
            level = i;
            break;
        }
    if (barw > 0) {
        int fill = total > 0 ? (int)((uint64_t)barw * frames / total) : 0;
        char bar[RENDER_BAR_WIDTH + 1];
        for (int i = 0; i < barw; i++)
            bar[i] = i < fill ? '#' : '.';
        bar[barw] = '\0';
        snprintf(line, sizeof(line), "[%s] %s", bar, text[level]);
    } else {
        snprintf(line, sizeof(line), "%s", text[level]);
    }
    n = (int)strlen(line);
    if (n > width)
        n = width > 0 ? width : 0;
    if (tty) {
        int pad = last_len > n ? last_len - n : 0;
        fprintf(stderr, "\r%.*s%*s", n, line, pad, "");
        last_len = n;
    } else {
        fprintf(stderr, "%.*s\n", n, line);
    }
    fflush(stderr);
}

/* A refusal: the coordinator's own reason line, without its name. */
static void
render_reason(const char *path)
{
    static const char prefix[] = "framefarm-coordinator: ";
    char line[RENDER_LINE_MAX], last[RENDER_LINE_MAX] = "";
    FILE *f = fopen(path, "r");
    if (f != NULL) {
        while (fgets(line, sizeof(line), f) != NULL)
            if (strncmp(line, prefix, sizeof(prefix) - 1) == 0)
                snprintf(last, sizeof(last), "%s", line + sizeof(prefix) - 1);
        fclose(f);
    }
    if (last[0] == '\0')
        snprintf(last, sizeof(last), "the job was refused (see the log)\n");
    fprintf(stderr, "framefarm render: %s", last);
}

static void
render_tail(const char *path)
{
    char line[RENDER_LINE_MAX];
    char *lines[RENDER_LOG_TAIL] = {NULL};
    int n = 0;
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return;
    while (fgets(line, sizeof(line), f) != NULL) {
        free(lines[n % RENDER_LOG_TAIL]);
        lines[n % RENDER_LOG_TAIL] = strdup(line);
        n++;
    }
    fclose(f);
    fprintf(stderr, "--- last lines of %s ---\n", path);
    for (int i = n > RENDER_LOG_TAIL ? n - RENDER_LOG_TAIL : 0; i < n; i++)
        if (lines[i % RENDER_LOG_TAIL] != NULL)
            fputs(lines[i % RENDER_LOG_TAIL], stderr);
    for (int i = 0; i < RENDER_LOG_TAIL; i++)
        free(lines[i]);
}

static int
render_parse(int argc, char **argv, struct render_opts *o)
{
    static const struct option opts[] = {
        {"output", required_argument, NULL, 'o'},
        {"nodes", required_argument, NULL, 'n'},
        {"share", required_argument, NULL, 'S'},
        {"keep-share", no_argument, NULL, 'k'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {"set-size", required_argument, NULL, 1},
        {"fps", required_argument, NULL, 1},
        {"codec", required_argument, NULL, 1},
        {"encoder", required_argument, NULL, 1},
        {"fallback", required_argument, NULL, 1},
        {"preset", required_argument, NULL, 1},
        {"crf", required_argument, NULL, 1},
        {"gop", required_argument, NULL, 1},
        {"size", required_argument, NULL, 1},
        {"camera", required_argument, NULL, 1},
        {"timing", required_argument, NULL, 1},
        {"backups", required_argument, NULL, 1},
        {"decoder", required_argument, NULL, 'D'},
        {NULL, 0, NULL, 0},
    };
    int opt, idx = 0;
    char *end;

    o->nodes = RENDER_DEFAULT_NODES;
    static char default_codec[] = ENC_DEFAULT_CODEC;
    o->codec = default_codec;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "o:vh", opts, &idx)) != -1) {
        switch (opt) {
        case 'o':
            o->out = optarg;
            break;
        case 'n':
            o->nodes = (int)strtol(optarg, &end, 10);
            if (*end != '\0' || o->nodes < 1 || o->nodes > RENDER_MAX_NODES) {
                fprintf(stderr, "framefarm render: --nodes: 1..%d\n",
                        RENDER_MAX_NODES);
                return -1;
            }
            break;
        case 'S':
            o->share = optarg;
            break;
        case 'k':
            o->keep = 1;
            break;
        case 'D':
            o->decoder = optarg; /* the node checks it */
            break;
        case 'v':
            o->verbose = 1;
            break;
        case 'h':
            fputs(render_usage, stdout);
            exit(0);
        case 1:
            if (o->npass + 2 > RENDER_MAX_ARGS)
                return -1;
            if (strcmp(opts[idx].name, "set-size") == 0)
                o->set_size_given = 1;
            else if (strcmp(opts[idx].name, "backups") == 0)
                o->backups_given = 1;
            else if (strcmp(opts[idx].name, "codec") == 0)
                o->codec = optarg;
            else if (strcmp(opts[idx].name, "camera") == 0)
                o->camera = optarg;
            /* Pass the flag on to the coordinator as the user wrote it:
             * "--flag=value" or "--flag value". */
            if (strchr(argv[optind - 1], '=') != NULL &&
                strncmp(argv[optind - 1], "--", 2) == 0) {
                o->pass[o->npass++] = argv[optind - 1];
            } else {
                o->pass[o->npass++] = argv[optind - 2];
                o->pass[o->npass++] = optarg;
            }
            break;
        default:
            return -1;
        }
    }
    if (optind != argc - 1 || o->out == NULL)
        return -1;
    o->zip = argv[optind];
    return 0;
}

/* The plan when the user gave no --set-size: the job's frames (listed
 * here as the ambassador will) shared out among the nodes, with a tail of
 * small sets (setplan_split): the frames per set into size, the sets the
 * last one is cut into into tail. -1 when the zip cannot be listed: the
 * ambassador then says why. */
static int
render_set_size(const struct render_opts *o, char *size, char *tail, size_t len)
{
    uint32_t s, t;
    struct zipf_limits lim;
    struct zipf_listing *l = NULL;
    char err[ERR_MAX];

    zipf_limits_init(&lim);
    if (o->camera != NULL)
        snprintf(lim.camera, sizeof(lim.camera), "%s", o->camera);
    if (zipf_list(o->zip, &lim, &l, err, sizeof(err)) == -1)
        return -1;
    setplan_split(l->count, o->nodes, &s, &t);
    snprintf(size, len, "%u", s);
    snprintf(tail, len, "%u", t);
    zipf_listing_free(l);
    return 0;
}

struct render_run {
    pid_t coord;
    pid_t nodes[RENDER_MAX_NODES];
    int nnodes;
    char share[FS_PATH_MAX];
    char logs[FS_PATH_MAX];
};

static void
render_kill_nodes(struct render_run *r, int sig)
{
    for (int i = 0; i < r->nnodes; i++)
        if (r->nodes[i] > 0)
            kill(r->nodes[i], sig);
}

static void
render_reap_nodes(struct render_run *r)
{
    uint64_t deadline = clock_now_ms() + RENDER_NODE_EXIT_GRACE_MS;
    int left = r->nnodes;
    while (left > 0) {
        left = 0;
        for (int i = 0; i < r->nnodes; i++) {
            if (r->nodes[i] <= 0)
                continue;
            if (waitpid(r->nodes[i], NULL, WNOHANG) == r->nodes[i])
                r->nodes[i] = 0;
            else
                left++;
        }
        if (left > 0 && clock_now_ms() >= deadline) {
            render_kill_nodes(r, SIGKILL);
            deadline = UINT64_MAX;
        }
        if (left > 0)
            clock_sleep_ms(20);
    }
}

/* Reap nodes that exited; 1 when none is left running. */
static int
render_nodes_gone(struct render_run *r)
{
    int left = 0;
    for (int i = 0; i < r->nnodes; i++) {
        if (r->nodes[i] > 0 &&
            waitpid(r->nodes[i], NULL, WNOHANG) == r->nodes[i])
            r->nodes[i] = 0;
        left += r->nodes[i] > 0;
    }
    return r->nnodes > 0 && left == 0;
}

/* Start the nodes, on the ambassador's port (its listening socket is
 * already there: a node that connects before the ambassador accepts waits
 * in its queue). */
static void
render_start_nodes(struct render_run *r, const struct render_opts *o, int port)
{
    static char prog[] = "framefarm-node";
    char coord[64], threads[16];

    snprintf(coord, sizeof(coord), "%s:%d", RENDER_LISTEN_HOST, port);
    /* One thread plan for the machine: the cores shared out among the
     * nodes, decoders and encoder alike. */
    snprintf(threads, sizeof(threads), "%d",
             setplan_threads(sysconf(_SC_NPROCESSORS_ONLN), o->nodes));
    for (int i = 0; i < o->nodes; i++) {
        char name[32], logn[48], log[FS_PATH_MAX];
        snprintf(name, sizeof(name), "local-%d", i + 1);
        snprintf(logn, sizeof(logn), "%s.log", name);
        if (fs_join(log, sizeof(log), r->logs, logn) == -1)
            break;
        char *argv[] = {prog,     "--coordinator",
                        coord,    "--share",
                        r->share, "--name",
                        name,     "--retry-for",
                        "30",     "--threads",
                        threads,  "--codec",
                        o->codec, NULL,
                        NULL,     NULL};
        int argc = RENDER_NODE_ARGC;
        if (o->decoder != NULL) {
            argv[argc++] = "--decoder";
            argv[argc++] = o->decoder;
        }
        r->nodes[i] = render_spawn(argc, argv, -1, -1, o->verbose ? NULL : log);
        if (r->nodes[i] > 0)
            r->nnodes = i + 1;
    }
}

/* Read the coordinator's stdout: the listening line, then progress lines,
 * the final summary and a note on sets encoded on the CPU. Returns the
 * coordinator's exit status. */
static int
render_follow(struct render_run *r, int fd)
{
    char buf[RENDER_LINE_MAX * 4], summary[RENDER_LINE_MAX] = "";
    char note[2 * RENDER_LINE_MAX] = ""; /* notes, one a line */
    size_t len = 0;
    int tty = isatty(STDERR_FILENO), started = 0, status = 0, bar = 0;
    unsigned counted = 0, sets = 0;
    uint64_t t0 = clock_now_ms(),
             listen_deadline = t0 + RENDER_LISTEN_TIMEOUT_MS;

    for (;;) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        ssize_t n;
        char *nl;
        int pr = poll(&pfd, 1, 200);

        if (render_interrupted) {
            kill(r->coord, SIGTERM);
            render_kill_nodes(r, SIGTERM);
        }
        if (!started && clock_now_ms() > listen_deadline) {
            fprintf(stderr, "framefarm render: the ambassador did not start\n");
            kill(r->coord, SIGKILL);
        }
        /* Nodes leave on their own once the job is done; before that, a
         * farm with no node left can never finish. */
        if (started && !(sets > 0 && counted == sets) && render_nodes_gone(r)) {
            fprintf(stderr,
                    "\nframefarm render: every render node has "
                    "exited; stopping the ambassador (see %s)\n",
                    r->logs);
            kill(r->coord, SIGTERM);
        }
        if (pr <= 0)
            continue;
        n = read(fd, buf + len, sizeof(buf) - 1 - len);
        if (n <= 0)
            break;
        len += (size_t)n;
        buf[len] = '\0';
        while ((nl = strchr(buf, '\n')) != NULL) {
            unsigned a, b;
            unsigned long long c, d;
            char host[256], paused[RENDER_PAUSED_MAX] = "";
            int port;
            *nl = '\0';
            if (!started &&
                sscanf(buf, "listening on %255[^:]:%d", host, &port) == 2) {
                started = 1;
                t0 = clock_now_ms();
            } else if (sscanf(buf, "progress %u %u %llu %llu paused %63s", &a,
                              &b, &c, &d, paused) >= 4) {
                counted = a;
                sets = b;
                render_bar(a, b, c, d, t0, tty, paused);
                bar = 1;
            } else if (strncmp(buf, RENDER_INPUT_PREFIX,
                               sizeof(RENDER_INPUT_PREFIX) - 1) == 0) {
                /* What the job took from the zip, and what it skipped. */
                printf("%s\n", buf + sizeof(RENDER_INPUT_PREFIX) - 1);
                fflush(stdout);
            } else if (strncmp(buf, RENDER_NOTE_PREFIX,
                               sizeof(RENDER_NOTE_PREFIX) - 1) == 0) {
                size_t used = strlen(note);
                snprintf(note + used, sizeof(note) - used, "%s%.1000s",
                         used > 0 ? "\n" : "", buf);
            } else if (buf[0] != '\0') {
                snprintf(summary, sizeof(summary), "%.1000s", buf);
            }
            memmove(buf, nl + 1, len - (size_t)(nl + 1 - buf));
            len -= (size_t)(nl + 1 - buf);
            buf[len] = '\0';
        }
        if (len >= sizeof(buf) - 1)
            len = 0; /* a line longer than we care for */
    }
    if (bar && tty)
        fputc('\n', stderr);
    waitpid(r->coord, &status, 0);
    if (summary[0] != '\0' && WIFEXITED(status) && WEXITSTATUS(status) == 0)
        printf("%s\n", summary);
    /* After the video's line, whatever the outcome: what the job ran on. */
    if (note[0] != '\0')
        printf("%s\n", note);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

int
cli_render(int argc, char **argv)
{
    struct render_opts o;
    struct render_run r;
    static char prog[] = "framefarm-coordinator";
    char log[FS_PATH_MAX], listen_at[64], err[ERR_MAX];
    char *cargv[RENDER_MAX_ARGS + 16], set_size[24], tail_sets[24];
    int pipefd[2], rc, n = 0, own_share = 0, lfd, port;

    memset(&o, 0, sizeof(o));
    memset(&r, 0, sizeof(r));
    if (render_parse(argc, argv, &o) == -1) {
        fputs(render_usage, stderr);
        return CLI_EXIT_USAGE;
    }
    if (o.share != NULL) {
        snprintf(r.share, sizeof(r.share), "%s", o.share);
        if (fs_mkdir_p(r.share, 0755) == -1) {
            fprintf(stderr, "framefarm render: %s: %s\n", r.share,
                    strerror(errno));
            return 1;
        }
    } else {
        const char *tmp = getenv("TMPDIR");
        snprintf(r.share, sizeof(r.share), "%s/framefarm-share-XXXXXX",
                 tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
        if (mkdtemp(r.share) == NULL) {
            fprintf(stderr, "framefarm render: mkdtemp: %s\n", strerror(errno));
            return 1;
        }
        own_share = 1;
    }
    if (sharepath_logs_dir(r.share, r.logs, sizeof(r.logs)) == -1 ||
        fs_mkdir_p(r.logs, 0755) == -1 ||
        fs_join(log, sizeof(log), r.logs, "coordinator.log") == -1) {
        fprintf(stderr, "framefarm render: %s: %s\n", r.share, strerror(errno));
        return 1;
    }

    lfd = net_listen(RENDER_LISTEN_HOST, 0, &port, err, sizeof(err));
    if (lfd == -1) {
        fprintf(stderr, "framefarm render: listen on %s: %s\n",
                RENDER_LISTEN_HOST, err);
        return 1;
    }
    snprintf(listen_at, sizeof(listen_at), "%s:%d", RENDER_LISTEN_HOST, port);
    cargv[n++] = prog;
    cargv[n++] = "--share";
    cargv[n++] = r.share;
    cargv[n++] = "--input";
    cargv[n++] = o.zip;
    cargv[n++] = "--output";
    cargv[n++] = o.out;
    cargv[n++] = "--listen";
    cargv[n++] = listen_at;
    cargv[n++] = "--progress";
    /* One job on this machine: no dashboard (a lab's service has one). */
    cargv[n++] = "--http";
    cargv[n++] = "off";
    for (int i = 0; i < o.npass; i++)
        cargv[n++] = o.pass[i];
    if (!o.set_size_given &&
        render_set_size(&o, set_size, tail_sets, sizeof(set_size)) == 0) {
        cargv[n++] = "--set-size";
        cargv[n++] = set_size;
        cargv[n++] = "--tail-sets";
        cargv[n++] = tail_sets;
    }
    /* The nodes share this machine's cores: a speculative backup of a
     * set would only take CPU from its first attempt, never finish
     * sooner. --backups N asks for them anyway. */
    if (!o.backups_given) {
        cargv[n++] = "--backups";
        cargv[n++] = "0";
    }
    cargv[n] = NULL;

    signal(SIGINT, render_on_signal);
    signal(SIGTERM, render_on_signal);
    if (pipe2(pipefd, O_CLOEXEC) == -1) {
        fprintf(stderr, "framefarm render: pipe: %s\n", strerror(errno));
        close(lfd);
        return 1;
    }
    r.coord = render_spawn(n, cargv, lfd, pipefd[1], o.verbose ? NULL : log);
    close(pipefd[1]);
    if (r.coord == -1) {
        fprintf(stderr, "framefarm render: fork: %s\n", strerror(errno));
        close(pipefd[0]);
        close(lfd);
        return 1;
    }
    render_start_nodes(&r, &o, port);
    close(lfd); /* the ambassador's now: it closes when the ambassador ends */
    rc = render_follow(&r, pipefd[0]);
    close(pipefd[0]);
    /* A refusal or an interruption: the nodes have nothing to finish. */
    if (rc == CLI_EXIT_USAGE || render_interrupted)
        render_kill_nodes(&r, SIGTERM);
    render_reap_nodes(&r);
    if (render_interrupted) {
        fprintf(stderr, "\nframefarm render: interrupted\n");
        rc = RENDER_EXIT_INTERRUPTED;
    } else if (rc == CLI_EXIT_USAGE) {
        render_reason(log);
    } else if (rc != 0) {
        if (!o.verbose)
            render_tail(log);
        fprintf(stderr, "framefarm render: failed (exit %d)\n", rc);
    }
    /* The private share goes on every exit path; --keep-share (or a
     * --share of the user's) keeps it, logs included. */
    if (own_share && !o.keep)
        fs_rm_rf(r.share);
    else
        fprintf(stderr, "framefarm render: share kept in %s\n", r.share);
    if (rc != 0 && own_share && !o.keep && !render_interrupted &&
        rc != CLI_EXIT_USAGE)
        fprintf(stderr, "framefarm render: run again with --keep-share to "
                        "keep the share and every log\n");
    return rc;
}
