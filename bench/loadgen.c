/*
 * loadgen.c - N fake render nodes in one process, speaking the real
 * protocol to an ambassador: the handshake (challenge and HMAC with
 * --secret, hello, welcome, signed frames), heartbeats at the period the
 * welcome gives, lease renewals on the share (nodes/<node>/lease, the
 * record common/lease.c encodes, as gpu-node/leasekeeper.c writes it), and
 * with --report done, assignments taken and reported done at once. The
 * mini-video a done names is real: one per distinct set shape (frame
 * count, size, codec, rate) is rendered once with the node's own pipeline
 * (media/render_set, the set's own frames), then hard-linked to the path
 * each set needs, so the ambassador's checker (size, sha256, frames,
 * codec, key frame) and its concat accept it. --report none: idle nodes
 * that decline any assignment. On loopback each node connects from its own
 * address (127.1.x.y), as real nodes come from their own machines. One
 * thread, epoll; timers are scanned every
 * tick (LG_TICK_MS), cheap next to the ambassador it loads.
 *
 * Usage: loadgen --coordinator HOST:PORT --share DIR [--nodes N]
 *   [--prefix NAME] [--duration S] [--report done|none] [--secret FILE]
 *   [--ramp PER_S] [--work-ms MS] [--quiet]
 * --work-ms: a set is reported MS after its assign (progress heartbeats
 * meanwhile, as a rendering node sends them); 0, the default: at once.
 * --ramp: connections opened per second (default 500; 0: all at once).
 * Exits when the duration is over, on SIGINT/SIGTERM, or when the job is
 * over (a node was told "finish" and none is connected any more); prints one
 * summary line on stdout: loadgen: nodes=N connected=C handshakes=H sets_done=D
 * accepted=A rejected=R finished=F errors=E worst_handshake_ms=W
 */
#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "common/auth.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/fsutil.h"
#include "common/ident.h"
#include "common/jsonutil.h"
#include "common/lease.h"
#include "common/log.h"
#include "common/manifest.h"
#include "common/netio.h"
#include "common/proto.h"
#include "common/shareid.h"
#include "common/sharepath.h"
#include "media/render.h"

#define LG_TICK_MS 20
#define LG_DEFAULT_HB_MS 1000
#define LG_DEFAULT_DEAD_MS 6000
#define LG_DEFAULT_RENEW_MS 2000
#define LG_BACKOFF_BASE_MS 250
#define LG_BACKOFF_CAP_MS 8000
#define LG_CONNECT_TIMEOUT_MS 3000
#define LG_SEND_TIMEOUT_S 2
#define LG_MAX_NODES 100000
#define LG_MAX_SHAPES 64
#define LG_EVENTS 256
#define LG_DIR_MODE 0755
#define LG_FILE_MODE 0644
#define LG_MAX_EPOCH PROTO_MAX_EPOCH
#define LG_DEFAULT_RAMP 500
#define LG_MS_PER_S 1000u
#define LG_ERRORS_SHOWN 20
#define LG_SHAREID_POLL_MS 100
/* 127.1.0.0/16: each node's own source address on loopback */
#define LG_SPREAD_NET 0x7f010000u
#define LG_LOOPBACK_NET 0x7f000000u
#define LG_LOOPBACK_MASK 0xff000000u

enum lg_state {
    ST_WAIT,      /* disconnected: reconnect at next_ms */
    ST_CONNECT,   /* non-blocking connect in flight */
    ST_CHALLENGE, /* keyed: waiting for the challenge */
    ST_WELCOME,   /* hello sent */
    ST_SERVE,     /* welcomed */
    ST_FINISHED,  /* told the job is over: stays out */
};

struct lg_shape;

struct lg_node {
    char name[IDENT_MAX + 1];
    enum lg_state st;
    int fd;
    int lease_fd;
    struct proto_reader rd;
    struct proto_key key;
    uint64_t hb_ms, dead_ms, renew_ms;
    uint64_t next_ms; /* ST_WAIT: reconnect; ST_CONNECT..: give up */
    uint64_t next_hb_ms, next_lease_ms, last_rx_ms, t_connect_ms;
    uint64_t backoff_ms;
    uint64_t hb_seq;
    uint64_t counter; /* lease counter */
    uint32_t nheld;
    struct lease_held held[LEASE_MAX_HELD];
    /* The set in hand (one slot): reported at due_ms. */
    int busy;
    uint32_t w_set;
    uint64_t w_epoch, w_start_ms, w_due_ms;
    const struct lg_shape *w_shape;
    char *w_rel; /* owned */
    char w_preset[ENC_NAME_MAX];
};

