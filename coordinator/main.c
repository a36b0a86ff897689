/*
 * main.c - framefarm-coordinator, the ambassador: parses flags, listens,
 * prepares or resumes the job (recovery.c), takes it over with a new
 * generation (generation.c), runs the loop, and reports. The program's
 * main is prog.c; framefarm render runs coordinator_main in a process it
 * forks (see main.h).
 *
 * Exit status: 0 the final video is written and verified; 1 the job
 * failed (the report says which set, frames and errors); 2 bad usage or
 * bad input (nothing written outside the share).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"
#include "common/frameorder.h"
#include "common/log.h"
#include "coordinator/ambassador.h"
#include "coordinator/board.h"
#include "coordinator/config.h"
#include "coordinator/generation.h"
#include "coordinator/httpd.h"
#include "coordinator/main.h"
#include "coordinator/recovery.h"
#include "coordinator/service.h"
#include "media/avlog.h"
#include "media/avversion.h"
#include "media/container.h"
#include "media/encchoice.h"
#include "media/vidinfo.h"

#define EXIT_JOB_FAILED 1
#define EXIT_USAGE 2
#define MAIN_MAX_KEY_FLAGS 32

static const char usage_text[] =
    "usage: framefarm-coordinator --share DIR [--input ZIP --output OUT]\n"
    "           [flags]\n"
    "       framefarm-coordinator --version\n"
    "\n"
    "The ambassador. Without --input and --output it runs as a service:\n"
    "jobs come from `framefarm submit` (see status, cancel, wait), one\n"
    "after another by priority, on render nodes that stay connected; it\n"
    "runs until stopped and a restart resumes the queue. With --input and\n"
    "--output it runs that one job and exits when it is done (what\n"
    "`framefarm render` does). A job's frames are split into sets, one\n"
    "manifest per set under DIR/jobs/ID/; nodes render the sets into\n"
    "mini-videos on the share, each is checked, and they are concatenated\n"
    "into OUT. A job is its input: run again with the same zip it resumes\n"
    "(or says it is done); a job of the same name made from another zip is\n"
    "refused unless --force.\n"
    "\n"
    "The ambassador:\n"
    "  --share DIR            the share, mounted by every node (required)\n"
    "  --listen HOST:PORT     where nodes and clients connect (default\n"
    "                         :7700; port 0 picks one and prints it)\n"
    "  --advertise HOST[:PORT] the address written on the share for nodes\n"
    "                         (default: the listening one)\n"
    "  --secret FILE          nodes and clients must prove they have it\n"
    "  --http HOST:PORT|off   the dashboard, JSON API and /metrics (default\n"
    "                         $FRAMEFARM_HTTP, else 0.0.0.0:7780; port 0\n"
    "                         picks one and prints it; actions need\n"
    "                         --secret, or a client on this machine)\n"
    "  --standby              wait while another ambassador lives on the\n"
    "                         share, then take over (else: refused, exit 2)\n"
    "  --progress             progress lines on stdout (framefarm render)\n"
    "  -v, --verbose          debug lines, libav's own included\n"
    "The job (one-job mode; `framefarm submit` takes the same):\n"
    "  --input ZIP            the frames\n"
    "  --output OUT           the video; its extension picks the container:\n"
    "                         .mp4, .mkv, .mov or .webm (AV1 only)\n"
    "  --job ID               the job's name (default: OUT's, no extension)\n"
    "  --set-size N           frames per set (default 24)\n"
    "  --tail-sets N          cut the last set into N smaller ones (render)\n"
    "  --fps F                frame rate, e.g. 12, 29.97, 30000/1001\n"
    "                         (default 12)\n"
    "  --codec h264|hevc|av1  (default h264)\n"
    "  --encoder auto|cpu|nvenc|vaapi|NAME  (default auto)\n"
    "  --fallback cpu|none    an encoder unavailable on a node: render on\n"
    "                         the CPU and say so (default), or fail the set\n"
    "  --preset P --crf N     (default veryfast, 23)\n"
    "  --gop N                frames between keyframes (default 2 s)\n"
    "  --size WxH|Wx-2|-2xH   scale every frame; -2 follows the aspect\n"
    "  --camera CAM_NAME      the camera of a nuScenes zip of several\n"
    "                         (default CAM_FRONT); a zip whose names name\n"
    "                         no camera is taken whole\n"
    "  --timing fps|timestamps  a constant --fps (default), or each frame\n"
    "                         at its nuScenes capture time\n"
    "  --max-zip-bytes N      refuse a zip whose frames add up to more\n"
    "                         (default 64 GiB)\n"
    "  --force                replace an existing OUT, or a job of the same\n"
    "                         name made from another zip\n"
    "Timings and limits (docs/operations.md; the keys of --config FILE, a\n"
    "JSON file, with '_' for '-'; flags win):\n"
    "  --config FILE\n"
    "  --heartbeat-ms N (1000)   --suspect-ms N (3000)   --dead-ms N (6000)\n"
    "  --lease-renew-ms N (2000) --fence-ms N (25000) --reclaim-ms N (30000)\n"
    "  --grace-ms N (60000)      --share-poll-ms N (1000)\n"
    "  --share-suspect-ms N (5000)  --share-min-free-bytes N (256 MiB)\n"
    "  --max-failures-per-set N (6) --max-reclaims-per-set N (18)\n"
    "  --journal-compact-bytes N (1 MiB)\n"
    "  --backups N (1)        speculative backups a set may get when nodes\n"
    "                         go idle at the end of a job (0: none)\n"
    "  --zip-max-entries N (2000000) --max-sets N (1000000)\n"
    "  --time-scale X         divide every timing by X (tests; 1..1000)\n";

enum {
    OPT_SHARE = 256,
    OPT_INPUT,
    OPT_OUTPUT,
    OPT_LISTEN,
    OPT_JOB,
    OPT_SET_SIZE,
    OPT_TAIL_SETS,
    OPT_FPS,
    OPT_CODEC,
    OPT_ENCODER,
    OPT_FALLBACK,
    OPT_PRESET,
    OPT_CRF,
    OPT_GOP,
    OPT_SECRET,
    OPT_KEY, /* a config key: --heartbeat-ms and the like */
    OPT_CONFIG,
    OPT_ADVERTISE,
    OPT_STANDBY,
    OPT_SCALE,
    OPT_MAX_ZIP,
    OPT_PROGRESS,
    OPT_FORCE,
    OPT_SIZE,
    OPT_CAMERA,
    OPT_TIMING,
    OPT_VERSION,
    OPT_HTTP,
};

