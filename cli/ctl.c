/*
 * ctl.c - `framefarm submit|status|cancel|wait`: the service's control
 * client. Each is one TCP connection to the ambassador (--coordinator,
 * default 127.0.0.1:7700), authenticated like a node when --secret is
 * given, one request (type "control", see docs/protocol.md) and its reply.
 *
 * Exit status: 0 ok (wait: the job's video is written and verified);
 * 1 the job failed or was cancelled, or the request could not be done;
 * 2 bad usage or input (nothing queued), or no such job; 3 the ambassador
 * cannot be reached.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli/cli.h"
#include "common/auth.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/fsutil.h"
#include "common/ident.h"
#include "common/jsonutil.h"
#include "common/netio.h"
#include "common/proto.h"

#define CTL_EXIT_FAILED 1
#define CTL_EXIT_UNREACHABLE 3
#define CTL_TIMEOUT_MS 6000  /* a reply (or a wait's heartbeat) */
#define CTL_SUBMIT_MS 600000 /* a submit lists and copies the zip */
#define CTL_DEFAULT_HOST "127.0.0.1"
#define CTL_WAIT_RETRY_MS 120000
#define CTL_WAIT_RETRY_PAUSE_MS 1000

struct ctl {
    char host[NET_HOST_MAX];
    int port;
    int keyed;
    struct auth_secret secret;
    int fd;
    struct proto_reader rd;
    struct proto_key key;
};

static const char ctl_common_help[] =
    "  --coordinator HOST:PORT   the ambassador (default 127.0.0.1:7700)\n"
    "  --secret FILE             its shared secret, when it has one\n";

static int
ctl_usage(const char *cmd, const char *usage, const char *msg)
{
    if (msg != NULL)
        fprintf(stderr, "framefarm %s: %s\n", cmd, msg);
    fprintf(stderr, "%s%s", usage, ctl_common_help);
    return CLI_EXIT_USAGE;
}

/* Parse one of the common flags. 1 taken, 0 not ours, -1 bad (said). */
static int
ctl_common_flag(struct ctl *c, const char *cmd, int opt, const char *arg)
{
    char err[ERR_MAX];
    if (opt == 'C') {
        if (net_parse_hostport(arg, c->host, sizeof(c->host), &c->port,
                               NET_DEFAULT_PORT) == -1) {
            fprintf(stderr, "framefarm %s: --coordinator: expected HOST:PORT\n",
                    cmd);
            return -1;
        }
        return 1;
    }
    if (opt == 'S') {
        if (auth_load(arg, &c->secret, err, sizeof(err)) == -1) {
            fprintf(stderr, "framefarm %s: %s\n", cmd, err);
            return -1;
        }
        c->keyed = 1;
        return 1;
    }
    return 0;
}

static void
ctl_init(struct ctl *c)
{
    memset(c, 0, sizeof(*c));
    snprintf(c->host, sizeof(c->host), "%s", CTL_DEFAULT_HOST);
    c->port = NET_DEFAULT_PORT;
    c->fd = -1;
}

/* One message, within ms. 1 *msg, 0 timeout or closed, -1 bad. */
static int
ctl_recv(struct ctl *c, uint64_t ms, cJSON **msg, char *err, size_t errlen)
{
    uint64_t deadline = clock_now_ms() + ms;
    for (;;) {
        uint64_t now = clock_now_ms();
        struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
        long n;
        int r = proto_reader_next_keyed(&c->rd, &c->key, msg, err, errlen);
        if (r != 0)
            return r;
        if (now >= deadline) {
            errf(err, errlen, "no answer from the ambassador");
            return 0;
        }
        if (poll(&pfd, 1, (int)(deadline - now)) <= 0)
            continue;
        n = proto_reader_fill(&c->rd, c->fd);
        if (n <= 0) {
            errf(err, errlen, "the ambassador closed the connection");
            return 0;
        }
    }
}

/* Connect, authenticate when keyed, send req (taken). 0, or an exit
 * status (said). */