/* One rendered mini-video per set shape, linked to every set of it. */
struct lg_shape {
    size_t count;
    int width, height, fps_num, fps_den;
    char codec[ENC_NAME_MAX];
    char path[FS_PATH_MAX];
    char sha256[HASH_HEX_LEN + 1];
    char encoder[ENC_NAME_MAX];
    uint64_t bytes;
};

struct lg {
    const char *share;
    const char *prefix;
    char share_id[SHAREID_HEX + 1];
    struct sockaddr_storage addr;
    socklen_t addrlen;
    int spread; /* bind each node to its own 127.1.x.y */
    int keyed;
    struct auth_secret secret;
    int report_done;
    uint64_t work_ms; /* how long a set "renders" */
    int quiet;
    int epfd;
    size_t n;
    struct lg_node *nodes;
    struct lg_shape shapes[LG_MAX_SHAPES];
    size_t nshapes;
    uint64_t rng;
    /* counts for the summary */
    uint64_t handshakes, sets_done, accepted, rejected, finished, errors;
    uint64_t declined, worst_hs_ms, connected;
};

static volatile sig_atomic_t lg_stop;

static void
lg_on_signal(int sig)
{
    (void)sig;
    lg_stop = 1;
}

static uint64_t
lg_rand(struct lg *g)
{
    g->rng ^= g->rng << 13;
    g->rng ^= g->rng >> 7;
    g->rng ^= g->rng << 17;
    return g->rng;
}

static void
lg_err(struct lg *g, const struct lg_node *n, const char *what)
{
    g->errors++;
    if (!g->quiet && g->errors <= LG_ERRORS_SHOWN)
        fprintf(stderr, "loadgen: %s: %s%s\n", n != NULL ? n->name : "-", what,
                g->errors == LG_ERRORS_SHOWN ? " (later errors only counted)"
                                             : "");
}

/* Send and free msg. 0, or -1. */
static int
lg_send(struct lg_node *n, cJSON *msg)
{
    int rc = msg != NULL ? proto_send_keyed(n->fd, &n->key, msg) : -1;
    cJSON_Delete(msg);
    return rc;
}

static void
lg_close(struct lg *g, struct lg_node *n, enum lg_state next)
{
    if (n->fd != -1) {
        epoll_ctl(g->epfd, EPOLL_CTL_DEL, n->fd, NULL);
        close(n->fd);
        n->fd = -1;
        proto_reader_fini(&n->rd);
    }
    if (n->st == ST_SERVE && g->connected > 0)
        g->connected--;
    n->st = next;
    if (next == ST_WAIT) {
        uint64_t wait = lg_rand(g) % (n->backoff_ms + 1);
        n->next_ms = clock_now_ms() + wait;
        if (n->backoff_ms < LG_BACKOFF_CAP_MS)
            n->backoff_ms *= 2;
    }
}

static void
lg_connect(struct lg *g, struct lg_node *n, uint64_t now)
{
    struct epoll_event ev = {.events = EPOLLOUT};
    int fd = socket(g->addr.ss_family,
                    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd == -1) {
        lg_err(g, n, strerror(errno));
        lg_close(g, n, ST_WAIT);
        return;
    }
    n->fd = fd;
    proto_reader_init(&n->rd);
    memset(&n->key, 0, sizeof(n->key));
    n->t_connect_ms = now;
    n->next_ms = now + LG_CONNECT_TIMEOUT_MS;
    n->st = ST_CONNECT;
    ev.data.ptr = n;
    if (g->spread) {
        /* Each fake node from its own loopback address, as real nodes
         * come from their own machines (the ambassador caps connections
         * per address before their hello). */
        struct sockaddr_in src = {.sin_family = AF_INET};
        size_t i = (size_t)(n - g->nodes);
        src.sin_addr.s_addr = htonl(LG_SPREAD_NET | (uint32_t)((i / 250) << 8) |
                                    (uint32_t)(i % 250 + 1));
        if (bind(fd, (const struct sockaddr *)&src, sizeof(src)) == -1) {
            lg_err(g, n, strerror(errno));
            lg_close(g, n, ST_WAIT);
            return;
        }
    }
    if ((connect(fd, (const struct sockaddr *)&g->addr, g->addrlen) == -1 &&
         errno != EINPROGRESS) ||
        epoll_ctl(g->epfd, EPOLL_CTL_ADD, fd, &ev) == -1) {
        lg_err(g, n, strerror(errno));
        lg_close(g, n, ST_WAIT);
    }
}