static const struct option long_opts[] = {
    {"share", required_argument, NULL, OPT_SHARE},
    {"input", required_argument, NULL, OPT_INPUT},
    {"output", required_argument, NULL, OPT_OUTPUT},
    {"listen", required_argument, NULL, OPT_LISTEN},
    {"job", required_argument, NULL, OPT_JOB},
    {"set-size", required_argument, NULL, OPT_SET_SIZE},
    {"tail-sets", required_argument, NULL, OPT_TAIL_SETS},
    {"fps", required_argument, NULL, OPT_FPS},
    {"codec", required_argument, NULL, OPT_CODEC},
    {"encoder", required_argument, NULL, OPT_ENCODER},
    {"fallback", required_argument, NULL, OPT_FALLBACK},
    {"preset", required_argument, NULL, OPT_PRESET},
    {"crf", required_argument, NULL, OPT_CRF},
    {"gop", required_argument, NULL, OPT_GOP},
    {"secret", required_argument, NULL, OPT_SECRET},
    {"http", required_argument, NULL, OPT_HTTP},
    {"heartbeat-ms", required_argument, NULL, OPT_KEY},
    {"suspect-ms", required_argument, NULL, OPT_KEY},
    {"dead-ms", required_argument, NULL, OPT_KEY},
    {"lease-renew-ms", required_argument, NULL, OPT_KEY},
    {"fence-ms", required_argument, NULL, OPT_KEY},
    {"reclaim-ms", required_argument, NULL, OPT_KEY},
    {"grace-ms", required_argument, NULL, OPT_KEY},
    {"share-poll-ms", required_argument, NULL, OPT_KEY},
    {"share-suspect-ms", required_argument, NULL, OPT_KEY},
    {"share-min-free-bytes", required_argument, NULL, OPT_KEY},
    {"max-failures-per-set", required_argument, NULL, OPT_KEY},
    {"max-reclaims-per-set", required_argument, NULL, OPT_KEY},
    {"backups", required_argument, NULL, OPT_KEY},
    {"journal-compact-bytes", required_argument, NULL, OPT_KEY},
    {"zip-max-entries", required_argument, NULL, OPT_KEY},
    {"max-sets", required_argument, NULL, OPT_KEY},
    {"config", required_argument, NULL, OPT_CONFIG},
    {"advertise", required_argument, NULL, OPT_ADVERTISE},
    {"standby", no_argument, NULL, OPT_STANDBY},
    {"force", no_argument, NULL, OPT_FORCE},
    {"size", required_argument, NULL, OPT_SIZE},
    {"camera", required_argument, NULL, OPT_CAMERA},
    {"timing", required_argument, NULL, OPT_TIMING},
    {"time-scale", required_argument, NULL, OPT_SCALE},
    {"max-zip-bytes", required_argument, NULL, OPT_MAX_ZIP},
    {"progress", no_argument, NULL, OPT_PROGRESS},
    {"verbose", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, OPT_VERSION},
    {NULL, 0, NULL, 0},
};

