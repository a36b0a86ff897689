/*
 * main.c - framefarm-node, a render node: probes its encoders for real,
 * then serves the ambassador until the job is finished. The program's
 * main is prog.c; framefarm render runs node_main in processes it forks
 * (see main.h).
 *
 * Test builds only (common/fault.h): the test hook fault_encoder(), read
 * once here, names an encoder that is offered as if it had passed its
 * probe, and every attempt to open it in a render fails, as a GPU that
 * breaks after start-up would. It drives the run-time fallback on
 * machines without a GPU; it is logged loudly.
 * fault_decoder() (nvdec, vaapi) does the same for a GPU JPEG decoder: it
 * passes its probe, and every GPU decode fails in renders. Release
 * binaries have no hooks.
 *
 * Exit status: 0 the job finished; 1 the job failed or the ambassador
 * could not be reached or refused us; 2 bad usage.
 */
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/fault.h"
#include "common/log.h"
#include "common/shareid.h"
#include "gpu-node/main.h"
#include "gpu-node/session.h"
#include "media/decchoice.h"
#include "media/avlog.h"
#include "media/avversion.h"
#include "media/encprobe.h"

#define EXIT_USAGE 2
#define NODE_MAX_THREADS 64
/* The share's identity is polled every 10 ms at first (framefarm render
 * starts its nodes while the ambassador prepares the job and writes it),
 * twice as long each time, up to a second (a share not mounted yet). */
#define NODE_SHARE_POLL_FIRST_MS 10
#define NODE_SHARE_POLL_MS 1000
/* Heap blocks up to this size, freed space kept up to that (see
 * node_keep_memory): glibc's largest mmap threshold (32 MiB on 64-bit). */
#define NODE_MMAP_MAX (32 << 20)
#define NODE_TRIM_MIN (1 << 30)

static const char usage_text[] =
    "usage: framefarm-node --coordinator HOST:PORT --share DIR [--name NAME]\n"
    "           [--encoder auto|cpu|nvenc|vaapi|NAME] [--fallback cpu|none]\n"
    "           [--decoder auto|cpu|nvdec|vaapi] [--preset P] [--threads N]\n"
    "           [--slots N] [--secret FILE] [--codec h264|hevc|av1]\n"
    "           [--retry-for SECONDS] [--once] [-v|--verbose]\n"
    "       framefarm-node --probe\n"
    "       framefarm-node --version\n"
    "\n"
    "A render node: connects to the ambassador (retrying until it is up),\n"
    "renders the sets it is given from the zip on the share DIR into\n"
    "mini-videos on the share. It stays up between the jobs of a service\n"
    "(framefarm-coordinator without --input), and exits when a one-job\n"
    "ambassador's job is finished; --once exits after the first job that\n"
    "ends (for batch schedulers).\n"
    "--probe prints which encoders really work here (and why the others do\n"
    "not) and exits. --encoder is used when the job says auto. When the\n"
    "encoder asked for is unavailable or breaks, --fallback cpu renders on\n"
    "the CPU and says so; none fails the set (the job's --fallback none\n"
    "does the same). --preset overrides every job's preset on this node\n"
    "(an x264 name; e.g. a slow machine). --decoder says where JPEGs are\n"
    "decoded: auto takes a GPU decoder only when the probe measured it\n"
    "faster than all the CPU threads together; a GPU decoder named but\n"
    "unusable falls back to the CPU, saying why. --threads N: each render's\n"
    "JPEG decoders and CPU encoder threads (framefarm render shares the\n"
    "cores out this way). --codec: probe and offer only that codec's\n"
    "encoders (a quicker start). Defaults: --name = host\n"
    "name, --encoder auto, --fallback cpu, --decoder auto, the job's\n"
    "preset, --threads = CPUs, --slots 1, --retry-for 300.\n";

enum {
    OPT_COORD = 256,
    OPT_SHARE,
    OPT_NAME,
    OPT_ENCODER,
    OPT_FALLBACK,
    OPT_DECODER,
    OPT_PRESET,
    OPT_THREADS,
    OPT_CODEC,
    OPT_SLOTS,
    OPT_SECRET,
    OPT_RETRY,
    OPT_PROBE,
    OPT_ONCE,
    OPT_VERSION,
};