static cJSON *
lg_hello(const struct lg *g, const struct lg_node *n, const char *nonce)
{
    cJSON *m = proto_msg_new(MSG_HELLO), *encs, *held;
    char mac[AUTH_MAC_HEX + 1];
    if (m == NULL)
        return NULL;
    json_add_u64(m, "proto", PROTO_VERSION);
    cJSON_AddStringToObject(m, "node", n->name);
    cJSON_AddStringToObject(m, "share_id", g->share_id);
    json_add_u64(m, "slots", 1);
    cJSON_AddStringToObject(m, "decoder", "cpu");
    encs = cJSON_AddArrayToObject(m, "encoders");
    if (encs != NULL)
        cJSON_AddItemToArray(encs, cJSON_CreateString("libx264"));
    if (nonce != NULL) {
        auth_mac(&g->secret, nonce, mac);
        cJSON_AddStringToObject(m, "auth", mac);
    }
    held = cJSON_AddArrayToObject(m, "held");
    for (uint32_t i = 0; held != NULL && i < n->nheld; i++) {
        cJSON *h = cJSON_CreateObject();
        if (h == NULL)
            break;
        json_add_u64(h, "set", n->held[i].set);
        json_add_u64(h, "epoch", n->held[i].epoch);
        cJSON_AddItemToArray(held, h);
    }
    return m;
}

/* The connect finished: make the socket blocking for whole-frame writes
 * (bounded by a send timeout), read from now on, say hello unless keyed. */
static void
lg_connected(struct lg *g, struct lg_node *n)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = n};
    struct timeval tv = {.tv_sec = LG_SEND_TIMEOUT_S};
    int soerr = 0;
    socklen_t len = sizeof(soerr);
    int fl;

    if (getsockopt(n->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == -1 ||
        soerr != 0) {
        lg_err(g, n, soerr != 0 ? strerror(soerr) : "connect");
        lg_close(g, n, ST_WAIT);
        return;
    }
    fl = fcntl(n->fd, F_GETFL);
    if (fl == -1 || fcntl(n->fd, F_SETFL, fl & ~O_NONBLOCK) == -1 ||
        setsockopt(n->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == -1 ||
        epoll_ctl(g->epfd, EPOLL_CTL_MOD, n->fd, &ev) == -1) {
        lg_err(g, n, strerror(errno));
        lg_close(g, n, ST_WAIT);
        return;
    }
    if (g->keyed) {
        n->st = ST_CHALLENGE;
        return;
    }
    if (lg_send(n, lg_hello(g, n, NULL)) == -1) {
        lg_err(g, n, "hello not sent");
        lg_close(g, n, ST_WAIT);
        return;
    }
    n->st = ST_WELCOME;
}

/* Write the node's lease record (nodes/<node>/lease), as the lease keeper
 * does at each renewal (without its fsync: the share here is local). */
static void
lg_lease(struct lg *g, struct lg_node *n)
{
    uint8_t buf[LEASE_RECORD_SIZE];
    struct lease l;

    if (n->lease_fd == -1) {
        char dir[FS_PATH_MAX], path[FS_PATH_MAX];
        if (sharepath_node_dir(g->share, n->name, dir, sizeof(dir)) == -1 ||
            sharepath_lease(g->share, n->name, path, sizeof(path)) == -1)
            return;
        if (mkdir(dir, LG_DIR_MODE) == -1 && errno != EEXIST) {
            lg_err(g, n, "cannot make the lease's directory");
            return;
        }
        n->lease_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, LG_FILE_MODE);
        if (n->lease_fd == -1) {
            lg_err(g, n, "cannot open the lease");
            return;
        }
    }
    memset(&l, 0, sizeof(l));
    snprintf(l.node, sizeof(l.node), "%s", n->name);
    l.counter = ++n->counter;
    l.state = LEASE_RUNNING;
    l.nheld = n->nheld;
    memcpy(l.held, n->held, n->nheld * sizeof(n->held[0]));
    lease_encode(&l, buf);
    if (pwrite(n->lease_fd, buf, sizeof(buf), 0) != (ssize_t)sizeof(buf)) {
        lg_err(g, n, "lease not renewed");
        close(n->lease_fd);
        n->lease_fd = -1;
    }
}