static int
ctl_open(struct ctl *c, const char *cmd, cJSON *req)
{
    char err[ERR_MAX];
    cJSON *msg = NULL;
    int rc = CTL_EXIT_UNREACHABLE;

    c->fd = net_connect(c->host, c->port, CTL_TIMEOUT_MS, err, sizeof(err));
    if (c->fd == -1) {
        fprintf(stderr,
                "framefarm %s: cannot reach the ambassador at %s:%d: %s\n", cmd,
                c->host, c->port, err);
        cJSON_Delete(req);
        return rc;
    }
    proto_reader_init(&c->rd);
    if (c->keyed) {
        const char *nonce;
        char mac[AUTH_MAC_HEX + 1];
        unsigned char key[AUTH_KEY_LEN];
        if (ctl_recv(c, CTL_TIMEOUT_MS, &msg, err, sizeof(err)) != 1 ||
            strcmp(proto_type(msg), MSG_CHALLENGE) != 0 ||
            (nonce = json_str(msg, "nonce")) == NULL) {
            fprintf(stderr,
                    "framefarm %s: the ambassador sent no challenge "
                    "(is it keyed with --secret too?)\n",
                    cmd);
            goto out;
        }
        auth_mac(&c->secret, nonce, mac);
        cJSON_AddStringToObject(req, "auth", mac);
        auth_session_key(&c->secret, nonce, MSG_CONTROL, key);
        if (proto_send(c->fd, req) == -1)
            goto sendfail;
        proto_key_start(&c->key, key, 0);
    } else if (proto_send(c->fd, req) == -1) {
        goto sendfail;
    }
    rc = 0;
    goto out;
sendfail:
    fprintf(stderr, "framefarm %s: sending to the ambassador: %s\n", cmd,
            strerror(errno));
out:
    cJSON_Delete(msg);
    cJSON_Delete(req);
    return rc;
}

static void
ctl_close(struct ctl *c)
{
    if (c->fd != -1) {
        proto_reader_fini(&c->rd);
        close(c->fd);
    }
    c->fd = -1;
}

/* The reply to the request sent, skipping heartbeats (a wait's). 0 with
 * *reply, or an exit status (said). */
static int
ctl_reply(struct ctl *c, const char *cmd, uint64_t ms, cJSON **reply)
{
    char err[ERR_MAX] = "";
    for (;;) {
        cJSON *msg = NULL;
        const char *type;
        if (ctl_recv(c, ms, &msg, err, sizeof(err)) != 1) {
            fprintf(stderr, "framefarm %s: %s\n", cmd, err);
            return CTL_EXIT_UNREACHABLE;
        }
        type = proto_type(msg);
        if (strcmp(type, MSG_HEARTBEAT) == 0) {
            cJSON_Delete(msg);
            continue;
        }
        if (strcmp(type, MSG_CHALLENGE) == 0) {
            fprintf(stderr,
                    "framefarm %s: the ambassador requires a shared "
                    "secret: add --secret FILE (the same as its "
                    "own)\n",
                    cmd);
            cJSON_Delete(msg);
            return CLI_EXIT_USAGE;
        }
        if (strcmp(type, MSG_ERROR) == 0) {
            const char *e = json_str(msg, "msg");
            fprintf(stderr, "framefarm %s: the ambassador refused: %s\n", cmd,
                    e != NULL ? e : "?");
            cJSON_Delete(msg);
            return CLI_EXIT_USAGE;
        }
        *reply = msg;
        return 0;
    }
}

/* A reply's outcome: 0 when ok, else its exit status (its error said). */
static int
ctl_outcome(const char *cmd, const cJSON *reply)
{
    int ok = 0;
    uint64_t code = CTL_EXIT_FAILED;
    const char *e = json_str(reply, "error");
    json_bool(reply, "ok", &ok);
    if (ok)
        return 0;
    json_u64(reply, "exit", 255, &code);
    fprintf(stderr, "framefarm %s: %s\n", cmd, e != NULL ? e : "failed");
    return code == 0 ? CTL_EXIT_FAILED : (int)code;
}

