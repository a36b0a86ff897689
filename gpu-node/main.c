/*
 * main.c - framefarm-node, a render node: probes its encoders for real,
 * then serves the ambassador until the job is finished.
 *
 * Exit status: 0 the job finished; 1 the job failed or the ambassador
 * could not be reached or refused us; 2 bad usage.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"
#include "common/log.h"
#include "gpu-node/session.h"
#include "media/encprobe.h"

#define EXIT_USAGE 2
#define NODE_MAX_THREADS 64

static const char usage_text[] =
    "usage: framefarm-node --coordinator HOST:PORT --share DIR [--name NAME]\n"
    "           [--encoder auto|cpu|nvenc|vaapi|NAME] [--threads N]\n"
    "           [--slots N] [--secret FILE] [--retry-for SECONDS] [-v]\n"
    "       framefarm-node --probe\n"
    "\n"
    "A render node: connects to the ambassador (retrying until it is up),\n"
    "renders the sets it is given from the zip on the share DIR into\n"
    "mini-videos on the share, and exits when the job is finished.\n"
    "--probe prints which encoders really work here (and why the others do\n"
    "not) and exits. Defaults: --name = host name, --encoder auto,\n"
    "--threads = CPUs, --slots 1, --retry-for 300.\n";

enum {
    OPT_COORD = 256,
    OPT_SHARE,
    OPT_NAME,
    OPT_ENCODER,
    OPT_THREADS,
    OPT_SLOTS,
    OPT_SECRET,
    OPT_RETRY,
    OPT_PROBE,
};

static const struct option long_opts[] = {
    {"coordinator", required_argument, NULL, OPT_COORD},
    {"share", required_argument, NULL, OPT_SHARE},
    {"name", required_argument, NULL, OPT_NAME},
    {"encoder", required_argument, NULL, OPT_ENCODER},
    {"threads", required_argument, NULL, OPT_THREADS},
    {"slots", required_argument, NULL, OPT_SLOTS},
    {"secret", required_argument, NULL, OPT_SECRET},
    {"retry-for", required_argument, NULL, OPT_RETRY},
    {"probe", no_argument, NULL, OPT_PROBE},
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
print_probe(const struct node_config *c)
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
}

int
main(int argc, char **argv)
{
    static struct node_config cfg;
    const char *coord = NULL, *secret = NULL;
    char err[ERR_MAX], host[NET_HOST_MAX];
    int opt, probe = 0, rc;
    struct stat st;

    signal(SIGPIPE, SIG_IGN);
    /* Before any thread exists: glibc's time-zone state is set up once
     * (libzip reads it in every worker), and SVT-AV1 prints only errors
     * (its info banner would fill the log at every probe). */
    tzset();
    setenv("SVT_LOG", "1", 0);
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
        case 'v':
            log_verbosity = 2;
            break;
        case 'h':
            fputs(usage_text, stdout);
            return 0;
        default:
            usage(NULL);
        }
    }
    if (optind != argc)
        usage("unexpected arguments");

    encprobe_run(cfg.enc, ENCPROBE_MAX, &cfg.nenc);
    if (probe) {
        print_probe(&cfg);
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
    rc = session_run(&cfg);
    return rc == 0 ? 0 : 1;
}