static void
lg_hold(struct lg_node *n, uint32_t set, uint64_t epoch)
{
    for (uint32_t i = 0; i < n->nheld; i++)
        if (n->held[i].set == set && n->held[i].epoch == epoch)
            return;
    if (n->nheld < LEASE_MAX_HELD) {
        n->held[n->nheld].set = set;
        n->held[n->nheld++].epoch = epoch;
    }
}

static void
lg_unhold(struct lg_node *n, uint32_t set, uint64_t epoch)
{
    for (uint32_t i = 0; i < n->nheld; i++) {
        if (n->held[i].set == set && n->held[i].epoch == epoch) {
            n->held[i] = n->held[--n->nheld];
            return;
        }
    }
}

static const char *
lg_cpu_encoder(const char *codec)
{
    if (strcmp(codec, "hevc") == 0)
        return "libx265";
    if (strcmp(codec, "av1") == 0)
        return "libsvtav1";
    return "libx264";
}

/* The mini-video for m's shape: rendered from m's own frames the first
 * time, then reused. NULL with err. */
static const struct lg_shape *
lg_shape(struct lg *g, const struct manifest *m, char *err, size_t errlen)
{
    struct lg_shape *s;
    struct render_result res;
    char zip[FS_PATH_MAX], dir[FS_PATH_MAX], name[IDENT_MAX * 2];

    for (size_t i = 0; i < g->nshapes; i++) {
        s = &g->shapes[i];
        if (s->count == m->count && s->width == m->enc.width &&
            s->height == m->enc.height && s->fps_num == m->enc.fps_num &&
            s->fps_den == m->enc.fps_den && strcmp(s->codec, m->enc.codec) == 0)
            return s;
    }
    if (g->nshapes == LG_MAX_SHAPES) {
        errf(err, errlen, "more than %d set shapes", LG_MAX_SHAPES);
        return NULL;
    }
    s = &g->shapes[g->nshapes];
    memset(s, 0, sizeof(*s));
    snprintf(name, sizeof(name), "%s-%zu.mp4", g->prefix, g->nshapes);
    if (fs_join(dir, sizeof(dir), g->share, "loadgen") == -1 ||
        fs_join(zip, sizeof(zip), g->share, m->zip) == -1 ||
        fs_join(s->path, sizeof(s->path), dir, name) == -1) {
        errf(err, errlen, "path too long");
        return NULL;
    }
    if (mkdir(dir, LG_DIR_MODE) == -1 && errno != EEXIST) {
        errf(err, errlen, "%s: %s", dir, strerror(errno));
        return NULL;
    }
    unlink(s->path);
    struct render_request rq = {
        .m = m,
        .zip_path = zip,
        .out_path = s->path,
        .encoder = lg_cpu_encoder(m->enc.codec),
        .threads = 1,
    };
    if (render_set(&rq, NULL, NULL, &res, err, errlen) == -1)
        return NULL;
    s->count = m->count;
    s->width = m->enc.width;
    s->height = m->enc.height;
    s->fps_num = m->enc.fps_num;
    s->fps_den = m->enc.fps_den;
    snprintf(s->codec, sizeof(s->codec), "%s", m->enc.codec);
    snprintf(s->sha256, sizeof(s->sha256), "%s", res.sha256);
    snprintf(s->encoder, sizeof(s->encoder), "%s", res.encoder);
    s->bytes = res.bytes;
    g->nshapes++;
    if (!g->quiet)
        fprintf(stderr, "loadgen: rendered a %zu-frame %dx%d mini-video\n",
                s->count, s->width, s->height);
    return s;
}

/* The shape's mini-video linked in as a node's result at abs. A file has
 * at most ~65,000 links (ext4): past that the shape's file is replaced by
 * a copy of itself, a new inode, and linked again (a queue of 100,000
 * sets of one shape). 0, or -1 with errno. */
static int
lg_link(const struct lg_shape *s, const char *abs)
{
    (void)unlink(abs);
    if (link(s->path, abs) == 0)
        return 0;
    if (errno != EMLINK || fs_copy_atomic(s->path, s->path) == -1)
        return -1;
    return link(s->path, abs);
}

static void
lg_decline(struct lg_node *n, uint64_t set, uint64_t epoch, const char *why,
           int decline)
{
    cJSON *m = proto_msg_new(MSG_FAIL);
    if (m == NULL)
        return;
    json_add_u64(m, "set", set);
    json_add_u64(m, "epoch", epoch);
    cJSON_AddStringToObject(m, "error", why);
    if (decline)
        cJSON_AddBoolToObject(m, "decline", 1);
    lg_send(n, m);
}