static char advertise[NET_HOST_MAX + 8];
static int standby;
/* --http: where the dashboard listens; off, or not asked for (the default
 * address, where a port in use is said and passed over). */
static char http_host[NET_HOST_MAX] = "0.0.0.0";
static int http_port = HTTPD_DEFAULT_PORT, http_off, http_asked;

/* A usage error: the message, the synopsis (the text up to its first
 * blank line) and where the rest is. */
static noreturn void
usage(const char *msg)
{
    const char *blank = strstr(usage_text, "\n\n");
    if (msg != NULL)
        fprintf(stderr, "framefarm-coordinator: %s\n", msg);
    fprintf(stderr, "%.*s\nRun framefarm-coordinator --help for every flag.\n",
            (int)(blank - usage_text + 1), usage_text);
    exit(EXIT_USAGE);
}

static uint64_t
parse_u64(const char *s, uint64_t min, uint64_t max, const char *what)
{
    char *end;
    unsigned long long v;
    char msg[128];
    errno = 0;
    v = strtoull(s, &end, 10);
    if (*s == '\0' || *end != '\0' || errno != 0 || v < min || v > max) {
        snprintf(msg, sizeof(msg), "%s: \"%s\" is not a number in %llu..%llu",
                 what, s, (unsigned long long)min, (unsigned long long)max);
        usage(msg);
    }
    return v;
}

static void
copy_arg(char *dst, size_t cap, const char *s, const char *what)
{
    if (strlen(s) >= cap) {
        char msg[96];
        snprintf(msg, sizeof(msg), "%s is too long", what);
        usage(msg);
    }
    memcpy(dst, s, strlen(s) + 1);
}

/* A --listen host that does not resolve is a usage error, said before
 * anything is written; an --advertise host that does not resolve here is
 * said too (nodes may see other names, so it is not refused). */
static void
check_hosts(const struct coord_config *c)
{
    char err[ERR_MAX], host[NET_HOST_MAX];
    int port;

    if (net_resolves(c->listen_host, err, sizeof(err)) == -1) {
        fprintf(stderr, "framefarm-coordinator: --listen: %s\n", err);
        exit(EXIT_USAGE);
    }
    if (advertise[0] != '\0' &&
        net_parse_hostport(advertise, host, sizeof(host), &port, 0) == 0 &&
        net_resolves(host, err, sizeof(err)) == -1)
        log_warnx("--advertise %s: %s here; nodes that cannot resolve it "
                  "either will not find this ambassador through the share",
                  advertise, err);
}