static const struct option long_opts[] = {
    {"coordinator", required_argument, NULL, OPT_COORD},
    {"share", required_argument, NULL, OPT_SHARE},
    {"name", required_argument, NULL, OPT_NAME},
    {"encoder", required_argument, NULL, OPT_ENCODER},
    {"fallback", required_argument, NULL, OPT_FALLBACK},
    {"decoder", required_argument, NULL, OPT_DECODER},
    {"preset", required_argument, NULL, OPT_PRESET},
    {"threads", required_argument, NULL, OPT_THREADS},
    {"codec", required_argument, NULL, OPT_CODEC},
    {"slots", required_argument, NULL, OPT_SLOTS},
    {"secret", required_argument, NULL, OPT_SECRET},
    {"retry-for", required_argument, NULL, OPT_RETRY},
    {"probe", no_argument, NULL, OPT_PROBE},
    {"once", no_argument, NULL, OPT_ONCE},
    {"version", no_argument, NULL, OPT_VERSION},
    {"verbose", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static noreturn void
usage(const char *msg)
{
    if (msg != NULL)
        fprintf(stderr, "framefarm-node: %s\n", msg);
    fputs(usage_text, stderr);
    exit(EXIT_USAGE);
}

static long
parse_long(const char *s, long min, long max, const char *what)
{
    char *end;
    long v;
    errno = 0;
    v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || errno != 0 || v < min || v > max) {
        char msg[128];
        snprintf(msg, sizeof(msg), "%s: expected a number in %ld..%ld", what,
                 min, max);
        usage(msg);
    }
    return v;
}

static void
print_probe(const struct node_config *c, const struct decprobe *dp,
            const struct decchoice *dc)
{
    printf("%-14s %-6s %-6s %s\n", "ENCODER", "CODEC", "KIND", "STATUS");
    for (size_t i = 0; i < c->nenc; i++) {
        const struct encprobe_entry *e = &c->enc[i];
        printf("%-14s %-6s %-6s %s%s%s\n", e->name, e->codec,
               encprobe_kind_name(e->kind),
               e->ok ? "ok" : "unavailable: ", e->ok ? "" : e->reason, "");
        if (e->ok && e->device[0] != '\0')
            printf("%-14s %-6s %-6s   device: %s\n", "", "", "", e->device);
    }
    printf("\n%-14s %s\n", "JPEG DECODER", "STATUS");
    if (dp->cpu_ms > 0)
        printf("%-14s ok: %.2f ms per %dx%d picture on one thread, %d "
               "threads\n",
               DECPROBE_CPU, dp->cpu_ms, dp->width, dp->height,
               dp->cpu_threads);
    else
        printf("%-14s ok (libjpeg-turbo, %d threads; not timed: no GPU "
               "decoder to compare)\n",
               DECPROBE_CPU, dp->cpu_threads);
    for (size_t i = 0; i < dp->n; i++) {
        const struct decprobe_entry *e = &dp->hw[i];
        if (e->ok)
            printf("%-14s ok: %.2f ms per picture, one stream; luma PSNR "
                   "%.1f dB against the CPU's\n",
                   e->name, e->ms, e->psnr);
        else
            printf("%-14s unavailable: %s\n", e->name, e->reason);
        if (e->ok && e->device[0] != '\0')
            printf("%-14s   device: %s\n", "", e->device);
    }
    printf("decoding on: %s%s%s%s\n", dc->name, dc->why[0] != '\0' ? " (" : "",
           dc->why, dc->why[0] != '\0' ? ")" : "");
}

/* The test hook: the named encoder is offered as if it had passed its
 * probe (render_set then fails every open of it). 0, or -1 when the name
 * is not in the probe table. */
static int
node_fault(struct node_config *c, const char *name)
{
    for (size_t i = 0; i < c->nenc; i++) {
        struct encprobe_entry *e = &c->enc[i];
        if (strcmp(e->name, name) != 0)
            continue;
        e->ok = 1;
        e->reason[0] = '\0';
        snprintf(e->device, sizeof(e->device), "test hook %s: every open fails",
                 fault_env(FAULT_HOOK_ENCODER));
        return 0;
    }
    return -1;
}

/* The decoder test hook: name passes its probe, as fast as can be. */
static int
node_fault_decoder(struct decprobe *dp, const char *name)
{
    for (size_t i = 0; i < dp->n; i++) {
        struct decprobe_entry *e = &dp->hw[i];
        if (strcmp(e->name, name) != 0)
            continue;
        e->ok = 1;
        e->ms = 0;
        e->reason[0] = '\0';
        snprintf(e->device, sizeof(e->device),
                 "test hook %s: every decode fails",
                 fault_env(FAULT_HOOK_DECODER));
        return 0;
    }
    return -1;
}

/* Sets come one after another, each with an encoder, a muxer and a ring
 * of decoded pictures of the same size (a few hundred MB at 1600x900):
 * keep what one set freed for the next. By default glibc hands the top of
 * the heap back to the kernel when a set ends (past a trim threshold of
 * twice the largest block freed) and the next set faulted it all in
 * again, zeroed: ~10 ms of CPU a set, and most of the cost of a small
 * set. Blocks up to NODE_MMAP_MAX come from the heap, never from a
 * mapping of their own (unmapped when freed). Before any thread. */
static void
node_keep_memory(void)
{
    mallopt(M_MMAP_THRESHOLD, NODE_MMAP_MAX);
    mallopt(M_TRIM_THRESHOLD, NODE_TRIM_MIN);
}

/* The share's identity, read before the node writes anything there: a
 * share not mounted yet (the empty directory underneath) or not a
 * framefarm share is waited for, up to --retry-for, writing nothing.
 * 0, or -1 (said). */
static int
node_await_share(struct node_config *cfg)
{
    char err[ERR_MAX];
    uint64_t give_up = clock_now_ms() + cfg->retry_ms;
    uint64_t poll = NODE_SHARE_POLL_FIRST_MS;
    int said = 0;
    while (shareid_read(cfg->share, cfg->share_id, err, sizeof(err)) == -1) {
        if (clock_now_ms() >= give_up) {
            log_warnx("%s; giving up", err);
            return -1;
        }
        if (!said)
            log_warnx("%s; waiting for it (writing nothing there)", err);
        said = 1;
        clock_sleep_ms(poll);
        if (poll < NODE_SHARE_POLL_MS)
            poll =
                poll * 2 < NODE_SHARE_POLL_MS ? poll * 2 : NODE_SHARE_POLL_MS;
    }
    if (said)
        log_info("share %s found (id %s)", cfg->share, cfg->share_id);
    return 0;
}

int
node_main(int argc, char **argv)
{
    static struct node_config cfg;
    const char *coord = NULL, *secret = NULL, *preset = NULL, *fault;
    const char *decoder = "auto", *codec = NULL;
    static struct decprobe dp;
    struct decchoice dc;
    char err[ERR_MAX], host[NET_HOST_MAX];
    int opt, probe = 0, rc, fallback_cpu = 1;
    struct stat st;

    signal(SIGPIPE, SIG_IGN);
    /* Before any thread exists: glibc's time-zone state is set up once
     * (libzip reads it in every worker), and SVT-AV1 prints only errors
     * (its info banner would fill the log at every probe). */
    tzset();
    setenv("SVT_LOG", "1", 0);
    node_keep_memory();
    memset(&cfg, 0, sizeof(cfg));
    snprintf(cfg.encoder, sizeof(cfg.encoder), "auto");
    cfg.slots = 1;
    cfg.retry_ms = (uint64_t)NODE_DEFAULT_RETRY_S * 1000;
    net_timeouts_default(&cfg.tcp);
    if (gethostname(host, sizeof(host)) == -1)
        snprintf(host, sizeof(host), "node");
    host[sizeof(host) - 1] = '\0';
    ident_sanitize(host, cfg.name);

    while ((opt = getopt_long(argc, argv, "vh", long_opts, NULL)) != -1) {
        switch (opt) {
        case OPT_COORD:
            coord = optarg;
            break;
        case OPT_SHARE:
            if (strlen(optarg) >= sizeof(cfg.share))
                usage("--share is too long");
            snprintf(cfg.share, sizeof(cfg.share), "%s", optarg);
            break;
        case OPT_NAME:
            if (!ident_is_valid(optarg))
                usage("--name: use 1-63 of [A-Za-z0-9._-], not starting "
                      "with '.'");
            snprintf(cfg.name, sizeof(cfg.name), "%s", optarg);
            break;
        case OPT_ENCODER:
            if (strlen(optarg) >= sizeof(cfg.encoder))
                usage("--encoder is too long");
            snprintf(cfg.encoder, sizeof(cfg.encoder), "%s", optarg);
            break;
        case OPT_FALLBACK:
            if (strcmp(optarg, ENC_FALLBACK_CPU) != 0 &&
                strcmp(optarg, ENC_FALLBACK_NONE) != 0)
                usage("--fallback: expected cpu or none");
            fallback_cpu = strcmp(optarg, ENC_FALLBACK_CPU) == 0;
            break;
        case OPT_DECODER:
            if (!decchoice_known(optarg))
                usage("--decoder: expected auto, cpu, nvdec or vaapi");
            decoder = optarg;
            break;
        case OPT_PRESET:
            if (!encprobe_preset_known(optarg))
                usage("--preset: expected an x264 preset name (ultrafast .. "
                      "placebo)");
            preset = optarg;
            break;
        case OPT_CODEC:
            if (strcmp(optarg, "h264") != 0 && strcmp(optarg, "hevc") != 0 &&
                strcmp(optarg, "av1") != 0)
                usage("--codec: expected h264, hevc or av1");
            codec = optarg;
            break;
        case OPT_THREADS:
            cfg.threads =
                (int)parse_long(optarg, 0, NODE_MAX_THREADS, "--threads");
            break;
        case OPT_SLOTS:
            cfg.slots = (int)parse_long(optarg, 1, NODE_MAX_SLOTS, "--slots");
            break;
        case OPT_SECRET:
            secret = optarg;
            break;
        case OPT_RETRY:
            cfg.retry_ms =
                (uint64_t)parse_long(optarg, 0, 86400 * 7, "--retry-for") *
                1000;
            break;
        case OPT_PROBE:
            probe = 1;
            break;
        case OPT_ONCE:
            cfg.once = 1;
            break;
        case 'v':
            log_verbosity = 2;
            break;
        case 'h':
            fputs(usage_text, stdout);
            return 0;
        case OPT_VERSION:
            avversion_print("framefarm-node");
            return 0;
        default:
            usage(NULL);
        }
    }
    if (optind != argc)
        usage("unexpected arguments");
    avlog_start(1);

    encprobe_run_codec(cfg.enc, ENCPROBE_MAX, &cfg.nenc, probe ? NULL : codec);
    fault = fault_encoder();
    if (fault != NULL && node_fault(&cfg, fault) == -1) {
        snprintf(err, sizeof(err),
                 "%s does not name an encoder of the probe table",
                 fault_env(FAULT_HOOK_ENCODER));
        usage(err);
    }
    /* Nothing to measure when the CPU is asked for (the probe's own
     * output still lists the GPU decoders). */
    if (probe || strcmp(decoder, DECPROBE_CPU) != 0)
        decprobe_run(&dp, cfg.threads, probe);
    else
        dp.cpu_threads = cfg.threads;
    cfg.fault_decoder = fault_decoder();
    if (cfg.fault_decoder != NULL &&
        node_fault_decoder(&dp, cfg.fault_decoder) == -1) {
        snprintf(err, sizeof(err), "%s does not name a GPU JPEG decoder",
                 fault_env(FAULT_HOOK_DECODER));
        usage(err);
    }
    if (decchoice_choose(&dp, decoder, &dc, err, sizeof(err)) == -1)
        usage(err);
    snprintf(cfg.decoder, sizeof(cfg.decoder), "%s", dc.name);
    if (probe) {
        print_probe(&cfg, &dp, &dc);
        return 0;
    }
    if (coord == NULL || cfg.share[0] == '\0')
        usage("--coordinator and --share are required");
    if (net_parse_hostport(coord, cfg.host, sizeof(cfg.host), &cfg.port,
                           NET_DEFAULT_PORT) == -1)
        usage("--coordinator: expected HOST:PORT");
    if (stat(cfg.share, &st) == -1 || !S_ISDIR(st.st_mode))
        usage("--share is not a directory");
    if (secret != NULL) {
        if (auth_load(secret, &cfg.secret, err, sizeof(err)) == -1)
            usage(err);
        cfg.keyed = 1;
    }
    {
        char logtag[IDENT_MAX + 8];
        snprintf(logtag, sizeof(logtag), "node %s", cfg.name);
        log_init(logtag);
    }
    for (size_t i = 0; i < cfg.nenc; i++)
        log_debug("encoder %s: %s%s", cfg.enc[i].name,
                  cfg.enc[i].ok ? "ok" : "unavailable: ", cfg.enc[i].reason);
    if (dc.fallback)
        log_warnx("%s; decoding JPEGs on the CPU", dc.why);
    else
        log_info("JPEG decoding on: %s%s%s%s", dc.name,
                 dc.why[0] != '\0' ? " (" : "", dc.why,
                 dc.why[0] != '\0' ? ")" : "");
    if (cfg.fault_decoder != NULL)
        log_warnx("test hook %s=%s: %s is offered as if it passed its probe "
                  "and every decode on it fails",
                  fault_env(FAULT_HOOK_DECODER), cfg.fault_decoder,
                  cfg.fault_decoder);
    if (fault != NULL)
        log_warnx("test hook %s=%s: %s is offered as if it passed its probe "
                  "and every open of it fails",
                  fault_env(FAULT_HOOK_ENCODER), fault, fault);
    if (preset != NULL)
        log_info("--preset %s: every set is encoded with it, whatever the "
                 "job's preset",
                 preset);
    cfg.sel = encsel_new(cfg.enc, cfg.nenc, cfg.encoder, fallback_cpu, preset,
                         fault, clock_now_ms() ^ (uint64_t)getpid());
    if (cfg.sel == NULL)
        fatalx("out of memory");
    if (node_await_share(&cfg) == -1) {
        encsel_free(cfg.sel);
        return 1;
    }
    rc = session_run(&cfg);
    encsel_free(cfg.sel);
    return rc == 0 ? 0 : 1;
}