/* Report the set in hand done. 0, or -1 when the connection broke. */
static int
lg_report(struct lg *g, struct lg_node *n)
{
    const struct lg_shape *s = n->w_shape;
    cJSON *d = proto_msg_new(MSG_DONE);
    int rc;
    n->busy = 0;
    if (d != NULL) {
        json_add_u64(d, "set", n->w_set);
        json_add_u64(d, "epoch", n->w_epoch);
        cJSON_AddStringToObject(d, "path", n->w_rel);
        json_add_u64(d, "bytes", s->bytes);
        cJSON_AddStringToObject(d, "sha256", s->sha256);
        json_add_u64(d, "frames", s->count);
        cJSON_AddStringToObject(d, "encoder", s->encoder);
        cJSON_AddStringToObject(d, "preset", n->w_preset);
    }
    rc = lg_send(n, d);
    if (rc == 0)
        g->sets_done++;
    return rc;
}

/* An assign: report it done at once (or after --work-ms) with a linked
 * mini-video. -1 when the connection broke. */
static int
lg_on_assign(struct lg *g, struct lg_node *n, const cJSON *msg)
{
    struct manifest *m = NULL;
    const struct lg_shape *s;
    char err[ERR_MAX], rel[FS_PATH_MAX], abs[FS_PATH_MAX], dir[FS_PATH_MAX];
    uint64_t set = 0, epoch = 0;

    if (json_u64(msg, "set", MANIFEST_MAX_SETS, &set) == -1 ||
        json_u64(msg, "epoch", LG_MAX_EPOCH, &epoch) == -1) {
        lg_err(g, n, "assign without set/epoch");
        return 0;
    }
    if (!g->report_done || n->busy) {
        g->declined++;
        lg_decline(n, set, epoch, "no free render slot", 1);
        return 0;
    }
    if (manifest_from_json(cJSON_GetObjectItemCaseSensitive(msg, "manifest"),
                           &m, err, sizeof(err)) == -1) {
        lg_err(g, n, err);
        lg_decline(n, set, epoch, err, 0);
        return 0;
    }
    if ((s = lg_shape(g, m, err, sizeof(err))) == NULL ||
        sharepath_result(NULL, m->job, m->set, epoch, n->name, rel,
                         sizeof(rel)) == -1 ||
        sharepath_out_dir(g->share, m->job, m->set, dir, sizeof(dir)) == -1 ||
        fs_join(abs, sizeof(abs), g->share, rel) == -1 ||
        fs_mkdir_p(dir, LG_DIR_MODE) == -1 || lg_link(s, abs) == -1) {
        if (s != NULL)
            snprintf(err, sizeof(err), "cannot link %.200s: %s", abs,
                     strerror(errno));
        lg_err(g, n, err);
        lg_decline(n, set, epoch, err, 1);
        manifest_free(m);
        return 0;
    }
    free(n->w_rel);
    n->w_rel = strdup(rel);
    if (n->w_rel == NULL) {
        lg_decline(n, set, epoch, "out of memory", 1);
        manifest_free(m);
        return 0;
    }
    n->busy = 1;
    n->w_set = (uint32_t)set;
    n->w_epoch = epoch;
    n->w_shape = s;
    n->w_start_ms = clock_now_ms();
    n->w_due_ms = n->w_start_ms + g->work_ms;
    snprintf(n->w_preset, sizeof(n->w_preset), "%s", m->enc.preset);
    manifest_free(m);
    lg_hold(n, (uint32_t)set, epoch);
    return g->work_ms == 0 ? lg_report(g, n) : 0;
}