/* --http's value (or $FRAMEFARM_HTTP's): "off" or HOST:PORT. */
static void
parse_http(const char *v, const char *what)
{
    char msg[96];
    http_off = strcmp(v, "off") == 0;
    if (http_off)
        return;
    if (net_parse_hostport(v, http_host, sizeof(http_host), &http_port,
                           HTTPD_DEFAULT_PORT) == -1) {
        snprintf(msg, sizeof(msg), "%s: expected HOST:PORT or off", what);
        usage(msg);
    }
    http_asked = 1;
}

/* Bind the HTTP port before anything else is done, so a port that is
 * taken is said at once. -1: no HTTP (off, or the default address in
 * use: said, not fatal, so two ambassadors can share a machine). */
static int
http_listen(void)
{
    char err[ERR_MAX];
    int port = 0, fd;
    if (http_off)
        return -1;
    fd = net_listen(http_host, http_port, &port, err, sizeof(err));
    if (fd == -1 && http_asked)
        fatalx("--http %s:%d: %s", http_host, http_port, err);
    if (fd == -1) {
        log_warnx("http: %s:%d: %s; no dashboard (say where with --http "
                  "HOST:PORT, or --http off)",
                  http_host, http_port, err);
        return -1;
    }
    printf("http on %s:%d\n", http_host, port);
    fflush(stdout);
    return fd;
}

/* Serve HTTP on hfd for amb (nothing when hfd is -1). */
static struct httpd *
http_start(int hfd, const struct coord_config *cfg, struct ambassador *amb,
           struct service *svc, struct board **board)
{
    char err[ERR_MAX];
    struct httpd *h;
    if (hfd == -1)
        return NULL;
    if ((*board = board_new()) == NULL)
        fatalx("http: out of memory");
    ambassador_set_board(amb, *board);
    h = httpd_start(hfd, cfg, *board, ambassador_events(amb), svc, err,
                    sizeof(err));
    if (h == NULL)
        fatalx("http: %s", err);
    return h;
}