static cJSON *
ctl_request(const char *op, const char *job)
{
    cJSON *r = cJSON_CreateObject();
    if (r == NULL || cJSON_AddStringToObject(r, "type", MSG_CONTROL) == NULL ||
        json_add_u64(r, "proto", PROTO_VERSION) == NULL ||
        cJSON_AddStringToObject(r, "op", op) == NULL ||
        (job != NULL && cJSON_AddStringToObject(r, "job", job) == NULL)) {
        cJSON_Delete(r);
        return NULL;
    }
    return r;
}

/* One request, one reply. 0 with *reply, or an exit status. */
static int
ctl_call(struct ctl *c, const char *cmd, cJSON *req, uint64_t ms, cJSON **reply)
{
    int rc;
    if (req == NULL) {
        fprintf(stderr, "framefarm %s: out of memory\n", cmd);
        return CTL_EXIT_FAILED;
    }
    rc = ctl_open(c, cmd, req);
    if (rc == 0)
        rc = ctl_reply(c, cmd, ms, reply);
    ctl_close(c);
    return rc;
}

/* ---- wait ---- */

/* A wait outlives the ambassador's restart: while it cannot be reached
 * (killed and restarted, or its host rebooting) the wait tries again for
 * up to CTL_WAIT_RETRY_MS; the job comes back with the queue. */
static int
ctl_wait_job(struct ctl *c, const char *cmd, const char *job)
{
    cJSON *reply = NULL;
    uint64_t give_up = clock_now_ms() + CTL_WAIT_RETRY_MS;
    int rc, said = 0;
    const char *out, *state;
    uint64_t frames = 0;

    while ((rc = ctl_call(c, cmd, ctl_request("wait", job), CTL_TIMEOUT_MS,
                          &reply)) == CTL_EXIT_UNREACHABLE &&
           clock_now_ms() < give_up) {
        if (!said)
            fprintf(stderr, "framefarm %s: trying again for up to %d s\n", cmd,
                    CTL_WAIT_RETRY_MS / 1000);
        said = 1;
        clock_sleep_ms(CTL_WAIT_RETRY_PAUSE_MS);
    }
    if (rc != 0)
        return rc;
    rc = ctl_outcome(cmd, reply);
    out = json_str(reply, "output");
    state = json_str(reply, "state");
    json_u64(reply, "frames", UINT64_MAX >> 11, &frames);
    if (rc == 0)
        printf("%s: %s: %llu frames, verified\n", job, out != NULL ? out : "?",
               (unsigned long long)frames);
    else if (state != NULL)
        fprintf(stderr, "framefarm %s: job %s %s\n", cmd, job, state);
    cJSON_Delete(reply);
    return rc;
}

static const char wait_usage[] =
    "usage: framefarm wait JOB [flags]\n"
    "Waits for the job to end; exits 0 when its video is written and\n"
    "verified, 1 when it failed or was cancelled. An ambassador that cannot\n"
    "be reached (restarting) is tried again for up to 120 s.\n";