/* One message. -1: close and reconnect; 1: finished; 0: go on. */
static int
lg_handle(struct lg *g, struct lg_node *n, const cJSON *msg, uint64_t now)
{
    const char *type = proto_type(msg);
    uint64_t v, set = 0, epoch = 0;
    int ok = 0;

    if (n->st == ST_CHALLENGE) {
        const char *nonce = json_str(msg, "nonce");
        unsigned char key[AUTH_KEY_LEN];
        if (strcmp(type, MSG_CHALLENGE) != 0 || nonce == NULL) {
            lg_err(g, n, "expected a challenge");
            return -1;
        }
        if (lg_send(n, lg_hello(g, n, nonce)) == -1)
            return -1;
        auth_session_key(&g->secret, nonce, n->name, key);
        proto_key_start(&n->key, key, 0);
        n->st = ST_WELCOME;
        return 0;
    }
    if (n->st == ST_WELCOME) {
        if (strcmp(type, MSG_WELCOME) != 0) {
            const char *e = json_str(msg, "msg");
            lg_err(g, n, e != NULL ? e : type);
            return -1;
        }
        n->hb_ms = json_u64(msg, "heartbeat_ms", 600000, &v) == 0 && v > 0
                       ? v
                       : LG_DEFAULT_HB_MS;
        n->dead_ms = json_u64(msg, "dead_ms", 600000, &v) == 0 && v > 0
                         ? v
                         : LG_DEFAULT_DEAD_MS;
        if (json_u64(msg, "lease_renew_ms", 3600000, &v) == 0 && v > 0)
            n->renew_ms = v;
        n->st = ST_SERVE;
        n->backoff_ms = LG_BACKOFF_BASE_MS;
        n->next_hb_ms = now;
        g->handshakes++;
        g->connected++;
        if (now - n->t_connect_ms > g->worst_hs_ms)
            g->worst_hs_ms = now - n->t_connect_ms;
        return 0;
    }
    if (strcmp(type, MSG_HEARTBEAT) == 0)
        return 0;
    if (strcmp(type, MSG_ASSIGN) == 0)
        return lg_on_assign(g, n, msg);
    if (strcmp(type, MSG_RESULT) == 0 || strcmp(type, MSG_CANCEL) == 0) {
        if (json_u64(msg, "set", MANIFEST_MAX_SETS, &set) == 0 &&
            json_u64(msg, "epoch", LG_MAX_EPOCH, &epoch) == 0) {
            lg_unhold(n, (uint32_t)set, epoch);
            if (n->busy && n->w_set == set && n->w_epoch == epoch)
                n->busy = 0;
        }
        if (strcmp(type, MSG_RESULT) == 0) {
            if (json_bool(msg, "accepted", &ok) == 0 && ok)
                g->accepted++;
            else
                g->rejected++;
        }
        return 0;
    }
    if (strcmp(type, MSG_FINISH) == 0)
        return 1;
    if (strcmp(type, MSG_JOBEND) == 0)
        return 0;
    if (strcmp(type, MSG_ERROR) == 0) {
        const char *e = json_str(msg, "msg");
        lg_err(g, n, e != NULL ? e : "error");
        return -1;
    }
    return 0;
}

static void
lg_readable(struct lg *g, struct lg_node *n)
{
    char err[ERR_MAX];
    cJSON *msg;
    uint64_t now = clock_now_ms();
    int r;

    if (proto_reader_fill(&n->rd, n->fd) <= 0) {
        lg_err(g, n, "connection closed");
        lg_close(g, n, ST_WAIT);
        return;
    }
    n->last_rx_ms = now;
    while ((r = proto_reader_next_keyed(&n->rd, &n->key, &msg, err,
                                        sizeof(err))) == 1) {
        int end = lg_handle(g, n, msg, now);
        cJSON_Delete(msg);
        if (end == 1) {
            g->finished++;
            lg_close(g, n, ST_FINISHED);
            return;
        }
        if (end == -1) {
            lg_close(g, n, ST_WAIT);
            return;
        }
    }
    if (r == -1) {
        lg_err(g, n, err);
        lg_close(g, n, ST_WAIT);
    }
}

/* Timers of one node. */
static void
lg_tick(struct lg *g, struct lg_node *n, uint64_t now)
{
    if (n->st != ST_FINISHED && now >= n->next_lease_ms) {
        lg_lease(g, n);
        n->next_lease_ms = now + n->renew_ms;
    }
    switch (n->st) {
    case ST_WAIT:
        if (now >= n->next_ms)
            lg_connect(g, n, now);
        break;
    case ST_CONNECT:
    case ST_CHALLENGE:
    case ST_WELCOME:
        if (now >= n->next_ms + LG_DEFAULT_DEAD_MS) {
            lg_err(g, n, "no welcome in time");
            lg_close(g, n, ST_WAIT);
        }
        break;
    case ST_SERVE:
        if (now - n->last_rx_ms >= n->dead_ms) {
            lg_err(g, n, "ambassador silent");
            lg_send(n, proto_msg_new(MSG_DETACH));
            lg_close(g, n, ST_WAIT);
            break;
        }
        if (n->busy && now >= n->w_due_ms && lg_report(g, n) == -1) {
            lg_err(g, n, "done not sent");
            lg_close(g, n, ST_WAIT);
            break;
        }
        if (now >= n->next_hb_ms) {
            cJSON *m = proto_msg_new(MSG_HEARTBEAT);
            if (m != NULL)
                json_add_u64(m, "seq", ++n->hb_seq);
            if (m != NULL && n->busy) {
                /* Progress, as a rendering node sends it. */
                uint64_t span = n->w_due_ms - n->w_start_ms;
                uint64_t frames =
                    span > 0 ? n->w_shape->count * (now - n->w_start_ms) / span
                             : 0;
                json_add_u64(m, "set", n->w_set);
                json_add_u64(m, "epoch", n->w_epoch);
                json_add_u64(m, "frames", frames);
            }
            if (lg_send(n, m) == -1) {
                lg_err(g, n, "heartbeat not sent");
                lg_close(g, n, ST_WAIT);
                break;
            }
            n->next_hb_ms = now + n->hb_ms;
        }
        break;
    case ST_FINISHED:
        break;
    }
}