static void
parse_args(int argc, char **argv, struct coord_config *c)
{
    double scale = 1.0, file_scale = 1.0;
    int gop_set = 0, opt, idx = 0, nkeys = 0;
    const char *config_file = NULL;
    struct {
        const char *name, *value;
    } keys[MAIN_MAX_KEY_FLAGS];
    char err[ERR_MAX];
    const char *secret = NULL;
    const char *http_env = getenv("FRAMEFARM_HTTP");

    if (http_env != NULL && http_env[0] != '\0')
        parse_http(http_env, "FRAMEFARM_HTTP");
    while ((opt = getopt_long(argc, argv, "vh", long_opts, &idx)) != -1) {
        switch (opt) {
        case OPT_SHARE:
            copy_arg(c->share, sizeof(c->share), optarg, "--share");
            break;
        case OPT_INPUT:
            copy_arg(c->input, sizeof(c->input), optarg, "--input");
            break;
        case OPT_OUTPUT:
            copy_arg(c->output, sizeof(c->output), optarg, "--output");
            break;
        case OPT_LISTEN:
            if (net_parse_hostport(optarg, c->listen_host,
                                   sizeof(c->listen_host), &c->listen_port,
                                   NET_DEFAULT_PORT) == -1)
                usage("--listen: expected HOST:PORT");
            break;
        case OPT_JOB:
            if (!ident_is_valid(optarg))
                usage("--job: use 1-63 of [A-Za-z0-9._-], not starting "
                      "with '.'");
            copy_arg(c->job, sizeof(c->job), optarg, "--job");
            break;
        case OPT_SET_SIZE:
            c->set_size = (uint32_t)parse_u64(optarg, 1, CONFIG_MAX_SET_SIZE,
                                              "--set-size");
            break;
        case OPT_TAIL_SETS:
            c->tail_sets = (uint32_t)parse_u64(optarg, 0, CONFIG_MAX_SET_SIZE,
                                               "--tail-sets");
            break;
        case OPT_FPS:
            if (encparams_parse_fps(optarg, &c->enc.fps_num, &c->enc.fps_den) ==
                -1)
                usage("--fps: expected e.g. 12, 29.97 or 30000/1001");
            break;
        case OPT_CODEC:
            copy_arg(c->enc.codec, sizeof(c->enc.codec), optarg, "--codec");
            break;
        case OPT_ENCODER:
            copy_arg(c->enc.encoder, sizeof(c->enc.encoder), optarg,
                     "--encoder");
            break;
        case OPT_FALLBACK:
            if (strcmp(optarg, ENC_FALLBACK_CPU) != 0 &&
                strcmp(optarg, ENC_FALLBACK_NONE) != 0)
                usage("--fallback: expected cpu or none");
            copy_arg(c->enc.fallback, sizeof(c->enc.fallback), optarg,
                     "--fallback");
            break;
        case OPT_PRESET:
            copy_arg(c->enc.preset, sizeof(c->enc.preset), optarg, "--preset");
            break;
        case OPT_CRF:
            c->enc.crf = (int)parse_u64(optarg, 0, 51, "--crf");
            break;
        case OPT_GOP:
            c->enc.gop = (int)parse_u64(optarg, 1, 10000, "--gop");
            gop_set = 1;
            break;
        case OPT_SECRET:
            secret = optarg;
            break;
        case OPT_HTTP:
            parse_http(optarg, "--http");
            break;
        case OPT_KEY:
            /* Applied after --config, whatever the order on the line. */
            if (nkeys == MAIN_MAX_KEY_FLAGS)
                usage("too many timing flags");
            keys[nkeys].name = long_opts[idx].name;
            keys[nkeys++].value = optarg;
            break;
        case OPT_CONFIG:
            config_file = optarg;
            break;
        case OPT_ADVERTISE:
            if (strlen(optarg) >= sizeof(advertise))
                usage("--advertise is too long");
            snprintf(advertise, sizeof(advertise), "%s", optarg);
            break;
        case OPT_FORCE:
            c->force = 1;
            break;
        case OPT_SIZE:
            if (encparams_parse_size(optarg, &c->size, err, sizeof(err)) == -1)
                usage(err);
            break;
        case OPT_CAMERA:
            if (!frameorder_camera_valid(optarg))
                usage("--camera: expected a camera such as CAM_FRONT, "
                      "CAM_BACK_LEFT");
            copy_arg(c->limits.camera, sizeof(c->limits.camera), optarg,
                     "--camera");
            break;
        case OPT_TIMING:
            if (encparams_parse_timing(optarg, &c->enc.timing) == -1)
                usage("--timing: expected fps or timestamps");
            break;
        case OPT_STANDBY:
            standby = 1;
            break;
        case OPT_SCALE:
            scale = strtod(optarg, NULL);
            if (!(scale >= 1.0 && scale <= 1000.0))
                usage("--time-scale: expected a number in 1..1000");
            break;
        case OPT_MAX_ZIP:
            c->limits.max_total_bytes =
                parse_u64(optarg, 1, UINT64_MAX >> 1, "--max-zip-bytes");
            break;
        case OPT_PROGRESS:
            c->progress = 1;
            break;
        case 'v':
            log_verbosity = 2;
            break;
        case 'h':
            fputs(usage_text, stdout);
            exit(0);
        case OPT_VERSION:
            avversion_print("framefarm-coordinator");
            exit(0);
        default:
            usage(NULL);
        }
    }
    if (optind != argc)
        usage("unexpected arguments");
    if (c->share[0] == '\0')
        usage("--share is required");
    if ((c->input[0] == '\0') != (c->output[0] == '\0'))
        usage("--input and --output go together (one job), or neither (the "
              "service)");
    if (!gop_set)
        c->enc.gop =
            (c->enc.fps_num / c->enc.fps_den) * ENC_DEFAULT_GOP_SECONDS;
    if (c->enc.gop < 1)
        c->enc.gop = 1;
    if (c->job[0] == '\0' && c->output[0] != '\0') {
        const char *base = strrchr(c->output, '/');
        char name[FS_PATH_MAX];
        snprintf(name, sizeof(name), "%s", base != NULL ? base + 1 : c->output);
        char *dot = strrchr(name, '.');
        if (dot != NULL && dot != name)
            *dot = '\0';
        ident_sanitize(name, c->job);
    }
    if (secret != NULL) {
        if (auth_load(secret, &c->secret, err, sizeof(err)) == -1)
            usage(err);
        c->keyed = 1;
    }
    if (config_file != NULL &&
        config_load(c, config_file, &file_scale, err, sizeof(err)) == -1)
        usage(err);
    for (int i = 0; i < nkeys; i++) {
        char key[64];
        snprintf(key, sizeof(key), "%s", keys[i].name);
        for (char *p = key; *p != '\0'; p++)
            if (*p == '-')
                *p = '_';
        if (config_set(c, key, keys[i].value, err, sizeof(err)) == -1)
            usage(err);
    }
    if (encchoice_check_request(c->enc.codec, c->enc.encoder, c->enc.preset,
                                err, sizeof(err)) == -1 ||
        (c->output[0] != '\0' &&
         (fs_output_check(c->output, c->input, c->share, err, sizeof(err)) ==
              -1 ||
          container_for_output(c->output, c->enc.codec, err, sizeof(err)) ==
              NULL))) {
        fprintf(stderr, "framefarm-coordinator: %s\n", err);
        exit(EXIT_USAGE);
    }
    check_hosts(c);
    if (c->fence_ms >= c->reclaim_ms)
        usage("fence_ms must be below reclaim_ms (a node must stop before "
              "its sets are reclaimed)");
    config_scale(c, scale > 1.0 ? scale : file_scale);
}