static const struct option ctl_common_opts[] = {
    {"coordinator", required_argument, NULL, 'C'},
    {"secret", required_argument, NULL, 'S'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* For the commands that take JOB and the common flags: parse into c; the
 * job (or NULL) into *job. 0, or an exit status. */
static int
ctl_simple_args(struct ctl *c, const char *cmd, const char *usage, int argc,
                char **argv, int need_job, const char **job, int *json)
{
    static const struct option opts[] = {
        {"coordinator", required_argument, NULL, 'C'},
        {"secret", required_argument, NULL, 'S'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int opt, r;
    ctl_init(c);
    optind = 1;
    while ((opt = getopt_long(argc, argv, "h",
                              json != NULL ? opts : ctl_common_opts, NULL)) !=
           -1) {
        if ((r = ctl_common_flag(c, cmd, opt, optarg)) == -1)
            return CLI_EXIT_USAGE;
        if (r == 1)
            continue;
        if (opt == 'j' && json != NULL) {
            *json = 1;
            continue;
        }
        if (opt == 'h') {
            printf("%s%s", usage, ctl_common_help);
            exit(0);
        }
        return ctl_usage(cmd, usage, NULL);
    }
    *job = optind < argc ? argv[optind++] : NULL;
    if (optind != argc)
        return ctl_usage(cmd, usage, "unexpected arguments");
    if (need_job && *job == NULL)
        return ctl_usage(cmd, usage, "which job?");
    if (*job != NULL && !ident_is_valid(*job))
        return ctl_usage(cmd, usage, "a job name is an identifier");
    return 0;
}

int
cli_wait(int argc, char **argv)
{
    struct ctl c;
    const char *job;
    int rc = ctl_simple_args(&c, "wait", wait_usage, argc, argv, 1, &job, NULL);
    return rc != 0 ? rc : ctl_wait_job(&c, "wait", job);
}

/* ---- cancel ---- */

static const char cancel_usage[] =
    "usage: framefarm cancel JOB [flags]\n"
    "Cancels a queued or running job; its files on the share are removed.\n";

int
cli_cancel(int argc, char **argv)
{
    struct ctl c;
    const char *job, *state;
    cJSON *reply = NULL;
    int rc =
        ctl_simple_args(&c, "cancel", cancel_usage, argc, argv, 1, &job, NULL);
    if (rc != 0)
        return rc;
    rc = ctl_call(&c, "cancel", ctl_request("cancel", job), CTL_SUBMIT_MS,
                  &reply);
    if (rc != 0)
        return rc;
    state = json_str(reply, "state");
    if (state != NULL && strcmp(state, "cancelled") == 0) {
        printf("job %s cancelled\n", job);
        rc = 0;
    } else {
        rc = ctl_outcome("cancel", reply);
        if (rc == 0) {
            fprintf(stderr,
                    "framefarm cancel: job %s ended %s before it "
                    "could be cancelled\n",
                    job, state != NULL ? state : "?");
            rc = CTL_EXIT_FAILED;
        }
    }
    cJSON_Delete(reply);
    return rc;
}

/* ---- status ---- */

static const char status_usage[] =
    "usage: framefarm status [JOB] [--json] [flags]\n"
    "The jobs (their sets A Available, B Processing, C Failed, D Counted)\n"
    "and the nodes with their breakers; --json prints one JSON document.\n";

static uint64_t
ctl_u64(const cJSON *o, const char *k)
{
    uint64_t v = 0;
    json_u64(o, k, UINT64_MAX >> 11, &v);
    return v;
}

static void
ctl_print_status(const cJSON *reply)
{
    const cJSON *jobs = cJSON_GetObjectItemCaseSensitive(reply, "jobs");
    const cJSON *nodes = cJSON_GetObjectItemCaseSensitive(reply, "nodes");
    const cJSON *j, *n;

    printf("ambassador generation %llu\n",
           (unsigned long long)ctl_u64(reply, "generation"));
    printf("%-24s %-9s %5s %-22s %-15s %s\n", "JOB", "STATE", "PRIO",
           "SETS A/B/C/D", "FRAMES", "OUTPUT");
    cJSON_ArrayForEach(j, jobs)
    {
        const cJSON *sets = cJSON_GetObjectItemCaseSensitive(j, "sets");
        const cJSON *prog = cJSON_GetObjectItemCaseSensitive(j, "progress");
        const cJSON *prio = cJSON_GetObjectItemCaseSensitive(j, "priority");
        const char *state = json_str(j, "state"),
                   *report = json_str(j, "report");
        char setsbuf[64], framesbuf[48];
        if (sets != NULL)
            snprintf(setsbuf, sizeof(setsbuf), "%llu/%llu/%llu/%llu of %llu",
                     (unsigned long long)ctl_u64(sets, "A"),
                     (unsigned long long)ctl_u64(sets, "B"),
                     (unsigned long long)ctl_u64(sets, "C"),
                     (unsigned long long)ctl_u64(sets, "D"),
                     (unsigned long long)ctl_u64(sets, "total"));
        else
            snprintf(setsbuf, sizeof(setsbuf), "%llu sets",
                     (unsigned long long)ctl_u64(j, "nsets"));
        if (prog != NULL)
            snprintf(framesbuf, sizeof(framesbuf), "%llu/%llu",
                     (unsigned long long)ctl_u64(prog, "done"),
                     (unsigned long long)ctl_u64(prog, "total"));
        else
            snprintf(framesbuf, sizeof(framesbuf), "%llu",
                     (unsigned long long)ctl_u64(j, "nframes"));
        printf("%-24s %-9s %5d %-22s %-15s %s\n", json_str(j, "job"),
               state != NULL ? state : "?",
               cJSON_IsNumber(prio) ? prio->valueint : 0, setsbuf, framesbuf,
               json_str(j, "output") != NULL ? json_str(j, "output") : "");
        if (report != NULL && report[0] != '\0')
            printf("    %s\n", report);
    }
    if (cJSON_GetArraySize(nodes) == 0) {
        printf("no nodes connected\n");
        return;
    }
    printf("%-20s %-22s %-10s %8s  %s\n", "NODE", "PEER", "BREAKER", "COUNTED",
           "ENCODERS");
    cJSON_ArrayForEach(n, nodes)
    {
        printf("%-20s %-22s %-10s %8llu  %s\n", json_str(n, "name"),
               json_str(n, "peer"), json_str(n, "breaker"),
               (unsigned long long)ctl_u64(n, "counted"),
               json_str(n, "encoders"));
    }
}

int
cli_status(int argc, char **argv)
{
    struct ctl c;
    const char *job;
    cJSON *reply = NULL;
    int json = 0;
    int rc =
        ctl_simple_args(&c, "status", status_usage, argc, argv, 0, &job, &json);
    if (rc != 0)
        return rc;
    rc = ctl_call(&c, "status", ctl_request("status", job), CTL_TIMEOUT_MS,
                  &reply);
    if (rc != 0)
        return rc;
    rc = ctl_outcome("status", reply);
    if (rc == 0) {
        if (json) {
            char *text;
            cJSON_DeleteItemFromObjectCaseSensitive(reply, "type");
            text = cJSON_Print(reply);
            if (text != NULL)
                printf("%s\n", text);
            free(text);
        } else {
            ctl_print_status(reply);
        }
    }
    cJSON_Delete(reply);
    return rc;
}

/* ---- submit ---- */

static const char submit_usage[] =
    "usage: framefarm submit ZIP -o OUT [--job ID] [--priority N] [--wait]\n"
    "           [--set-size N] [--fps F] [--codec h264|hevc|av1]\n"
    "           [--encoder auto|cpu|nvenc|vaapi|NAME] [--fallback cpu|none]\n"
    "           [--preset P] [--crf N] [--gop N] [--size WxH|Wx-2|-2xH]\n"
    "           [--camera CAM_NAME] [--timing fps|timestamps] [--force]\n"
    "           [flags]\n"
    "Queues a job on the ambassador (higher --priority first, then in\n"
    "submission order) and prints its id as the last line. The ambassador\n"
    "checks everything first (the zip, the output, the flags: exit 2,\n"
    "nothing queued) and copies the zip onto the share, so the job never\n"
    "depends on this machine's disk. ZIP and OUT are paths the ambassador\n"
    "can reach. --force: replace an existing OUT, or a job of the same name\n"
    "made from another zip. --wait: then wait as `framefarm wait` does.\n"
    "Job id: --job, else OUT's name without its extension. -o is\n"
    "--output.\n";

enum {
    SUB_JOB = 300,
    SUB_PRIORITY,
    SUB_WAIT,
    SUB_FORCE,
    SUB_STR, /* a job flag with a string value, sent as is */
    SUB_NUM, /* a job flag with a number */
};

static const struct option submit_opts[] = {
    {"output", required_argument, NULL, 'o'},
    {"job", required_argument, NULL, SUB_JOB},
    {"priority", required_argument, NULL, SUB_PRIORITY},
    {"wait", no_argument, NULL, SUB_WAIT},
    {"force", no_argument, NULL, SUB_FORCE},
    {"set-size", required_argument, NULL, SUB_NUM},
    {"crf", required_argument, NULL, SUB_NUM},
    {"gop", required_argument, NULL, SUB_NUM},
    {"fps", required_argument, NULL, SUB_STR},
    {"codec", required_argument, NULL, SUB_STR},
    {"encoder", required_argument, NULL, SUB_STR},
    {"fallback", required_argument, NULL, SUB_STR},
    {"preset", required_argument, NULL, SUB_STR},
    {"size", required_argument, NULL, SUB_STR},
    {"camera", required_argument, NULL, SUB_STR},
    {"timing", required_argument, NULL, SUB_STR},
    {"coordinator", required_argument, NULL, 'C'},
    {"secret", required_argument, NULL, 'S'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* "--set-size" -> "set_size" */
static void
ctl_flag_key(const char *name, char *key, size_t len)
{
    snprintf(key, len, "%s", name);
    for (char *p = key; *p != '\0'; p++)
        if (*p == '-')
            *p = '_';
}

/* An absolute path for a file that may not exist yet (its directory
 * must). 0, or -1 (said). */
static int
ctl_abspath(const char *cmd, const char *what, const char *path, char *out,
            size_t len)
{
    char dir[PATH_MAX], real[PATH_MAX];
    const char *slash = strrchr(path, '/');
    const char *base = slash != NULL ? slash + 1 : path;
    if (slash == NULL)
        snprintf(dir, sizeof(dir), ".");
    else
        snprintf(dir, sizeof(dir), "%.*s",
                 slash == path ? 1 : (int)(slash - path), path);
    if (*base == '\0' || realpath(dir, real) == NULL) {
        fprintf(stderr, "framefarm %s: %s %s: %s\n", cmd, what, path,
                *base == '\0' ? "not a file name" : strerror(errno));
        return -1;
    }
    if (snprintf(out, len, "%s%s%s", real, strcmp(real, "/") ? "/" : "",
                 base) >= (int)len) {
        fprintf(stderr, "framefarm %s: %s: path too long\n", cmd, what);
        return -1;
    }
    return 0;
}

int
cli_submit(int argc, char **argv)
{
    struct ctl c;
    cJSON *req = ctl_request("submit", NULL), *flags, *reply = NULL;
    char input[FS_PATH_MAX], output[FS_PATH_MAX], job[IDENT_MAX + 1] = "";
    const char *out = NULL, *id;
    int opt, idx = 0, wait = 0, r;
    long prio = 0;

    ctl_init(&c);
    if (req == NULL ||
        (flags = cJSON_AddObjectToObject(req, "flags")) == NULL) {
        cJSON_Delete(req);
        fprintf(stderr, "framefarm submit: out of memory\n");
        return CTL_EXIT_FAILED;
    }
    optind = 1;
    while ((opt = getopt_long(argc, argv, "o:h", submit_opts, &idx)) != -1) {
        char key[32], *end;
        if ((r = ctl_common_flag(&c, "submit", opt, optarg)) == -1)
            goto usage;
        if (r == 1)
            continue;
        switch (opt) {
        case 'o':
            out = optarg;
            break;
        case SUB_JOB:
            if (!ident_is_valid(optarg)) {
                fprintf(stderr, "framefarm submit: --job: use 1-63 of "
                                "[A-Za-z0-9._-], not starting with '.'\n");
                goto usage;
            }
            snprintf(job, sizeof(job), "%s", optarg);
            break;
        case SUB_PRIORITY:
            errno = 0;
            prio = strtol(optarg, &end, 10);
            if (*optarg == '\0' || *end != '\0' || errno != 0 || prio < -1000 ||
                prio > 1000) {
                fprintf(stderr, "framefarm submit: --priority: expected an "
                                "integer in -1000..1000\n");
                goto usage;
            }
            break;
        case SUB_WAIT:
            wait = 1;
            break;
        case SUB_FORCE:
            cJSON_AddBoolToObject(flags, "force", 1);
            break;
        case SUB_NUM: {
            unsigned long long v;
            errno = 0;
            v = strtoull(optarg, &end, 10);
            ctl_flag_key(submit_opts[idx].name, key, sizeof(key));
            if (*optarg == '\0' || *end != '\0' || errno != 0 ||
                v > (1ULL << 32)) {
                fprintf(stderr, "framefarm submit: --%s: expected a number\n",
                        submit_opts[idx].name);
                goto usage;
            }
            json_add_u64(flags, key, v);
            break;
        }
        case SUB_STR:
            ctl_flag_key(submit_opts[idx].name, key, sizeof(key));
            cJSON_AddStringToObject(flags, key, optarg);
            break;
        case 'h':
            printf("%s%s", submit_usage, ctl_common_help);
            cJSON_Delete(req);
            return 0;
        default:
            goto usage;
        }
    }
    if (optind + 1 != argc || out == NULL) {
        fprintf(stderr, "framefarm submit: one ZIP and -o OUT are required\n");
        goto usage;
    }
    if (ctl_abspath("submit", "ZIP", argv[optind], input, sizeof(input)) ==
            -1 ||
        ctl_abspath("submit", "output", out, output, sizeof(output)) == -1) {
        cJSON_Delete(req);
        return CLI_EXIT_USAGE;
    }
    if (job[0] == '\0') {
        char name[FS_PATH_MAX];
        const char *base = strrchr(output, '/') + 1;
        char *dot;
        snprintf(name, sizeof(name), "%s", base);
        dot = strrchr(name, '.');
        if (dot != NULL && dot != name)
            *dot = '\0';
        ident_sanitize(name, job);
    }
    cJSON_AddStringToObject(req, "input", input);
    cJSON_AddStringToObject(req, "output", output);
    cJSON_AddStringToObject(req, "job", job);
    cJSON_AddNumberToObject(req, "priority", (double)prio);
    r = ctl_call(&c, "submit", req, CTL_SUBMIT_MS, &reply);
    if (r != 0)
        return r;
    r = ctl_outcome("submit", reply);
    id = json_str(reply, "job");
    if (r == 0 && id != NULL) {
        const char *state = json_str(reply, "state");
        if (state != NULL && strcmp(state, "done") == 0)
            fprintf(stderr, "framefarm submit: job %s is already done (%s)\n",
                    id, output);
        printf("%s\n", id);
        fflush(stdout);
        if (wait)
            r = ctl_wait_job(&c, "submit", id);
    }
    cJSON_Delete(reply);
    return r;
usage:
    cJSON_Delete(req);
    fprintf(stderr, "%s%s", submit_usage, ctl_common_help);
    return CLI_EXIT_USAGE;
}

/* ---- ping (check-share) ---- */

int
cli_ping(const char *cmd, const char *hostport, const char *secret_file,
         cJSON **reply)
{
    struct ctl c;
    int rc;

    ctl_init(&c);
    if ((hostport != NULL && ctl_common_flag(&c, cmd, 'C', hostport) == -1) ||
        (secret_file != NULL &&
         ctl_common_flag(&c, cmd, 'S', secret_file) == -1))
        return CLI_EXIT_USAGE;
    rc = ctl_call(&c, cmd, ctl_request("ping", NULL), CTL_TIMEOUT_MS, reply);
    if (rc == 0 && (rc = ctl_outcome(cmd, *reply)) != 0) {
        cJSON_Delete(*reply);
        *reply = NULL;
    }
    return rc;
}