static int
lg_resolve(struct lg *g, const char *hostport)
{
    char host[NET_HOST_MAX], portstr[16];
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
    int port;

    if (net_parse_hostport(hostport, host, sizeof(host), &port, 0) == -1 ||
        port <= 0) {
        fprintf(stderr, "loadgen: bad --coordinator %s\n", hostport);
        return -1;
    }
    snprintf(portstr, sizeof(portstr), "%d", port);
    if (getaddrinfo(host, portstr, &hints, &res) != 0 || res == NULL) {
        fprintf(stderr, "loadgen: cannot resolve %s\n", host);
        return -1;
    }
    memcpy(&g->addr, res->ai_addr, res->ai_addrlen);
    g->addrlen = res->ai_addrlen;
    if (g->addr.ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)&g->addr;
        g->spread =
            (ntohl(in->sin_addr.s_addr) & LG_LOOPBACK_MASK) == LG_LOOPBACK_NET;
    }
    freeaddrinfo(res);
    return 0;
}

static void
lg_usage(void)
{
    fprintf(stderr,
            "usage: loadgen --coordinator HOST:PORT --share DIR [--nodes N] "
            "[--prefix NAME]\n"
            "               [--duration S] [--report done|none] [--secret "
            "FILE] [--ramp PER_S] [--work-ms MS]\n"
            "               [--quiet]\n");
}

/* Each node holds a socket and a lease: raise the soft descriptor limit. */
static void
lg_raise_nofile(size_t n)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 2 * n + 64)
        fprintf(stderr,
                "loadgen: %zu nodes need about %zu descriptors; the limit "
                "is %llu\n",
                n, 2 * n + 64, (unsigned long long)rl.rlim_cur);
}