/* The video's line on stdout: what a user of the job reads last. */
static void
report_output(const char *path, const struct vidinfo *vi, const char *note)
{
    printf("%s: %llu frames, %dx%d, %g fps, %s%s\n", path,
           (unsigned long long)vi->frames, vi->width, vi->height,
           vi->fps_den > 0 ? (double)vi->fps_num / vi->fps_den : 0.0, vi->codec,
           note);
}

/* Counted sets a node encoded on the CPU because the encoder asked for
 * was unavailable there: said on stdout next to the video (framefarm
 * render passes it on), not only in the log. */
static void
report_fallbacks(const struct amb_stats *st, uint32_t nsets)
{
    if (st->damaged > 0)
        printf("note: %llu frame(s) were decoded with corruption warnings "
               "(damaged JPEGs: libjpeg-turbo kept what it could; the log "
               "names their sets)\n",
               (unsigned long long)st->damaged);
    if (st->fallbacks == 0)
        return;
    if (st->counted == nsets)
        printf("note: %llu of %u sets were encoded with %s on the CPU: %s\n",
               (unsigned long long)st->fallbacks, nsets, st->fallback_encoder,
               st->fallback_why);
    else
        printf("note: %llu of the %llu sets counted in this run were encoded "
               "with %s on the CPU: %s\n",
               (unsigned long long)st->fallbacks,
               (unsigned long long)st->counted, st->fallback_encoder,
               st->fallback_why);
}

/* The service: jobs come from framefarm submit, one after another, on
 * nodes that stay. Runs until killed; a restart resumes the queue. */
static int
serve(struct coord_config *cfg, int lfd, int port, int hfd)
{
    struct service *svc;
    struct ambassador *amb;
    struct board *board = NULL;
    char err[ERR_MAX];

    if (shareid_ensure(cfg->share, cfg->share_id, err, sizeof(err)) == -1)
        fatalx("%s", err);
    if (generation_claim(cfg->share, 0, &cfg->gen) == -1)
        fatal("claiming a generation under %s/coord", cfg->share);
    log_info("service: ambassador generation %llu",
             (unsigned long long)cfg->gen);
    svc = service_new(cfg, err, sizeof(err));
    if (svc == NULL)
        fatalx("%s", err);
    if (generation_publish(cfg, advertise, port, cfg->gen, err, sizeof(err)) ==
        -1)
        fatalx("%s", err);
    amb = ambassador_new(cfg, NULL, lfd, NULL, NULL, cfg->gen, svc);
    if (amb == NULL)
        fatal("starting the ambassador");
    http_start(hfd, cfg, amb, svc, &board);
    if (service_start(svc, ambassador_events(amb)) == -1)
        fatal("starting the job runner");
    service_await_resume(svc);
    ambassador_serve(amb);
    return 0;
}