int
main(int argc, char **argv)
{
    struct lg g;
    const char *coord = NULL, *secret = NULL;
    uint64_t duration_ms = 60000, ramp = LG_DEFAULT_RAMP, start, last_tick = 0;
    char err[ERR_MAX];
    struct epoll_event evs[LG_EVENTS];

    memset(&g, 0, sizeof(g));
    g.n = 1000;
    g.prefix = "lg";
    g.epfd = -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--quiet") == 0) {
            g.quiet = 1;
            continue;
        }
        if (v == NULL) {
            lg_usage();
            return 2;
        }
        i++;
        if (strcmp(a, "--coordinator") == 0)
            coord = v;
        else if (strcmp(a, "--share") == 0)
            g.share = v;
        else if (strcmp(a, "--nodes") == 0)
            g.n = strtoull(v, NULL, 10);
        else if (strcmp(a, "--prefix") == 0)
            g.prefix = v;
        else if (strcmp(a, "--duration") == 0)
            duration_ms = strtoull(v, NULL, 10) * LG_MS_PER_S;
        else if (strcmp(a, "--work-ms") == 0)
            g.work_ms = strtoull(v, NULL, 10);
        else if (strcmp(a, "--ramp") == 0)
            ramp = strtoull(v, NULL, 10);
        else if (strcmp(a, "--secret") == 0)
            secret = v;
        else if (strcmp(a, "--report") == 0 && strcmp(v, "done") == 0)
            g.report_done = 1;
        else if (strcmp(a, "--report") == 0 && strcmp(v, "none") == 0)
            g.report_done = 0;
        else {
            lg_usage();
            return 2;
        }
    }
    if (coord == NULL || g.share == NULL || g.n == 0 || g.n > LG_MAX_NODES ||
        duration_ms == 0) {
        lg_usage();
        return 2;
    }
    log_init("loadgen");
    if (secret != NULL) {
        if (auth_load(secret, &g.secret, err, sizeof(err)) == -1) {
            fprintf(stderr, "loadgen: %s\n", err);
            return 2;
        }
        g.keyed = 1;
    }
    if (lg_resolve(&g, coord) == -1)
        return 2;
    signal(SIGPIPE, SIG_IGN);
    signal(SIGINT, lg_on_signal);
    signal(SIGTERM, lg_on_signal);
    /* An ambassador writes the share's id once it is ready (after the
     * job's preparation): wait for it, within the duration. */
    start = clock_now_ms();
    while (shareid_read(g.share, g.share_id, err, sizeof(err)) == -1) {
        if (lg_stop || clock_now_ms() - start >= duration_ms) {
            fprintf(stderr, "loadgen: %s\n", err);
            return 2;
        }
        clock_sleep_ms(LG_SHAREID_POLL_MS);
    }
    lg_raise_nofile(g.n);
    g.nodes = calloc(g.n, sizeof(*g.nodes));
    g.epfd = epoll_create1(EPOLL_CLOEXEC);
    if (g.nodes == NULL || g.epfd == -1) {
        fprintf(stderr, "loadgen: %s\n", strerror(errno));
        return 1;
    }
    start = clock_now_ms();
    g.rng = start ^ ((uint64_t)getpid() << 32) ^ 0x2545f4914f6cdd1dull;
    for (size_t i = 0; i < g.n; i++) {
        struct lg_node *n = &g.nodes[i];
        struct timespec wall;
        snprintf(n->name, sizeof(n->name), "%s-%05zu", g.prefix, i);
        if (!ident_is_valid(n->name)) {
            fprintf(stderr, "loadgen: bad --prefix %s\n", g.prefix);
            return 2;
        }
        n->fd = -1;
        n->lease_fd = -1;
        n->st = ST_WAIT;
        n->hb_ms = LG_DEFAULT_HB_MS;
        n->dead_ms = LG_DEFAULT_DEAD_MS;
        n->renew_ms = LG_DEFAULT_RENEW_MS;
        n->backoff_ms = LG_BACKOFF_BASE_MS;
        /* Connections ramp up at --ramp per second (0: all at once). */
        n->next_ms = ramp > 0 ? start + i * LG_MS_PER_S / ramp : start;
        n->next_lease_ms = n->next_ms;
        clock_gettime(CLOCK_REALTIME, &wall);
        n->counter = (uint64_t)wall.tv_sec * LG_MS_PER_S +
                     (uint64_t)wall.tv_nsec / 1000000u;
    }
    while (!lg_stop) {
        uint64_t now = clock_now_ms();
        int ne;
        if (now - start >= duration_ms)
            break;
        /* The job is over: nodes were told so, and the ambassador let
         * the others go (a one-job ambassador exits). */
        if (g.finished == g.n || (g.finished > 0 && g.connected == 0))
            break;
        if (now - last_tick >= LG_TICK_MS) {
            for (size_t i = 0; i < g.n; i++)
                lg_tick(&g, &g.nodes[i], now);
            last_tick = now;
        }
        ne = epoll_wait(g.epfd, evs, LG_EVENTS, LG_TICK_MS);
        if (ne == -1 && errno != EINTR) {
            fprintf(stderr, "loadgen: epoll: %s\n", strerror(errno));
            break;
        }
        for (int i = 0; i < ne; i++) {
            struct lg_node *n = evs[i].data.ptr;
            if (n->fd == -1)
                continue;
            if (n->st == ST_CONNECT)
                lg_connected(&g, n);
            else
                lg_readable(&g, n);
        }
    }
    printf("loadgen: nodes=%zu connected=%llu handshakes=%llu sets_done=%llu "
           "accepted=%llu rejected=%llu declined=%llu finished=%llu "
           "errors=%llu worst_handshake_ms=%llu\n",
           g.n, (unsigned long long)g.connected,
           (unsigned long long)g.handshakes, (unsigned long long)g.sets_done,
           (unsigned long long)g.accepted, (unsigned long long)g.rejected,
           (unsigned long long)g.declined, (unsigned long long)g.finished,
           (unsigned long long)g.errors, (unsigned long long)g.worst_hs_ms);
    fflush(stdout);
    for (size_t i = 0; i < g.n; i++) {
        if (g.nodes[i].fd != -1) {
            close(g.nodes[i].fd);
            proto_reader_fini(&g.nodes[i].rd);
        }
        if (g.nodes[i].lease_fd != -1)
            close(g.nodes[i].lease_fd);
        free(g.nodes[i].w_rel);
    }
    free(g.nodes);
    close(g.epfd);
    return 0;
}