int
coordinator_main(int argc, char **argv, int listen_fd)
{
    static struct coord_config cfg;
    struct ambassador *amb = NULL;
    struct recovery rec;
    char err[ERR_MAX];
    struct vidinfo vi;
    struct board *board = NULL;
    struct httpd *http = NULL;
    int lfd, hfd, port = 0, rc = EXIT_JOB_FAILED;

    signal(SIGPIPE, SIG_IGN);
    tzset(); /* before threads: libzip and the logs read the time zone */
    log_init("coord");
    config_defaults(&cfg);
    parse_args(argc, argv, &cfg);
    avlog_start(1);

    /* One ambassador a share: a standby waits for the active one to fall
     * silent; anyone else is refused while it lives. */
    if (standby && generation_await_takeover(&cfg, err, sizeof(err)) == -1)
        fatalx("%s", err);
    if (!standby && generation_live(&cfg, err, sizeof(err))) {
        fprintf(stderr,
                "framefarm-coordinator: %s; refusing to start (use "
                "framefarm submit to add a job, or --standby to take over "
                "when it stops)\n",
                err);
        return EXIT_USAGE;
    }
    lfd = listen_fd;
    port = cfg.listen_port;
    if (lfd == -1)
        lfd = net_listen(cfg.listen_host, cfg.listen_port, &port, err,
                         sizeof(err));
    if (lfd == -1)
        fatalx("listen on %s:%d: %s", cfg.listen_host, cfg.listen_port, err);
    printf("listening on %s:%d\n", cfg.listen_host, port);
    fflush(stdout);
    hfd = http_listen();
    if (cfg.input[0] == '\0')
        return serve(&cfg, lfd, port, hfd);

    /* Prepare the job, or resume it from its journal. */
    switch (recovery_open(&rec, &cfg, err, sizeof(err))) {
    case RECOVERY_RUN:
        break;
    case RECOVERY_DONE:
        report_output(cfg.output, &rec.output, " (already done)");
        rc = 0;
        goto out;
    case RECOVERY_BAD_INPUT:
        log_warnx("%s", err);
        fprintf(stderr, "framefarm-coordinator: %s\n", err);
        rc = EXIT_USAGE;
        goto out;
    case RECOVERY_FAILED:
        fprintf(stderr, "framefarm-coordinator: %s\n", err);
        goto out;
    }

    /* The share's identity, once the input is known good (bad input
     * writes nothing on the share). */
    if (shareid_ensure(cfg.share, cfg.share_id, err, sizeof(err)) == -1)
        fatalx("%s", err);

    /* Take the job over: a new generation, journaled, then published. */
    if (generation_claim(cfg.share, rec.st.gen, &cfg.gen) == -1)
        fatal("claiming a generation under %s/coord", cfg.share);
    if (recovery_begin(&rec, cfg.gen, err, sizeof(err)) == -1)
        fatalx("%s", err);
    log_info("job %s: ambassador generation %llu", rec.job->id,
             (unsigned long long)cfg.gen);
    if (generation_publish(&cfg, advertise, port, cfg.gen, err, sizeof(err)) ==
        -1)
        fatalx("%s", err);

    /* Run it, and report. */
    amb = ambassador_new(&cfg, rec.job, lfd, &rec.st, rec.jr, cfg.gen, NULL);
    rec.jr = NULL; /* the ambassador's, even when it failed to start */
    if (amb == NULL)
        fatal("starting the ambassador");
    http = http_start(hfd, &cfg, amb, NULL, &board);
    hfd = -1; /* the server's */
    rc = ambassador_run(amb) == 0 ? 0 : EXIT_JOB_FAILED;
    report_fallbacks(ambassador_stats(amb), rec.job->nsets);
    if (rc == 0) {
        if (vidinfo_probe(cfg.output, &vi, err, sizeof(err)) == 0)
            report_output(cfg.output, &vi, "");
        else
            printf("%s: written\n", cfg.output);
    }
out:
    httpd_stop(http);
    if (hfd != -1)
        close(hfd);
    ambassador_free(amb);
    board_free(board);
    recovery_close(&rec);
    close(lfd);
    return rc;
}
