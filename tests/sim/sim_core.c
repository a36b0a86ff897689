/*
 * sim_core.c - a deterministic simulation of the ambassador's core: the
 * real set table (coordinator/sets.c), circuit breaker (common/breaker.c)
 * and liveness policy (coordinator/liveness.c), driven by a virtual clock,
 * virtual render nodes, a virtual network and a virtual share, with faults
 * chosen by a seed.
 *
 *   sim_core [--seeds N] [--seed S] [--sets N] [--nodes N] [--as-built]
 *            [--strict-timing] [-v]
 *
 * Without --seed it first runs a few seeds twice and compares their trace
 * hashes, then runs seeds 1..N (job size and farm size from the seed) and
 * prints a summary. --seed S -v replays one seed with a trace of every
 * event. A failing seed is printed with the line that replays it.
 *
 * Model. One event queue ordered by (virtual ms, sequence number); one
 * splitmix64 generator per seed is the only source of randomness (no
 * clock, no rand()). The actors:
 * - nodes (gpu-node/session.c): render sets in slots; renew a lease on the
 *   share every LEASE_RENEW_MS, listing what they hold (never cancelled
 *   work), its counter starting from the wall clock at process start, so
 *   above anything an earlier process of the name wrote; fence themselves
 *   (drop their work, never publish) when no renewal has succeeded for
 *   FENCE_MS, and while fenced leave the session (detach) and stay away
 *   until the lease renews; keep work across a lost connection for
 *   GRACE_MS, name it in the next hello and report it after the welcome;
 *   detach after DEAD_MS of silence and reconnect with backoff and full
 *   jitter; come back with the same name after a crash. SIGSTOP defers
 *   everything the process would do; SIGCONT checks the fence first.
 * - the network: one FIFO channel per session and direction (TCP), with
 *   latency and late messages. A lost message breaks its connection (TCP
 *   never loses one and goes on), so both ends find out by heartbeat
 *   timeout; a crash sends a FIN, which the ambassador reads as death.
 *   Done/fail reports may be duplicated, overtaken (reordering seeds), or
 *   sent again by the node after a resume or a reconnect, for epochs long
 *   gone.
 * - the ambassador's host, as coordinator/nodeconn.c and ambassador.c are
 *   written: one nodeconn per session (heartbeats, suspect and dead
 *   timers, its breaker deciding when to ask for work and carried over to
 *   the name's next session, the decline of an assign that crossed a
 *   withdrawal, detach and death told apart); the loop, the only user of
 *   the set table (hello with reattach or cancel, gone, done, checked,
 *   fail, lease (only a higher counter is news), the orphan rules,
 *   dispatch paused while the share is sick, the job-stop rule); the
 *   checker thread (validates a result file, removes stale ones); the
 *   share watcher (probe, lease reads). Thread hand-offs are FIFO queues
 *   with a small random delay.
 * - the share: lease records, result files, hangs of the whole share or of
 *   one node's mount, stale and torn lease reads.
 *
 * The model is the code as built: the stand-in fixes it once ran in place
 * of session.c and nodeconn.c are now theirs. --as-built is still
 * accepted and changes nothing. Not modelled: the journal (ambassador.c
 * holds each loop turn's messages until its records are durable).
 *
 * Checked after every event: epochs never decrease; D is reached at most
 * once and never left; every set-table call agrees with a shadow model of
 * sets.h's contract, every breaker call with breaker.h's rules, every
 * liveness call with liveness.h's. At each accept: the epoch is the set's
 * current one and the file checked was rendered for exactly that
 * assignment (truth kept outside the set table). At the end: a finished
 * job has every set D exactly once with its file intact; a stopped job has
 * a report naming a set that met the stop rule; a job that is neither
 * within the virtual-time budget is "stuck". A seed with no faults must
 * finish without a single reclaim, failure or rejected result. A nodeconn
 * that would wake with nothing due (a busy wait) fails the seed. A reclaim
 * while the holder could still publish is counted, or fails the seed with
 * --strict-timing: safety rests on the epoch, not on that timing.
 *
 * Deterministic: the same seed gives the same trace, byte for byte.
 * Single-threaded.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/breaker.h"
#include "common/clock.h"
#include "coordinator/config.h"
#include "coordinator/liveness.h"
#include "coordinator/sets.h"

/* Seeds and sizes. */
#define SIM_DEFAULT_SEEDS 30000
#define SIM_SANITIZER_DIVISOR 10 /* ASan/TSan builds run fewer */
#define SIM_TSAN_EXTRA_DIVISOR 5 /* and TSan fewer still */
#define SIM_SELF_CHECK_SEEDS 4
#define SIM_MAX_NODES 8
#define SIM_MAX_SETS 200
#define SIM_MAX_SLOTS 6
#define SIM_FEW_SLOTS 3 /* most nodes have at most this many */
#define SIM_MANY_SLOTS_PPM 100000
#define SIM_REPLAY_RING 4          /* reports a node may send again */
#define SIM_REPLAY_TICK_DIVISOR 20 /* per heartbeat, vs per reconnect */
#define SIM_MAX_UNREPORTED (2 * SIM_MAX_SLOTS)                /* as session.c */
#define SIM_MAX_HELD (SIM_MAX_SLOTS + 2 * SIM_MAX_UNREPORTED) /* + awaiting */
#define SIM_SMALL_JOB_PPM 300000 /* seeds with at most SIM_SMALL_SETS */
#define SIM_SMALL_SETS 12
#define SIM_NAME_MAX 12 /* "n" and any int */
#define SIM_REASON_MAX 96
#define SIM_WHY_MAX 512
#define SIM_LINE_MAX 512
#define SIM_MAX_PRINTED_FAILURES 20
#define SIM_GROW_MIN 16 /* first capacity of a growing array */
#define DECIMAL 10

/* Timings, virtual ms: DESIGN.md §5 at full scale. */
#define SIM_HB_MS CONFIG_DEFAULT_HB_MS
#define SIM_SUSPECT_MS CONFIG_DEFAULT_SUSPECT_MS
#define SIM_DEAD_MS CONFIG_DEFAULT_DEAD_MS
#define SIM_LEASE_RENEW_MS CONFIG_DEFAULT_LEASE_RENEW_MS
#define SIM_FENCE_MS CONFIG_DEFAULT_FENCE_MS
#define SIM_RECLAIM_MS CONFIG_DEFAULT_RECLAIM_MS
#define SIM_GRACE_MS CONFIG_DEFAULT_GRACE_MS
#define SIM_SHARE_POLL_MS CONFIG_DEFAULT_SHARE_POLL_MS
#define SIM_SHARE_SUSPECT_MS CONFIG_DEFAULT_SHARE_SUSPECT_MS
#define SIM_MAX_NODES_PER_SET CONFIG_DEFAULT_MAX_NODES_PER_SET
#define SIM_MAX_FAILURES_PER_SET CONFIG_DEFAULT_MAX_FAILURES_PER_SET
#define SIM_AMB_TICK_MS 100         /* ambassador.c AMB_TICK_MS */
#define SIM_CONNECT_TIMEOUT_MS 3000 /* session.c */
#define SIM_BACKOFF_BASE_MS 250     /* session.c */
#define SIM_BACKOFF_CAP_MS 8000     /* session.c */
#define SIM_IDLE_TICK_MS 100        /* session.c: a fenced node's wait */
#define SIM_HEALTHY_SESSIONS 2      /* x dead_ms: backoff starts afresh */
#define SIM_NODE_START_SPREAD_MS 2000
#define SIM_RENDER_MIN_MS 500
#define SIM_RENDER_MAX_MS 6000
#define SIM_CANCEL_STOP_MS 100 /* a cancelled render returns this late */
#define SIM_NET_MIN_MS 1
#define SIM_NET_MAX_MS 30
#define SIM_LATE_MIN_MS 1000
#define SIM_LATE_MAX_MS 20000
#define SIM_QUEUE_MAX_MS 2 /* thread hand-off through an evq */
#define SIM_SHARE_MIN_MS 1
#define SIM_SHARE_MAX_MS 20
#define SIM_CHECK_MIN_MS 5
#define SIM_CHECK_MAX_MS 300
#define SIM_STALE_MAX_MS 3000 /* how old a stale lease read may be */
#define SIM_WALL_EPOCH_MS 1700000000000ull /* CLOCK_REALTIME at virtual 0 */

/* Faults: rates in parts per million. */
#define PPM 1000000u
#define SIM_CALM_PPM 100000 /* seeds with no fault at all */
#define SIM_KIND_PPM 350000 /* each kind of fault is on for this share */
#define SIM_REORDER_PPM 150000
#define SIM_FAULTS_MAX_PER_KIND 3
#define SIM_DROP_MIN_PPM 100
#define SIM_DROP_MAX_PPM 1000
#define SIM_LATE_MIN_PPM 1000
#define SIM_LATE_MAX_PPM 10000
#define SIM_DUP_MIN_PPM 5000
#define SIM_DUP_MAX_PPM 30000
#define SIM_CORRUPT_MIN_PPM 5000
#define SIM_CORRUPT_MAX_PPM 30000
#define SIM_RENDER_FAIL_MIN_PPM 5000
#define SIM_RENDER_FAIL_MAX_PPM 30000
#define SIM_STALE_MIN_PPM 50000
#define SIM_STALE_MAX_PPM 300000
#define SIM_REPLAY_MIN_PPM 50000
#define SIM_REPLAY_MAX_PPM 300000
#define SIM_TORN_MIN_PPM 10000
#define SIM_TORN_MAX_PPM 100000
#define SIM_CRASH_DOWN_MIN_MS 200
#define SIM_CRASH_DOWN_MAX_MS 30000
#define SIM_STOP_MIN_MS 1000
#define SIM_STOP_MAX_MS 40000
#define SIM_PART_MIN_MS 500
#define SIM_PART_MAX_MS 90000      /* past the grace, sometimes */
#define SIM_WHOLE_SHARE_PPM 500000 /* a hang: the share, or one mount */
#define SIM_HANG_MIN_MS 1000
#define SIM_HANG_MAX_MS 40000
#define SIM_WINDOW_MIN_MS 10000
#define SIM_LONGEST_FAULT_MS SIM_PART_MAX_MS
#define SIM_SLACK_MS (20 * S_PER_MIN * MS_PER_S) /* liveness bound */
#define SIM_EVENTS_MAX 50000000ull

#define SPLITMIX_GAMMA 0x9e3779b97f4a7c15ull
#define SPLITMIX_MUL1 0xbf58476d1ce4e5b9ull
#define SPLITMIX_MUL2 0x94d049bb133111ebull
#define SPLITMIX_SHIFT1 30
#define SPLITMIX_SHIFT2 27
#define SPLITMIX_SHIFT3 31
#define FNV_OFFSET 0xcbf29ce484222325ull
#define FNV_PRIME 0x100000001b3ull
#define BREAKER_PCT_OPEN 50 /* breaker.h: "at least half" */
#define PCT 100
#define MS_PER_S 1000
#define S_PER_MIN 60
#define S_PER_H 3600.0
#define NONE UINT64_MAX

/* ---- events ---- */

enum sim_kind {
    /* faults */
    SE_F_CRASH,
    SE_F_STOP,
    SE_F_RESUME,
    SE_F_LINK_DOWN,
    SE_F_LINK_UP,
    SE_F_HANG,
    /* a node's process */
    SE_N_START,
    SE_N_TICK,
    SE_N_LEASE_TICK,
    SE_N_LEASE_DONE,
    SE_N_RENDER_DONE,
    SE_N_CONNECT,
    SE_N_RX,
    /* the ambassador's host */
    SE_A_RX,
    SE_C_TICK,
    SE_C_CMD,
    SE_L_EVENT,
    SE_L_TICK,
    SE_W_POLL,
    SE_W_DONE,
    SE_K_DONE,
};

enum msg_kind {
    M_HELLO,
    M_WELCOME,
    M_HB,
    M_ASSIGN,
    M_DONE,
    M_FAIL,
    M_RESULT,
    M_CANCEL,
    M_DETACH,
    M_ERROR,
    M_CLOSE, /* FIN */
};

enum cmd_kind {
    NC_ASSIGN,
    NC_RESULT,
    NC_FINISH,
    NC_CANCEL,
    NC_ADMIT,
    NC_LEASE_STALE, /* CMD_LEASE, ok = 0 */
    NC_LEASE_FRESH, /* CMD_LEASE, ok = 1 */
};

enum loop_kind {
    LE_HELLO,
    LE_WANT,
    LE_UNWANT,
    LE_DECLINE,
    LE_DONE,
    LE_FAIL,
    LE_GONE,
    LE_CHECKED,
    LE_SHARE,
    LE_LEASE,
};

enum task_kind { TASK_CHECK, TASK_REMOVE };

enum gone_why { GONE_TIMEOUT, GONE_CLOSED, GONE_DETACHED, GONE_FINISHED };

struct sim_ev {
    uint64_t at, seq;
    uint64_t gen;     /* incarnation, tick generation */
    uint64_t session; /* session / connection */
    uint64_t epoch;
    uint64_t aux; /* result id, start time, duration, record index */
    uint32_t set;
    int kind;
    int node; /* virtual node, -1 for none */
    int code; /* message, command, loop event or task kind */
    int ok;
};

/* ---- the share ---- */

struct window {
    uint64_t start, end;
    int node; /* -1: the whole share; else that node's mount */
};

struct held {
    uint32_t set;
    uint64_t epoch;
};

enum lease_rec_state { LR_RUNNING, LR_FENCED };

struct lease_rec {
    uint64_t written_at;
    uint64_t counter;
    uint64_t prev; /* the node's previous record, or NONE */
    enum lease_rec_state state;
    int nheld;
    struct held held[SIM_MAX_HELD];
};

struct result {
    uint32_t set;
    uint64_t epoch;
    int node;
    uint64_t inc, session;
    bool corrupt;
};

struct file {
    uint32_t set;
    uint64_t epoch;
    int node;
    uint64_t result;
    bool present;
    uint64_t next; /* next file of the same set, or NONE */
};

/* ---- a node ---- */

struct work {
    bool used, cancel;
    uint32_t set;
    uint64_t epoch, serial, session;
};

struct done_work {
    uint32_t set;
    uint64_t epoch;
    bool ok;
    uint64_t result;
};

enum node_state { NS_IDLE, NS_HANDSHAKE, NS_UP };

struct vnode {
    char name[SIM_NAME_MAX];
    int slots;
    bool alive, stopped;
    uint64_t inc;
    int link_down; /* partitions in force */
    struct sim_ev *deferred;
    size_t ndeferred, capdeferred;
    /* lease keeper */
    uint64_t counter, last_ok, write_start, last_rec;
    bool writing;
    struct lease_rec pending;
    bool fenced;
    /* session */
    enum node_state st;
    uint64_t conn, conn_at, last_rx, lost_ms, backoff, cbackoff;
    bool connect_pending;
    bool retrying; /* in session_connect's loop: it connects even fenced */
    struct work active[SIM_MAX_SLOTS];
    struct done_work unrep[SIM_MAX_UNREPORTED];
    int nunrep;
    /* session.c's awaiting: done sent on this connection, no result yet;
     * back to unrep when the connection ends. */
    struct done_work await[SIM_MAX_UNREPORTED];
    int nawait;
    struct done_work sent[SIM_REPLAY_RING]; /* the last reports */
    uint64_t nsent;
    uint64_t serial;
};

/* ---- a session: network channel, nodeconn and the loop's node entry ---- */

struct brk_shadow {
    enum breaker_state state;
    uint32_t consecutive, opens, recorded;
    bool outcomes[BREAKER_WINDOW_MAX]; /* newest first, true = failed */
    bool probe_out;
};

struct sess {
    int node;
    /* network */
    bool broken;
    uint64_t last_to_amb, last_to_node;
    struct held hello[SIM_MAX_HELD]; /* what the node's hello listed */
    int nhello;
    /* nodeconn */
    bool c_started, c_open, detached;
    int slots;
    struct breaker br;
    struct brk_shadow bs;
    enum breaker_state br_reported;
    bool admitted;         /* NC_ADMIT applied: asks may start */
    bool lease_stale;      /* nodeconn: CMD_LEASE said its lease is still */
    bool lease_stale_sent; /* the loop: what it last told the thread */
    bool have_carried;     /* NC_ADMIT carries the name's last breaker */
    struct breaker carried;
    struct brk_shadow carried_bs;
    struct held held[CONFIG_MAX_SLOTS];
    int nheld, wanted, suspect;
    uint64_t last_rx, next_hb, tick_gen, outbox_last;
    /* the loop's amb_node */
    bool listed;
    int hello_ok, wants;
    uint64_t next; /* next session in the loop's list, 0 = end */
};

/* ---- the loop's view of a node name ---- */

struct peer {
    bool used;
    struct liveness lv;
    uint64_t last; /* index of the last lease record read, NONE */
    uint32_t advances_since_lost;
    bool have_br; /* the breaker its last session ended with */
    struct breaker br;
    struct brk_shadow bs;
};

/* Shadow of one set, kept from sets.h's contract alone. */
struct shadow {
    enum set_status status;
    uint64_t epoch, holder;
    bool checking;
    int holder_node;
    uint32_t attempts, failures, reclaims, failed_mask;
};

struct truth {
    uint64_t assign_epoch, assign_session; /* the last assignment made */
    int assign_node;
    uint64_t last_epoch; /* as last seen, for "only grows" */
    bool counted;        /* seen in D */
    uint32_t times_counted;
    bool acc_valid; /* the accepted file */
    uint64_t acc_epoch;
    int acc_node;
};

struct faults {
    bool calm, reorder;
    uint32_t drop_ppm, late_ppm, dup_ppm, corrupt_ppm, render_fail_ppm;
    uint32_t replay_ppm;
    uint32_t stale_ppm, torn_ppm;
    uint64_t until; /* no faults after this */
};

struct stats {
    uint64_t seeds, failed, completed, stopped, calm;
    uint64_t sets, counted, assigned, declined, reattached, cancels;
    uint64_t stale, duplicates, rejected, failures;
    uint64_t reclaim_died, reclaim_nosession, reclaim_back, reclaim_silent,
        reclaim_lease, reclaim_live;
    uint64_t results, corrupt_made, corrupt_caught, files_removed;
    uint64_t fence_drops, grace_drops;
    uint64_t crashes, stops, partitions, drops, late, dups, hangs, mount_hangs,
        stale_reads, torn_reads, replays;
    uint64_t breaker_opens, spins, sessions, refused, events, virtual_ms;
};

/* What the command line fixes for every seed. */
struct sim_opts {
    uint32_t nsets; /* 0: from the seed */
    int nnodes;     /* 0: from the seed */
    bool tracing, verbose;
    bool strict_timing; /* a reclaim before the holder fenced fails */
};

struct sim {
    uint64_t seed;
    uint64_t rng;
    uint64_t now, seq, events;
    bool tracing, verbose;
    bool strict_timing;
    uint64_t trace_hash;
    bool failed;
    char why[SIM_WHY_MAX];

    uint32_t nsets;
    int nnodes;
    struct faults f;
    uint64_t budget_ms;
    struct window *hangs;
    size_t nhangs, caphangs;

    struct sim_ev *heap;
    size_t nheap, capheap;

    struct result *results;
    size_t nresults, capresults;
    struct file *files;
    size_t nfiles, capfiles;
    uint64_t *file_head;
    struct lease_rec *leases;
    size_t nleases, capleases;

    struct vnode nodes[SIM_MAX_NODES];
    struct sess *sess;
    size_t nsess, capsess; /* sess[0] unused */

    /* the ambassador */
    struct set_table *sets;
    struct shadow *sh;
    struct truth *tr;
    struct peer peers[SIM_MAX_NODES];
    uint64_t l_head;
    uint64_t loop_last, k_busy;
    uint64_t share_ok_ms, next_orphan_ms, share_healthy_ms;
    bool share_sick, w_busy;
    int finished; /* 1 done, -1 stopped */
    char report[SIM_WHY_MAX];
    uint32_t stop_set;
    struct stats st;
};

static void sim_fail(struct sim *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void tracef(struct sim *s, const char *who, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- plumbing ---- */

static void *
xgrow(void *p, size_t *cap, size_t need, size_t size)
{
    size_t ncap = *cap > 0 ? *cap : SIM_GROW_MIN;
    void *q;
    if (need <= *cap)
        return p;
    while (ncap < need)
        ncap *= 2;
    q = realloc(p, ncap * size);
    if (q == NULL) {
        fprintf(stderr, "sim: out of memory\n");
        exit(2);
    }
    *cap = ncap;
    return q;
}

static uint64_t
rng_next(struct sim *s)
{
    uint64_t z = (s->rng += SPLITMIX_GAMMA);
    z = (z ^ (z >> SPLITMIX_SHIFT1)) * SPLITMIX_MUL1;
    z = (z ^ (z >> SPLITMIX_SHIFT2)) * SPLITMIX_MUL2;
    return z ^ (z >> SPLITMIX_SHIFT3);
}

static uint64_t
rng_below(struct sim *s, uint64_t n)
{
    return n > 0 ? rng_next(s) % n : 0;
}

static uint64_t
rng_range(struct sim *s, uint64_t lo, uint64_t hi)
{
    return lo + rng_below(s, hi - lo + 1);
}

static bool
rng_ppm(struct sim *s, uint32_t ppm)
{
    return ppm > 0 && rng_below(s, PPM) < ppm;
}

static void
tracef(struct sim *s, const char *who, const char *fmt, ...)
{
    char line[SIM_LINE_MAX];
    va_list ap;
    int n;

    if (!s->tracing)
        return;
    n = snprintf(line, sizeof(line), "%7" PRIu64 ".%03" PRIu64 " %-4s ",
                 s->now / MS_PER_S, s->now % MS_PER_S, who);
    if (n < 0 || (size_t)n >= sizeof(line))
        return;
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    va_end(ap);
    for (const char *p = line; *p != '\0'; p++)
        s->trace_hash = (s->trace_hash ^ (uint8_t)*p) * FNV_PRIME;
    s->trace_hash = (s->trace_hash ^ '\n') * FNV_PRIME;
    if (s->verbose)
        printf("%s\n", line);
}

static void
sim_fail(struct sim *s, const char *fmt, ...)
{
    va_list ap;
    if (s->failed)
        return;
    s->failed = true;
    va_start(ap, fmt);
    vsnprintf(s->why, sizeof(s->why), fmt, ap);
    va_end(ap);
    tracef(s, "SIM", "INVARIANT BROKEN: %s", s->why);
}

static const char *
node_name(const struct sim *s, int node)
{
    return node >= 0 && node < s->nnodes ? s->nodes[node].name : "?";
}

/* The ambassador knows nodes by name; the sim by index. */
static int
name_index(const struct sim *s, const char *name)
{
    for (int i = 0; i < s->nnodes; i++)
        if (strcmp(s->nodes[i].name, name) == 0)
            return i;
    return -1;
}

static bool
faulting(const struct sim *s)
{
    return !s->f.calm && s->now < s->f.until;
}

/* ---- the event queue: a binary heap on (at, seq) ---- */

static bool
ev_before(const struct sim_ev *a, const struct sim_ev *b)
{
    return a->at != b->at ? a->at < b->at : a->seq < b->seq;
}

static struct sim_ev
ev_make(int kind, uint64_t at, int node)
{
    struct sim_ev e;
    memset(&e, 0, sizeof(e));
    e.kind = kind;
    e.at = at;
    e.node = node;
    return e;
}

static void
ev_push(struct sim *s, struct sim_ev e)
{
    size_t i;
    e.seq = s->seq++;
    s->heap = xgrow(s->heap, &s->capheap, s->nheap + 1, sizeof(*s->heap));
    i = s->nheap++;
    while (i > 0) {
        size_t up = (i - 1) / 2;
        if (!ev_before(&e, &s->heap[up]))
            break;
        s->heap[i] = s->heap[up];
        i = up;
    }
    s->heap[i] = e;
}

static struct sim_ev
ev_pop(struct sim *s)
{
    struct sim_ev top = s->heap[0], last = s->heap[--s->nheap];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= s->nheap)
            break;
        if (c + 1 < s->nheap && ev_before(&s->heap[c + 1], &s->heap[c]))
            c++;
        if (!ev_before(&s->heap[c], &last))
            break;
        s->heap[i] = s->heap[c];
        i = c;
    }
    if (s->nheap > 0)
        s->heap[i] = last;
    return top;
}

/* ---- the share ---- */

static bool
share_hung(const struct sim *s, int node, uint64_t t, uint64_t *end)
{
    for (size_t i = 0; i < s->nhangs; i++) {
        const struct window *w = &s->hangs[i];
        if ((w->node == -1 || w->node == node) && t >= w->start && t < w->end) {
            *end = w->end;
            return true;
        }
    }
    return false;
}

/* When an operation started at t by node (-1: the ambassador's host)
 * completes: after every hang that holds it, plus the share's latency. */
static uint64_t
share_done(struct sim *s, int node, uint64_t t)
{
    uint64_t end;
    while (share_hung(s, node, t, &end))
        t = end;
    return t + rng_range(s, SIM_SHARE_MIN_MS, SIM_SHARE_MAX_MS);
}

static struct file *
file_find(struct sim *s, uint32_t set, uint64_t epoch, int node)
{
    for (uint64_t i = s->file_head[set]; i != NONE; i = s->files[i].next) {
        struct file *f = &s->files[i];
        if (f->epoch == epoch && f->node == node)
            return f;
    }
    return NULL;
}

/* A node renamed its finished attempt into place: <epoch>-<node>. */
static void
file_publish(struct sim *s, uint32_t set, uint64_t epoch, int node,
             uint64_t result)
{
    struct file *f = file_find(s, set, epoch, node);
    if (f != NULL) {
        sim_fail(s, "set %u epoch %" PRIu64 ": node %s published twice", set,
                 epoch, node_name(s, node));
        return;
    }
    s->files = xgrow(s->files, &s->capfiles, s->nfiles + 1, sizeof(*s->files));
    f = &s->files[s->nfiles];
    f->set = set;
    f->epoch = epoch;
    f->node = node;
    f->result = result;
    f->present = true;
    f->next = s->file_head[set];
    s->file_head[set] = s->nfiles++;
}

/* ---- shadow checks of the pure modules ---- */

static void
shadow_compare(struct sim *s, uint32_t set, const char *op)
{
    const struct set_info *i = set_table_get(s->sets, set);
    const struct shadow *h = &s->sh[set];
    uint32_t nfailed = (uint32_t)__builtin_popcount(h->failed_mask);

    if (i == NULL) {
        sim_fail(s, "set_table_get(%u) is NULL after %s", set, op);
        return;
    }
    if (i->status != h->status || i->epoch != h->epoch ||
        i->holder != h->holder || (i->checking != 0) != h->checking ||
        i->attempts != h->attempts || i->failures != h->failures ||
        i->reclaims != h->reclaims || i->nfailed_on != nfailed ||
        (h->status == SET_PROCESSING &&
         strcmp(i->holder_name, node_name(s, h->holder_node)) != 0))
        sim_fail(s,
                 "set table disagrees with sets.h after %s of set %u: "
                 "module %c epoch %" PRIu64 " holder %" PRIu64
                 " (%s) checking %d attempts %u failures %u reclaims %u "
                 "failed-on %u; contract %c epoch %" PRIu64 " holder %" PRIu64
                 " (%s) checking %d attempts %u "
                 "failures %u reclaims %u failed-on %u",
                 op, set, (char)i->status, i->epoch, i->holder, i->holder_name,
                 i->checking, i->attempts, i->failures, i->reclaims,
                 i->nfailed_on, (char)h->status, h->epoch, h->holder,
                 node_name(s, h->holder_node), h->checking, h->attempts,
                 h->failures, h->reclaims, nfailed);
}

static bool
shadow_current(const struct shadow *h, uint64_t epoch)
{
    return h->status == SET_PROCESSING && h->epoch == epoch;
}

static void
shadow_rc(struct sim *s, const char *op, uint32_t set, uint64_t epoch, int rc,
          bool want_ok)
{
    if ((rc == 0) != want_ok)
        sim_fail(s,
                 "%s(set %u, epoch %" PRIu64 ") returned %d; sets.h says "
                 "it should %s (set %c epoch %" PRIu64 " checking %d)",
                 op, set, epoch, rc, want_ok ? "succeed" : "refuse",
                 (char)s->sh[set].status, s->sh[set].epoch,
                 s->sh[set].checking);
}

static void
shadow_to_failed(struct shadow *h)
{
    h->failed_mask |= 1u << h->holder_node;
    h->status = SET_FAILED;
    h->epoch++;
    h->holder = 0;
    h->checking = false;
    h->failures++;
}

static int
sets_assign(struct sim *s, uint32_t set, uint64_t session, int node,
            uint64_t *epoch)
{
    struct shadow *h = &s->sh[set];
    bool can = h->status == SET_AVAILABLE || h->status == SET_FAILED;
    int rc = set_table_assign(s->sets, set, session, node_name(s, node), epoch);
    shadow_rc(s, "set_table_assign", set, h->epoch + 1, rc, can);
    if (rc == 0 && can) {
        h->status = SET_PROCESSING;
        h->epoch++;
        h->holder = session;
        h->holder_node = node;
        h->checking = false;
        h->attempts++;
        if (*epoch != h->epoch)
            sim_fail(s,
                     "set_table_assign(set %u) gave epoch %" PRIu64
                     ", want %" PRIu64,
                     set, *epoch, h->epoch);
    }
    shadow_compare(s, set, "assign");
    return rc;
}

static int
sets_fail(struct sim *s, uint32_t set, uint64_t epoch, const char *why)
{
    struct shadow *h = &s->sh[set];
    bool can = shadow_current(h, epoch) && !h->checking;
    uint32_t nodes = 0;
    int rc = set_table_fail(s->sets, set, epoch, why, &nodes);
    shadow_rc(s, "set_table_fail", set, epoch, rc, can);
    if (rc == 0 && can) {
        shadow_to_failed(h);
        if (nodes != (uint32_t)__builtin_popcount(h->failed_mask))
            sim_fail(s, "set_table_fail(set %u): %u nodes failed, want %d", set,
                     nodes, __builtin_popcount(h->failed_mask));
    }
    shadow_compare(s, set, "fail");
    return rc;
}

static int
sets_reclaim(struct sim *s, uint32_t set, uint64_t epoch, const char *why)
{
    struct shadow *h = &s->sh[set];
    bool can = shadow_current(h, epoch) && !h->checking;
    int rc = set_table_reclaim(s->sets, set, epoch, why);
    shadow_rc(s, "set_table_reclaim", set, epoch, rc, can);
    if (rc == 0 && can) {
        h->status = SET_FAILED;
        h->epoch++;
        h->holder = 0;
        h->reclaims++;
    }
    shadow_compare(s, set, "reclaim");
    return rc;
}

static int
sets_reattach(struct sim *s, uint32_t set, uint64_t epoch, uint64_t session)
{
    struct shadow *h = &s->sh[set];
    bool can = shadow_current(h, epoch) && !h->checking && session != 0;
    int rc = set_table_reattach(s->sets, set, epoch, session);
    shadow_rc(s, "set_table_reattach", set, epoch, rc, can);
    if (rc == 0 && can)
        h->holder = session;
    shadow_compare(s, set, "reattach");
    return rc;
}

static int
sets_unassign(struct sim *s, uint32_t set, uint64_t epoch)
{
    struct shadow *h = &s->sh[set];
    bool can = shadow_current(h, epoch) && !h->checking;
    int rc = set_table_unassign(s->sets, set, epoch);
    shadow_rc(s, "set_table_unassign", set, epoch, rc, can);
    if (rc == 0 && can) {
        h->status = SET_AVAILABLE;
        h->epoch++;
        h->holder = 0;
        h->attempts--;
    }
    shadow_compare(s, set, "unassign");
    return rc;
}

static int
sets_begin_check(struct sim *s, uint32_t set, uint64_t epoch)
{
    struct shadow *h = &s->sh[set];
    bool can = shadow_current(h, epoch) && !h->checking;
    int rc = set_table_begin_check(s->sets, set, epoch);
    shadow_rc(s, "set_table_begin_check", set, epoch, rc, can);
    if (rc == 0 && can)
        h->checking = true;
    shadow_compare(s, set, "begin_check");
    return rc;
}

static int
sets_accept(struct sim *s, uint32_t set, uint64_t epoch)
{
    struct shadow *h = &s->sh[set];
    bool can = shadow_current(h, epoch) && h->checking;
    int rc = set_table_accept(s->sets, set, epoch);
    shadow_rc(s, "set_table_accept", set, epoch, rc, can);
    if (rc == 0 && can) {
        h->status = SET_COUNTED;
        h->checking = false;
        h->holder = 0;
    }
    shadow_compare(s, set, "accept");
    return rc;
}

static int
sets_reject(struct sim *s, uint32_t set, uint64_t epoch, const char *why)
{
    struct shadow *h = &s->sh[set];
    bool can = shadow_current(h, epoch) && h->checking;
    uint32_t nodes = 0;
    int rc = set_table_reject(s->sets, set, epoch, why, &nodes);
    shadow_rc(s, "set_table_reject", set, epoch, rc, can);
    if (rc == 0 && can)
        shadow_to_failed(h);
    shadow_compare(s, set, "reject");
    return rc;
}

/* sets.h: A or C, lowest id first, preferring sets that never failed on
 * this node. */
static int64_t
sets_pick(struct sim *s, int node)
{
    int64_t got = set_table_pick(s->sets, node_name(s, node));
    int64_t want = -1, fallback = -1;
    for (uint32_t i = 0; i < s->nsets; i++) {
        const struct shadow *h = &s->sh[i];
        if (h->status != SET_AVAILABLE && h->status != SET_FAILED)
            continue;
        if ((h->failed_mask & (1u << node)) == 0) {
            want = i;
            break;
        }
        if (fallback == -1)
            fallback = i;
    }
    if (want == -1)
        want = fallback;
    if (got != want)
        sim_fail(s, "set_table_pick(%s) gave %" PRId64 ", want %" PRId64,
                 node_name(s, node), got, want);
    return got;
}

/* sets.h: sets in B held by session and not being checked, ascending. */
static size_t
sets_held(struct sim *s, uint64_t session, uint32_t *out, size_t max)
{
    size_t n = set_table_held(s->sets, session, out, max), want = 0;
    for (uint32_t i = 0; i < s->nsets; i++) {
        const struct shadow *h = &s->sh[i];
        if (h->status != SET_PROCESSING || h->holder != session || h->checking)
            continue;
        if (want < max && want < n && out[want] != i)
            sim_fail(s, "set_table_held(%" PRIu64 ")[%zu] = %u, want %u",
                     session, want, out[want], i);
        want++;
    }
    if (n != want)
        sim_fail(s, "set_table_held(%" PRIu64 ") counted %zu, want %zu",
                 session, n, want);
    return n;
}

static uint64_t
brk_cap(const struct breaker *b, uint32_t opens)
{
    uint64_t cap = b->cfg.cooldown_ms;
    for (uint32_t i = 0; i < opens && cap < b->cfg.cooldown_max_ms; i++)
        cap *= 2;
    return cap < b->cfg.cooldown_max_ms ? cap : b->cfg.cooldown_max_ms;
}

static void
brk_compare(struct sim *s, uint64_t sid, const char *op)
{
    const struct sess *x = &s->sess[sid];
    const struct breaker *b = &x->br;
    const struct brk_shadow *h = &x->bs;
    if (b->state != h->state || b->consecutive != h->consecutive ||
        b->opens != h->opens || b->probe_out != h->probe_out)
        sim_fail(s,
                 "breaker of session %" PRIu64 " disagrees with breaker.h "
                 "after %s: module %s consecutive %u opens %u probe %d; "
                 "contract %s consecutive %u opens %u probe %d",
                 sid, op, breaker_state_name(b->state), b->consecutive,
                 b->opens, b->probe_out, breaker_state_name(h->state),
                 h->consecutive, h->opens, h->probe_out);
}

static void
brk_shadow_open(struct sim *s, uint64_t sid)
{
    struct sess *x = &s->sess[sid];
    uint64_t cap = brk_cap(&x->br, x->bs.opens);
    x->bs.state = BREAKER_OPEN;
    x->bs.opens++;
    x->bs.probe_out = false;
    s->st.breaker_opens++;
    if (x->br.state == BREAKER_OPEN &&
        (x->br.reopen_ms < s->now || x->br.reopen_ms > s->now + cap))
        sim_fail(s,
                 "breaker of session %" PRIu64 " opened at %" PRIu64
                 " with cool-down until %" PRIu64
                 ", outside [now, now + %" PRIu64 "]",
                 sid, s->now, x->br.reopen_ms, cap);
}

static bool
brk_allow(struct sim *s, uint64_t sid)
{
    struct sess *x = &s->sess[sid];
    struct brk_shadow *h = &x->bs;
    bool want, got;
    if (h->state == BREAKER_OPEN && s->now >= x->br.reopen_ms) {
        h->state = BREAKER_HALF_OPEN;
        h->probe_out = false;
    }
    if (h->state == BREAKER_HALF_OPEN) {
        want = !h->probe_out;
        h->probe_out = true;
    } else {
        want = h->state == BREAKER_CLOSED;
    }
    got = breaker_allow(&x->br, s->now);
    if (got != want)
        sim_fail(s, "breaker_allow(session %" PRIu64 ") = %d, want %d", sid,
                 got, want);
    brk_compare(s, sid, "allow");
    return got;
}

static void
brk_release(struct sim *s, uint64_t sid)
{
    struct sess *x = &s->sess[sid];
    if (x->bs.state == BREAKER_HALF_OPEN)
        x->bs.probe_out = false;
    breaker_release_probe(&x->br);
    brk_compare(s, sid, "release_probe");
}

static void
brk_record(struct sim *s, uint64_t sid, bool ok, const char *why)
{
    struct sess *x = &s->sess[sid];
    struct brk_shadow *h = &x->bs;
    uint32_t window = x->br.cfg.window, fails = 0;

    memmove(&h->outcomes[1], &h->outcomes[0],
            (BREAKER_WINDOW_MAX - 1) * sizeof(h->outcomes[0]));
    h->outcomes[0] = !ok;
    if (h->recorded < window)
        h->recorded++;
    h->consecutive = ok ? 0 : h->consecutive + 1;
    for (uint32_t i = 0; i < h->recorded; i++)
        fails += h->outcomes[i];
    breaker_record(&x->br, ok, s->now, why);
    if (h->state == BREAKER_HALF_OPEN) {
        if (ok) {
            h->state = BREAKER_CLOSED;
            h->opens = 0;
            h->probe_out = false;
            h->recorded = 0;
            memset(h->outcomes, 0, sizeof(h->outcomes));
        } else {
            brk_shadow_open(s, sid);
        }
    } else if (h->state == BREAKER_CLOSED && !ok &&
               (h->consecutive >= x->br.cfg.consecutive ||
                (h->recorded >= x->br.cfg.window_min &&
                 fails * PCT >= h->recorded * BREAKER_PCT_OPEN))) {
        brk_shadow_open(s, sid);
    }
    brk_compare(s, sid, ok ? "record(ok)" : "record(failed)");
}

static void
brk_trip(struct sim *s, uint64_t sid, const char *why)
{
    breaker_trip(&s->sess[sid].br, s->now, why);
    brk_shadow_open(s, sid);
    brk_compare(s, sid, "trip");
}

static enum liveness_verdict
live_judge(struct sim *s, int node, bool share_ok)
{
    const struct liveness *l = &s->peers[node].lv;
    enum liveness_verdict got =
        liveness_judge(l, SIM_RECLAIM_MS, share_ok, s->now);
    /* From the lease's last advance (or the last hello, which refreshes
     * it); with no lease ever seen, from the later of that and the loss. */
    uint64_t since = l->have_lease                   ? l->lease_seen_ms
                     : l->lease_seen_ms > l->lost_ms ? l->lease_seen_ms
                                                     : l->lost_ms;
    bool want = !l->connected &&
                (l->died || (share_ok && s->now - since >= SIM_RECLAIM_MS));
    if ((got == LIVENESS_RECLAIM) != want)
        sim_fail(
            s,
            "liveness_judge(%s) = %s, want %s (connected %d died %d "
            "share %d since %" PRIu64 ")",
            node_name(s, node), got == LIVENESS_RECLAIM ? "reclaim" : "keep",
            want ? "reclaim" : "keep", l->connected, l->died, share_ok, since);
    return got;
}

/* ---- the network ---- */

static uint64_t
sess_new(struct sim *s, int node)
{
    uint64_t sid;
    if (s->nsess == 0)
        s->nsess = 1;
    s->sess = xgrow(s->sess, &s->capsess, s->nsess + 1, sizeof(*s->sess));
    sid = s->nsess++;
    memset(&s->sess[sid], 0, sizeof(s->sess[sid]));
    s->sess[sid].node = node;
    s->st.sessions++;
    return sid;
}

static void
net_break(struct sim *s, uint64_t sid, const char *why)
{
    struct sess *x = &s->sess[sid];
    if (x->broken)
        return;
    x->broken = true;
    tracef(s, node_name(s, x->node), "connection %" PRIu64 " breaks (%s)", sid,
           why);
}

/* Send m over session sid, to the ambassador's host or to the node. */
static void
net_send(struct sim *s, uint64_t sid, bool to_amb, struct sim_ev m)
{
    struct sess *x = &s->sess[sid];
    uint64_t *last = to_amb ? &x->last_to_amb : &x->last_to_node;
    bool report, dup;

    if (x->broken)
        return;
    if (s->nodes[x->node].link_down > 0) {
        net_break(s, sid, "network partition");
        return;
    }
    if (faulting(s) && rng_ppm(s, s->f.drop_ppm)) {
        s->st.drops++;
        net_break(s, sid, "a message was lost");
        return;
    }
    m.kind = to_amb ? SE_A_RX : SE_N_RX;
    m.node = x->node;
    m.session = sid;
    m.at = s->now + rng_range(s, SIM_NET_MIN_MS, SIM_NET_MAX_MS);
    if (faulting(s) && rng_ppm(s, s->f.late_ppm)) {
        s->st.late++;
        m.at += rng_range(s, SIM_LATE_MIN_MS, SIM_LATE_MAX_MS);
    }
    report = to_amb && (m.code == M_DONE || m.code == M_FAIL);
    dup = report && faulting(s) && rng_ppm(s, s->f.dup_ppm);
    /* TCP keeps order. Reordering seeds let a report be overtaken (a node
     * that re-sends it late); everything else stays in order, since a
     * protocol on TCP may rely on it (welcome before assign). */
    if (!(report && s->f.reorder) && m.at < *last)
        m.at = *last;
    *last = m.at > *last ? m.at : *last;
    ev_push(s, m);
    if (dup) {
        s->st.dups++;
        m.at += rng_range(s, SIM_NET_MIN_MS, SIM_LATE_MAX_MS);
        *last = m.at > *last ? m.at : *last;
        ev_push(s, m);
    }
}

static struct sim_ev
msg_make(int kind, uint32_t set, uint64_t epoch)
{
    struct sim_ev m = ev_make(0, 0, -1);
    m.code = kind;
    m.set = set;
    m.epoch = epoch;
    return m;
}

/* ---- the ambassador's thread hand-offs ---- */

static void
loop_push(struct sim *s, struct sim_ev e)
{
    e.kind = SE_L_EVENT;
    e.at = s->now + rng_below(s, SIM_QUEUE_MAX_MS + 1);
    if (e.at < s->loop_last)
        e.at = s->loop_last;
    s->loop_last = e.at;
    ev_push(s, e);
}

static void
conn_emit(struct sim *s, uint64_t sid, int kind)
{
    struct sim_ev e = ev_make(SE_L_EVENT, 0, s->sess[sid].node);
    e.session = sid;
    e.code = kind;
    loop_push(s, e);
}

static void
cmd_push(struct sim *s, uint64_t sid, int kind, uint32_t set, uint64_t epoch,
         int ok)
{
    struct sess *x = &s->sess[sid];
    struct sim_ev e = ev_make(SE_C_CMD, 0, x->node);
    e.session = sid;
    e.code = kind;
    e.set = set;
    e.epoch = epoch;
    e.ok = ok;
    e.at = s->now + rng_below(s, SIM_QUEUE_MAX_MS + 1);
    if (e.at < x->outbox_last)
        e.at = x->outbox_last;
    x->outbox_last = e.at;
    ev_push(s, e);
}

/* ---- a node (gpu-node/session.c) ---- */

static void
node_schedule(struct sim *s, int node, int kind, uint64_t at)
{
    struct sim_ev e = ev_make(kind, at, node);
    e.gen = s->nodes[node].inc;
    ev_push(s, e);
}

/* What the lease and the hello list: sets rendering and rendered, never
 * work that was cancelled (fenced, past the grace, or cancelled by the
 * ambassador) and whose worker has not returned it yet: a hello that
 * listed it would get the set reattached to work that is then thrown away
 * unreported. */
static int
node_held(const struct vnode *n, struct held *out)
{
    int k = 0;
    for (int i = 0; i < n->slots; i++) {
        if (!n->active[i].used || n->active[i].cancel)
            continue;
        out[k].set = n->active[i].set;
        out[k++].epoch = n->active[i].epoch;
    }
    for (int i = 0; i < n->nunrep; i++) {
        out[k].set = n->unrep[i].set;
        out[k++].epoch = n->unrep[i].epoch;
    }
    for (int i = 0; i < n->nawait; i++) {
        out[k].set = n->await[i].set;
        out[k++].epoch = n->await[i].epoch;
    }
    return k;
}

static void
node_cancel_slot(struct sim *s, int node, int slot)
{
    struct vnode *n = &s->nodes[node];
    struct sim_ev e;
    if (n->active[slot].cancel)
        return;
    n->active[slot].cancel = true;
    /* The worker notices soon and returns the work, never published. */
    e = ev_make(SE_N_RENDER_DONE, s->now + SIM_CANCEL_STOP_MS, node);
    e.gen = n->inc;
    e.code = slot;
    e.aux = n->active[slot].serial;
    ev_push(s, e);
}

static void
node_drop_all(struct sim *s, int node, const char *why)
{
    struct vnode *n = &s->nodes[node];
    int k = n->nunrep + n->nawait;
    for (int i = 0; i < n->slots; i++) {
        if (n->active[i].used && !n->active[i].cancel) {
            node_cancel_slot(s, node, i);
            k++;
        }
    }
    n->nunrep = 0;
    n->nawait = 0;
    if (k > 0)
        tracef(s, n->name, "%s: dropping %d set(s)", why, k);
}

static void node_disconnect(struct sim *s, int node, bool send_fin,
                            const char *why);
static void node_send(struct sim *s, int node, int kind, uint32_t set,
                      uint64_t epoch, uint64_t result);

/* session_check_fence: fence (drop everything) when the lease has not
 * been renewed for FENCE_MS, take work again once it has. */
static void
node_check_fence(struct sim *s, int node)
{
    struct vnode *n = &s->nodes[node];
    uint64_t age = s->now - n->last_ok;
    if (!n->fenced && age >= SIM_FENCE_MS) {
        n->fenced = true;
        tracef(s, n->name, "fenced: lease not renewed for %" PRIu64 " ms", age);
        for (int i = 0; i < n->slots; i++)
            s->st.fence_drops += n->active[i].used && !n->active[i].cancel;
        s->st.fence_drops += (uint64_t)n->nunrep;
        node_drop_all(s, node, "fenced");
    } else if (n->fenced && age < SIM_FENCE_MS) {
        n->fenced = false;
        tracef(s, n->name, "lease renewed again; taking work again");
    }
}

/* The top of session_serve's loop: a fenced node may neither take nor
 * keep work, so it leaves the session (the ambassador reclaims what it
 * held by its lease) and stays away until the lease renews. True when the
 * session ended. */
static bool
node_serve_fence(struct sim *s, int node)
{
    struct vnode *n = &s->nodes[node];
    node_check_fence(s, node);
    if (!n->fenced || n->st != NS_UP)
        return false;
    tracef(s, n->name, "detaching while fenced");
    node_send(s, node, M_DETACH, 0, 0, 0);
    node_disconnect(s, node, true, "fenced");
    return true;
}

static void
node_send(struct sim *s, int node, int kind, uint32_t set, uint64_t epoch,
          uint64_t result)
{
    struct sim_ev m = msg_make(kind, set, epoch);
    if (s->nodes[node].conn == 0)
        return; /* no socket to write to */
    m.aux = result;
    net_send(s, s->nodes[node].conn, true, m);
}

static void
node_report(struct sim *s, int node, const struct done_work *w)
{
    struct vnode *n = &s->nodes[node];
    tracef(s, n->name, "report %s set %u epoch %" PRIu64,
           w->ok ? "done" : "fail", w->set, w->epoch);
    node_send(s, node, w->ok ? M_DONE : M_FAIL, w->set, w->epoch, w->result);
    n->sent[n->nsent++ % SIM_REPLAY_RING] = *w;
    if (w->ok && n->nawait < SIM_MAX_UNREPORTED)
        n->await[n->nawait++] = *w; /* kept until its result */
}

/* Forget (set, epoch) in list[0..*k): its result came, or a cancel. */
static void
node_settle(struct done_work *list, int *k, uint32_t set, uint64_t epoch)
{
    for (int i = 0; i < *k; i++)
        if (list[i].set == set && list[i].epoch == epoch) {
            list[i] = list[--*k];
            i--;
        }
}

/* Fault: after a resume or a reconnect the node sends some of its last
 * reports again, late, maybe for epochs long gone (at-least-once
 * delivery, or a report that sat in a stopped process). */
static void
node_replay(struct sim *s, int node, uint32_t ppm)
{
    struct vnode *n = &s->nodes[node];
    uint64_t k = n->nsent < SIM_REPLAY_RING ? n->nsent : SIM_REPLAY_RING;
    if (n->st != NS_UP)
        return;
    for (uint64_t i = 0; i < k; i++) {
        const struct done_work *w = &n->sent[i];
        if (!faulting(s) || !rng_ppm(s, ppm))
            continue;
        s->st.replays++;
        tracef(s, n->name, "sends again: %s set %u epoch %" PRIu64,
               w->ok ? "done" : "fail", w->set, w->epoch);
        node_send(s, node, w->ok ? M_DONE : M_FAIL, w->set, w->epoch,
                  w->result);
    }
}

static void
node_connect_later(struct sim *s, int node, uint64_t delay)
{
    struct vnode *n = &s->nodes[node];
    if (n->connect_pending)
        return;
    n->connect_pending = true;
    node_schedule(s, node, SE_N_CONNECT, s->now + delay);
}

/* The session ended: close our end and reconnect after a backoff. */
static void
node_disconnect(struct sim *s, int node, bool send_fin, const char *why)
{
    struct vnode *n = &s->nodes[node];
    uint64_t started = n->conn_at;
    if (send_fin && n->conn != 0)
        node_send(s, node, M_CLOSE, 0, 0, 0);
    tracef(s, n->name, "session %" PRIu64 " ends: %s", n->conn, why);
    /* session_requeue: what got no result is sent again next time. */
    for (int i = 0; i < n->nawait; i++)
        if (n->nunrep < SIM_MAX_UNREPORTED)
            n->unrep[n->nunrep++] = n->await[i];
    n->nawait = 0;
    n->conn = 0;
    n->st = NS_IDLE;
    n->retrying = false;
    if (n->lost_ms == 0)
        n->lost_ms = s->now;
    if (s->now - started > SIM_HEALTHY_SESSIONS * SIM_DEAD_MS)
        n->backoff = SIM_BACKOFF_BASE_MS;
    else if (n->backoff < SIM_BACKOFF_CAP_MS)
        n->backoff *= 2;
    n->cbackoff = SIM_BACKOFF_BASE_MS;
    node_connect_later(s, node, rng_below(s, n->backoff + 1));
}

static void
node_on_start(struct sim *s, int node)
{
    struct vnode *n = &s->nodes[node];
    n->alive = true;
    n->stopped = false;
    n->inc++;
    /* leasekeeper_start: the counter starts from the wall clock, so it is
     * above anything an earlier process of this name wrote (that one
     * added one per renewal, far slower than the clock). */
    n->counter = SIM_WALL_EPOCH_MS + s->now;
    if (n->last_rec != NONE && s->leases[n->last_rec].counter >= n->counter)
        sim_fail(s,
                 "%s restarts with lease counter %" PRIu64
                 ", not above its last record's %" PRIu64,
                 n->name, n->counter, s->leases[n->last_rec].counter);
    n->last_ok = s->now; /* until the first renewal, from start-up */
    n->writing = false;
    n->fenced = false;
    n->st = NS_IDLE;
    n->conn = 0;
    n->lost_ms = 0;
    n->backoff = SIM_BACKOFF_BASE_MS;
    n->cbackoff = SIM_BACKOFF_BASE_MS;
    n->connect_pending = false;
    n->retrying = false;
    n->nunrep = 0;
    n->nawait = 0;
    n->nsent = 0;
    memset(n->active, 0, sizeof(n->active));
    n->ndeferred = 0;
    tracef(s, n->name, "process starts (incarnation %" PRIu64 ", %d slot(s))",
           n->inc, n->slots);
    node_schedule(s, node, SE_N_LEASE_TICK, s->now);
    node_schedule(s, node, SE_N_TICK, s->now + SIM_HB_MS);
    node_connect_later(s, node, 0);
}

static void
node_on_connect(struct sim *s, int node)
{
    struct vnode *n = &s->nodes[node];
    uint64_t sid;
    n->connect_pending = false;
    if (n->st != NS_IDLE)
        return;
    if (!n->retrying) {
        /* session_run, after the backoff: no session, so no work, until
         * the lease is renewed (a fenced node with a session would be
         * offered sets and refuse each with a fail that counts against
         * the set). */
        node_check_fence(s, node);
        if (n->fenced) {
            node_connect_later(s, node, SIM_IDLE_TICK_MS);
            return;
        }
    }
    if (n->link_down > 0) {
        /* No answer to the SYN: time out, sleep, try again. */
        uint64_t sleep = rng_below(s, n->cbackoff + 1);
        tracef(s, n->name, "cannot connect (no route); retrying");
        if (n->cbackoff < SIM_BACKOFF_CAP_MS)
            n->cbackoff *= 2;
        n->retrying = true;
        node_connect_later(s, node, SIM_CONNECT_TIMEOUT_MS + sleep);
        return;
    }
    n->retrying = false;
    sid = sess_new(s, node);
    n->conn = sid;
    n->conn_at = s->now;
    n->st = NS_HANDSHAKE;
    s->sess[sid].nhello = node_held(n, s->sess[sid].hello);
    tracef(s, n->name, "connects: session %" PRIu64 ", hello with %d set(s)",
           sid, s->sess[sid].nhello);
    node_send(s, node, M_HELLO, 0, 0, 0);
}

static void
node_on_tick(struct sim *s, int node)
{
    struct vnode *n = &s->nodes[node];
    node_schedule(s, node, SE_N_TICK, s->now + SIM_HB_MS);
    switch (n->st) {
    case NS_UP:
        if (node_serve_fence(s, node))
            break;
        if (s->now - n->last_rx >= SIM_DEAD_MS) {
            tracef(s, n->name,
                   "ambassador silent for %" PRIu64 " ms; detaching",
                   s->now - n->last_rx);
            node_send(s, node, M_DETACH, 0, 0, 0);
            node_disconnect(s, node, true, "ambassador silent");
        } else {
            node_send(s, node, M_HB, 0, 0, 0);
            /* Now and then a late copy of an old report, same session. */
            node_replay(s, node, s->f.replay_ppm / SIM_REPLAY_TICK_DIVISOR);
        }
        break;
    case NS_HANDSHAKE:
        /* Blocked in session_recv: no fence check until the welcome. */
        /* session.c waits the silence limit, then detaches: a hello read
         * later must not pass for the node's death. */
        if (s->now - n->conn_at >= SIM_DEAD_MS) {
            node_send(s, node, M_DETACH, 0, 0, 0);
            node_disconnect(s, node, true, "no welcome");
        }
        break;
    case NS_IDLE:
        node_check_fence(s, node);
        if (n->lost_ms != 0 && s->now - n->lost_ms >= SIM_GRACE_MS) {
            for (int i = 0; i < n->slots; i++)
                s->st.grace_drops += n->active[i].used && !n->active[i].cancel;
            s->st.grace_drops += (uint64_t)n->nunrep;
            node_drop_all(s, node, "ambassador unreachable past the grace");
            n->lost_ms = s->now;
        }
        break;
    }
}

static void
node_on_lease_tick(struct sim *s, int node)
{
    struct vnode *n = &s->nodes[node];
    struct sim_ev e;
    if (n->writing)
        return;
    n->writing = true;
    n->write_start = s->now;
    n->counter++;
    memset(&n->pending, 0, sizeof(n->pending));
    n->pending.counter = n->counter;
    n->pending.state = n->fenced ? LR_FENCED : LR_RUNNING;
    n->pending.nheld = node_held(n, n->pending.held);
    e = ev_make(SE_N_LEASE_DONE, share_done(s, node, s->now), node);
    e.gen = n->inc;
    ev_push(s, e);
}

static void
node_on_lease_done(struct sim *s, int node)
{
    struct vnode *n = &s->nodes[node];
    struct lease_rec *r;
    s->leases =
        xgrow(s->leases, &s->capleases, s->nleases + 1, sizeof(*s->leases));
    r = &s->leases[s->nleases];
    *r = n->pending;
    r->written_at = s->now;
    r->prev = n->last_rec;
    n->last_rec = s->nleases++;
    n->last_ok = n->write_start;
    n->writing = false;
    tracef(s, n->name, "lease %" PRIu64 " written (%d held%s)", r->counter,
           r->nheld, r->state == LR_FENCED ? ", fenced" : "");
    node_schedule(s, node, SE_N_LEASE_TICK, s->now + SIM_LEASE_RENEW_MS);
}

static void
node_on_render_done(struct sim *s, const struct sim_ev *e)
{
    struct vnode *n = &s->nodes[e->node];
    struct work *w = &n->active[e->code];
    struct done_work d;
    uint64_t end;

    if (!w->used || w->serial != e->aux)
        return;
    if (!w->cancel && share_hung(s, e->node, s->now, &end)) {
        /* Writing the output blocks on the hung share. */
        struct sim_ev again = *e;
        again.at = share_done(s, e->node, s->now);
        ev_push(s, again);
        return;
    }
    node_serve_fence(s, e->node);
    if (w->cancel) {
        tracef(s, n->name, "set %u epoch %" PRIu64 ": cancelled work returns",
               w->set, w->epoch);
        w->used = false;
        return;
    }
    d.set = w->set;
    d.epoch = w->epoch;
    d.ok = !(faulting(s) && rng_ppm(s, s->f.render_fail_ppm));
    d.result = 0;
    if (d.ok) {
        struct result *r;
        s->results = xgrow(s->results, &s->capresults, s->nresults + 1,
                           sizeof(*s->results));
        r = &s->results[s->nresults];
        r->set = w->set;
        r->epoch = w->epoch;
        r->node = e->node;
        r->inc = n->inc;
        r->session = w->session;
        r->corrupt = faulting(s) && rng_ppm(s, s->f.corrupt_ppm);
        s->st.corrupt_made += r->corrupt;
        d.result = s->nresults++;
        s->st.results++;
        file_publish(s, w->set, w->epoch, e->node, d.result);
        tracef(s, n->name, "set %u epoch %" PRIu64 ": rendered%s", w->set,
               w->epoch, r->corrupt ? " (corrupt)" : "");
    } else {
        tracef(s, n->name, "set %u epoch %" PRIu64 ": render failed", w->set,
               w->epoch);
    }
    w->used = false;
    if (n->st == NS_UP) {
        node_report(s, e->node, &d);
    } else if (n->nunrep < SIM_MAX_UNREPORTED) {
        n->unrep[n->nunrep++] = d;
        tracef(s, n->name, "set %u epoch %" PRIu64 ": kept to report later",
               d.set, d.epoch);
    } else {
        tracef(s, n->name, "set %u epoch %" PRIu64 ": no room; dropped", d.set,
               d.epoch);
    }
}

static void
node_on_assign(struct sim *s, int node, const struct sim_ev *m)
{
    struct vnode *n = &s->nodes[node];
    struct sim_ev e;
    int slot = -1;
    for (int i = 0; i < n->slots && slot < 0; i++)
        if (!n->active[i].used)
            slot = i;
    if (n->fenced || slot < 0) {
        tracef(s, n->name, "set %u epoch %" PRIu64 ": refused (%s)", m->set,
               m->epoch, n->fenced ? "fenced" : "no free slot");
        node_send(s, node, M_FAIL, m->set, m->epoch, 0);
        return;
    }
    n->active[slot].used = true;
    n->active[slot].cancel = false;
    n->active[slot].set = m->set;
    n->active[slot].epoch = m->epoch;
    n->active[slot].serial = ++n->serial;
    n->active[slot].session = n->conn;
    e = ev_make(SE_N_RENDER_DONE,
                s->now + rng_range(s, SIM_RENDER_MIN_MS, SIM_RENDER_MAX_MS),
                node);
    e.gen = n->inc;
    e.code = slot;
    e.aux = n->serial;
    ev_push(s, e);
    tracef(s, n->name, "set %u epoch %" PRIu64 ": rendering in slot %d", m->set,
           m->epoch, slot);
}

static void
node_on_cancel(struct sim *s, int node, const struct sim_ev *m)
{
    struct vnode *n = &s->nodes[node];
    tracef(s, n->name, "cancel set %u epoch %" PRIu64, m->set, m->epoch);
    for (int i = 0; i < n->slots; i++)
        if (n->active[i].used && n->active[i].set == m->set &&
            n->active[i].epoch == m->epoch)
            node_cancel_slot(s, node, i);
    node_settle(n->unrep, &n->nunrep, m->set, m->epoch);
    node_settle(n->await, &n->nawait, m->set, m->epoch);
}

static void
node_on_rx(struct sim *s, const struct sim_ev *m)
{
    struct vnode *n = &s->nodes[m->node];
    if (m->session != n->conn || n->st == NS_IDLE)
        return; /* an old connection's */
    if (m->code == M_WELCOME) {
        if (n->st != NS_HANDSHAKE)
            return;
        n->st = NS_UP;
        n->last_rx = s->now;
        n->lost_ms = 0;
        tracef(s, n->name, "welcome on session %" PRIu64 "; %d to report",
               n->conn, n->nunrep);
        for (int i = 0; i < n->nunrep; i++)
            node_report(s, m->node, &n->unrep[i]);
        n->nunrep = 0;
        node_replay(s, m->node, s->f.replay_ppm);
        /* session_serve: the fence is checked after the flush. */
        node_serve_fence(s, m->node);
        return;
    }
    if (n->st != NS_UP)
        return;
    /* session_serve checks its fence before it reads. */
    if (node_serve_fence(s, m->node))
        return;
    n->last_rx = s->now;
    switch (m->code) {
    case M_ASSIGN:
        node_on_assign(s, m->node, m);
        break;
    case M_CANCEL:
        node_on_cancel(s, m->node, m);
        break;
    case M_RESULT:
        tracef(s, n->name, "set %u epoch %" PRIu64 ": %s", m->set, m->epoch,
               m->ok ? "accepted" : "not accepted");
        node_settle(n->await, &n->nawait, m->set, m->epoch);
        break;
    case M_ERROR:
        node_disconnect(s, m->node, true, "refused by the ambassador");
        break;
    case M_CLOSE:
        node_disconnect(s, m->node, false, "connection closed");
        break;
    default:
        break;
    }
}

/* ---- faults on a node's process ---- */

static void
node_crash(struct sim *s, int node)
{
    struct vnode *n = &s->nodes[node];
    if (!n->alive)
        return;
    s->st.crashes++;
    tracef(s, n->name, "CRASH (process killed)");
    if (n->conn != 0)
        node_send(s, node, M_CLOSE, 0, 0, 0); /* the kernel's FIN */
    n->alive = false;
    n->stopped = false;
    n->conn = 0;
    n->st = NS_IDLE;
    n->ndeferred = 0;
    memset(n->active, 0, sizeof(n->active));
    n->nunrep = 0;
    n->nawait = 0;
}

static void
node_resume(struct sim *s, int node)
{
    struct vnode *n = &s->nodes[node];
    size_t k = n->ndeferred;
    tracef(s, n->name, "SIGCONT (%zu deferred events)", k);
    n->stopped = false;
    /* First thing after SIGCONT: may we still publish? */
    node_serve_fence(s, node);
    node_replay(s, node, s->f.replay_ppm);
    n->ndeferred = 0;
    for (size_t i = 0; i < k; i++) {
        struct sim_ev e = n->deferred[i];
        e.at = s->now;
        ev_push(s, e);
    }
}

static void
node_defer(struct sim *s, const struct sim_ev *e)
{
    struct vnode *n = &s->nodes[e->node];
    n->deferred = xgrow(n->deferred, &n->capdeferred, n->ndeferred + 1,
                        sizeof(*n->deferred));
    n->deferred[n->ndeferred++] = *e;
}

/* ---- nodeconn (coordinator/nodeconn.c) ---- */

static void conn_step(struct sim *s, uint64_t sid);

static void
conn_to_node(struct sim *s, uint64_t sid, int kind, uint32_t set,
             uint64_t epoch, int ok)
{
    struct sim_ev m = msg_make(kind, set, epoch);
    m.ok = ok;
    net_send(s, sid, false, m);
}

static int
conn_held_remove(struct sess *x, uint32_t set, uint64_t epoch)
{
    for (int i = 0; i < x->nheld; i++) {
        if (x->held[i].set == set && x->held[i].epoch == epoch) {
            x->held[i] = x->held[--x->nheld];
            return 1;
        }
    }
    return 0;
}

static void
conn_close(struct sim *s, uint64_t sid, int why, bool died)
{
    struct sess *x = &s->sess[sid];
    struct sim_ev e = ev_make(SE_L_EVENT, 0, x->node);
    static const char *const whys[] = {
        [GONE_TIMEOUT] = "heartbeat timeout",
        [GONE_CLOSED] = "connection closed",
        [GONE_DETACHED] = "detached",
        [GONE_FINISHED] = "finished",
    };
    x->c_open = false;
    x->tick_gen++;
    tracef(s, "amb", "session %" PRIu64 " (%s) ends: %s%s", sid,
           node_name(s, x->node), whys[why], died ? " (process died)" : "");
    if (why != GONE_CLOSED && why != GONE_DETACHED)
        conn_to_node(s, sid, M_CLOSE, 0, 0, 0);
    e.session = sid;
    e.code = LE_GONE;
    e.ok = died;
    e.aux = (uint64_t)why;
    loop_push(s, e);
}

static void
conn_breaker_changed(struct sim *s, uint64_t sid)
{
    struct sess *x = &s->sess[sid];
    if (x->br.state == x->br_reported)
        return;
    x->br_reported = x->br.state;
    tracef(s, "amb", "session %" PRIu64 " (%s): breaker %s", sid,
           node_name(s, x->node), breaker_state_name(x->br.state));
}

static void
conn_update_wants(struct sim *s, uint64_t sid)
{
    struct sess *x = &s->sess[sid];
    x->suspect = s->now - x->last_rx >= SIM_SUSPECT_MS;
    if ((x->suspect || x->lease_stale || x->br.state == BREAKER_OPEN) &&
        x->wanted > 0) {
        x->wanted = 0;
        brk_release(s, sid);
        conn_emit(s, sid, LE_UNWANT);
        return;
    }
    while (x->admitted && !x->suspect && !x->lease_stale &&
           x->nheld + x->wanted < x->slots && brk_allow(s, sid)) {
        x->wanted++;
        conn_emit(s, sid, LE_WANT);
        if (x->br.state == BREAKER_HALF_OPEN)
            break;
    }
}

static void
conn_step(struct sim *s, uint64_t sid)
{
    struct sess *x = &s->sess[sid];
    uint64_t t;
    struct sim_ev e;

    if (!x->c_open)
        return;
    if (s->now - x->last_rx >= SIM_DEAD_MS) {
        brk_trip(s, sid, "heartbeat timeout");
        conn_breaker_changed(s, sid);
        conn_close(s, sid, GONE_TIMEOUT, false);
        return;
    }
    if (s->now >= x->next_hb) {
        conn_to_node(s, sid, M_HB, 0, 0, 0);
        x->next_hb = s->now + SIM_HB_MS;
    }
    conn_update_wants(s, sid);
    conn_breaker_changed(s, sid);
    /* nodeconn_timeout: an open breaker's cool-down counts only while it
     * is ahead; once it has passed, breaker_allow runs when a slot frees
     * or the node is heard again. */
    t = x->next_hb;
    if (x->last_rx + SIM_DEAD_MS < t)
        t = x->last_rx + SIM_DEAD_MS;
    if (!x->suspect && x->last_rx + SIM_SUSPECT_MS < t)
        t = x->last_rx + SIM_SUSPECT_MS;
    if (x->br.state == BREAKER_OPEN && x->br.reopen_ms > s->now &&
        x->br.reopen_ms < t)
        t = x->br.reopen_ms;
    /* Everything due now was done above: a timeout of 0 would make poll()
     * return at once with nothing changed, a busy wait. */
    if (t <= s->now) {
        s->st.spins++;
        sim_fail(s,
                 "session %" PRIu64 " (%s): nodeconn_timeout is 0 with "
                 "nothing due (breaker %s, cool-down until %" PRIu64
                 ", %s): the thread would spin",
                 sid, node_name(s, x->node), breaker_state_name(x->br.state),
                 x->br.reopen_ms, x->suspect ? "suspect" : "not suspect");
        return;
    }
    e = ev_make(SE_C_TICK, t, x->node);
    e.session = sid;
    e.gen = ++x->tick_gen;
    ev_push(s, e);
}

static void
conn_start(struct sim *s, uint64_t sid)
{
    struct sess *x = &s->sess[sid];
    struct breaker_config bc;
    struct sim_ev e = ev_make(SE_L_EVENT, 0, x->node);

    x->c_started = true;
    x->c_open = true;
    x->slots = s->nodes[x->node].slots;
    breaker_config_default(&bc);
    breaker_init(&x->br, &bc, (sid * SPLITMIX_GAMMA) ^ s->seed);
    memset(&x->bs, 0, sizeof(x->bs));
    x->bs.state = BREAKER_CLOSED;
    x->br_reported = BREAKER_CLOSED;
    x->last_rx = s->now;
    x->next_hb = s->now;
    /* The held sets the hello names count against the node's slots. */
    for (int i = 0; i < x->nhello && x->nheld < CONFIG_MAX_SLOTS; i++)
        x->held[x->nheld++] = x->hello[i];
    /* amb_accept: the loop lists it at once, hello or not. */
    x->listed = true;
    x->next = s->l_head;
    s->l_head = sid;
    conn_to_node(s, sid, M_WELCOME, 0, 0, 0);
    e.session = sid;
    e.code = LE_HELLO;
    loop_push(s, e);
    conn_step(s, sid);
}

static void
conn_on_rx(struct sim *s, const struct sim_ev *m)
{
    struct sess *x = &s->sess[m->session];
    struct sim_ev e = ev_make(SE_L_EVENT, 0, x->node);

    if (x->broken || s->nodes[x->node].link_down > 0) {
        net_break(s, m->session, "lost on the way");
        return;
    }
    if (m->code == M_HELLO) {
        if (!x->c_started)
            conn_start(s, m->session);
        return;
    }
    if (!x->c_open)
        return;
    x->last_rx = s->now;
    e.session = m->session;
    e.set = m->set;
    e.epoch = m->epoch;
    e.aux = m->aux;
    switch (m->code) {
    case M_DETACH:
        x->detached = true;
        break;
    case M_CLOSE:
        conn_close(s, m->session, x->detached ? GONE_DETACHED : GONE_CLOSED,
                   !x->detached);
        return;
    case M_DONE:
        conn_held_remove(x, m->set, m->epoch);
        e.code = LE_DONE;
        loop_push(s, e);
        break;
    case M_FAIL:
        conn_held_remove(x, m->set, m->epoch);
        brk_record(s, m->session, false, "the node failed a set");
        e.code = LE_FAIL;
        loop_push(s, e);
        break;
    default:
        break;
    }
    conn_breaker_changed(s, m->session);
    conn_step(s, m->session);
}

static void
conn_on_cmd(struct sim *s, const struct sim_ev *c)
{
    struct sess *x = &s->sess[c->session];
    if (!x->c_open)
        return; /* the thread is gone; its outbox is never read */
    switch (c->code) {
    case NC_ASSIGN:
        if (x->wanted == 0 || x->nheld >= CONFIG_MAX_SLOTS ||
            x->br.state == BREAKER_OPEN || x->suspect || x->lease_stale) {
            struct sim_ev e = ev_make(SE_L_EVENT, 0, x->node);
            tracef(s, "amb",
                   "session %" PRIu64 " declines set %u epoch %" PRIu64,
                   c->session, c->set, c->epoch);
            e.session = c->session;
            e.code = LE_DECLINE;
            e.set = c->set;
            e.epoch = c->epoch;
            loop_push(s, e);
            if (x->wanted > 0) {
                x->wanted--;
                brk_release(s, c->session);
            }
            break;
        }
        x->wanted--;
        x->held[x->nheld].set = c->set;
        x->held[x->nheld++].epoch = c->epoch;
        conn_to_node(s, c->session, M_ASSIGN, c->set, c->epoch, 0);
        break;
    case NC_RESULT:
        brk_record(s, c->session, c->ok != 0, "a result failed its check");
        conn_to_node(s, c->session, M_RESULT, c->set, c->epoch, c->ok);
        break;
    case NC_CANCEL:
        conn_held_remove(x, c->set, c->epoch);
        conn_to_node(s, c->session, M_CANCEL, c->set, c->epoch, 0);
        break;
    case NC_FINISH:
        conn_to_node(s, c->session, M_ERROR, 0, 0, 0);
        conn_close(s, c->session, GONE_FINISHED, false);
        return;
    case NC_LEASE_STALE:
        /* CMD_LEASE: the breaker watches the lease too. */
        if (!x->lease_stale) {
            brk_trip(s, c->session, "its lease stopped advancing");
            conn_breaker_changed(s, c->session);
        }
        x->lease_stale = true;
        break;
    case NC_LEASE_FRESH:
        x->lease_stale = false;
        break;
    case NC_ADMIT:
        /* CMD_ADMIT: asks start now, under the name's breaker from its
         * last session when it had one. */
        x->admitted = true;
        if (!x->have_carried)
            break;
        x->br = x->carried;
        x->bs = x->carried_bs;
        x->br_reported = x->br.state;
        tracef(s, "amb", "session %" PRIu64 " (%s): breaker %s, carried over",
               c->session, node_name(s, x->node),
               breaker_state_name(x->br.state));
        brk_compare(s, c->session, "carry-over");
        brk_release(s, c->session); /* the last session's probe ended */
        break;
    default:
        break;
    }
    conn_step(s, c->session);
}

/* ---- the checker thread ---- */

static void
checker_submit(struct sim *s, int task, uint64_t sid, uint32_t set,
               uint64_t epoch, int node)
{
    uint64_t start = s->now > s->k_busy ? s->now : s->k_busy;
    struct sim_ev e;
    uint64_t done = share_done(s, -1, start);
    if (task == TASK_CHECK)
        done += rng_range(s, SIM_CHECK_MIN_MS, SIM_CHECK_MAX_MS);
    s->k_busy = done;
    e = ev_make(SE_K_DONE, done, node);
    e.code = task;
    e.session = sid;
    e.set = set;
    e.epoch = epoch;
    ev_push(s, e);
}

static void
checker_on_done(struct sim *s, const struct sim_ev *t)
{
    struct file *f = file_find(s, t->set, t->epoch, t->node);
    if (t->code == TASK_REMOVE) {
        const struct truth *tr = &s->tr[t->set];
        if (f == NULL || !f->present)
            return;
        if (tr->acc_valid && tr->acc_epoch == t->epoch &&
            tr->acc_node == t->node)
            sim_fail(s,
                     "set %u: the counted file (epoch %" PRIu64
                     ", node %s) was removed as stale",
                     t->set, t->epoch, node_name(s, t->node));
        f->present = false;
        s->st.files_removed++;
        tracef(s, "chk", "removed set %u epoch %" PRIu64 " of %s", t->set,
               t->epoch, node_name(s, t->node));
        return;
    }
    {
        struct sim_ev e = ev_make(SE_L_EVENT, 0, t->node);
        const struct result *r =
            f != NULL && f->present ? &s->results[f->result] : NULL;
        e.code = LE_CHECKED;
        e.session = t->session;
        e.set = t->set;
        e.epoch = t->epoch;
        e.ok = r != NULL && !r->corrupt && r->set == t->set &&
               r->epoch == t->epoch;
        e.aux = r != NULL ? f->result : NONE;
        if (r != NULL && r->corrupt)
            s->st.corrupt_caught++;
        tracef(s, "chk", "set %u epoch %" PRIu64 " of %s: %s", t->set, t->epoch,
               node_name(s, t->node),
               e.ok ? "valid" : (r == NULL ? "no such file" : "corrupt"));
        loop_push(s, e);
    }
}

/* ---- the share watcher (coordinator/sharewatch.c) ---- */

/* What a read of node's lease returns at the ambassador: the newest
 * record, or with stale reads an older one; NONE when there is none or
 * the read was torn. */
static uint64_t
lease_read(struct sim *s, int node)
{
    uint64_t view = s->now, i = s->nodes[node].last_rec;
    if (i == NONE)
        return NONE;
    if (faulting(s) && rng_ppm(s, s->f.torn_ppm)) {
        s->st.torn_reads++;
        return NONE;
    }
    if (faulting(s) && rng_ppm(s, s->f.stale_ppm)) {
        s->st.stale_reads++;
        view -= rng_below(s, SIM_STALE_MAX_MS + 1);
    }
    while (i != NONE && s->leases[i].written_at > view)
        i = s->leases[i].prev;
    return i;
}

static void
watch_on_poll(struct sim *s)
{
    struct sim_ev e;
    if (s->w_busy || s->finished != 0)
        return;
    s->w_busy = true;
    e = ev_make(SE_W_DONE, share_done(s, -1, s->now), -1);
    e.aux = s->now;
    ev_push(s, e);
}

static void
watch_on_done(struct sim *s, const struct sim_ev *w)
{
    struct sim_ev e = ev_make(SE_L_EVENT, 0, -1);
    uint64_t next = w->aux + SIM_SHARE_POLL_MS;
    e.code = LE_SHARE;
    e.ok = 1;
    loop_push(s, e);
    for (int i = 0; i < s->nnodes; i++) {
        uint64_t rec = lease_read(s, i);
        if (rec == NONE)
            continue;
        e = ev_make(SE_L_EVENT, 0, i);
        e.code = LE_LEASE;
        e.aux = rec;
        loop_push(s, e);
    }
    s->w_busy = false;
    ev_push(s, ev_make(SE_W_POLL, next > s->now ? next : s->now, -1));
}

/* ---- the loop (coordinator/ambassador.c) ---- */

static bool
amb_share_ok(const struct sim *s)
{
    return s->now - s->share_ok_ms < SIM_SHARE_SUSPECT_MS;
}

/* liveness.h: only a higher counter than any seen is an advance, seen
 * now (a restarted node's counter starts above its old ones); a lower or
 * equal one is a stale read and changes nothing. Returns the advance. */
static bool
live_lease(struct sim *s, int node, uint64_t counter)
{
    struct liveness *l = &s->peers[node].lv, before = *l;
    bool advance = !before.have_lease || counter > before.lease_counter;
    int got = liveness_lease(l, counter, s->now);
    if ((got != 0) != advance ||
        (advance ? !l->have_lease || l->lease_counter != counter ||
                       l->lease_seen_ms != s->now
                 : l->have_lease != before.have_lease ||
                       l->lease_counter != before.lease_counter ||
                       l->lease_seen_ms != before.lease_seen_ms) ||
        l->connected != before.connected || l->died != before.died ||
        l->lost_ms != before.lost_ms)
        sim_fail(s,
                 "liveness_lease(%s, counter %" PRIu64 " after %" PRIu64
                 ") = %d: want %s; lease seen at %" PRIu64 " (now %" PRIu64 ")",
                 node_name(s, node), counter, before.lease_counter, got,
                 advance ? "an advance" : "no change", l->lease_seen_ms,
                 s->now);
    return advance;
}

/* liveness.h: a hello is a sign of life; the reclaim clock (the lease's
 * last advance, and the loss) starts again from it, never earlier. */
static void
live_connected(struct sim *s, int node)
{
    struct liveness *l = &s->peers[node].lv, before = *l;
    uint64_t seen =
        before.lease_seen_ms > s->now ? before.lease_seen_ms : s->now;
    uint64_t lost = before.lost_ms > s->now ? before.lost_ms : s->now;
    liveness_connected(l, s->now);
    if (!l->connected || l->died || l->have_lease != before.have_lease ||
        l->lease_counter != before.lease_counter || l->lease_seen_ms != seen ||
        l->lost_ms != lost)
        sim_fail(s,
                 "liveness_connected(%s) at %" PRIu64 ": connected %d died "
                 "%d lease seen %" PRIu64 " lost %" PRIu64
                 "; want connected, lease seen %" PRIu64 " lost %" PRIu64,
                 node_name(s, node), s->now, l->connected, l->died,
                 l->lease_seen_ms, l->lost_ms, seen, lost);
}

/* liveness.h: the session closed; died when without a detach. */
static void
live_lost(struct sim *s, int node, bool died)
{
    struct liveness *l = &s->peers[node].lv, before = *l;
    liveness_lost(l, died, s->now);
    if (l->connected || l->died != died || l->lost_ms != s->now ||
        l->have_lease != before.have_lease ||
        l->lease_counter != before.lease_counter ||
        l->lease_seen_ms != before.lease_seen_ms)
        sim_fail(s,
                 "liveness_lost(%s, died %d) at %" PRIu64 ": connected %d "
                 "died %d lost %" PRIu64 " lease seen %" PRIu64 " (was %" PRIu64
                 ")",
                 node_name(s, node), died, s->now, l->connected, l->died,
                 l->lost_ms, l->lease_seen_ms, before.lease_seen_ms);
}

static struct sess *
amb_node_find(struct sim *s, uint64_t sid)
{
    if (sid == 0 || sid >= s->nsess || !s->sess[sid].listed)
        return NULL;
    return &s->sess[sid];
}

static void
amb_node_remove(struct sim *s, uint64_t sid)
{
    for (uint64_t *p = &s->l_head; *p != 0; p = &s->sess[*p].next) {
        if (*p == sid) {
            *p = s->sess[sid].next;
            break;
        }
    }
    s->sess[sid].listed = false;
}

static struct peer *
amb_peer_get(struct sim *s, int node)
{
    struct peer *p = &s->peers[node];
    if (!p->used) {
        p->used = true;
        liveness_init(&p->lv, s->now);
        p->last = NONE;
    }
    return p;
}

static void
amb_send_result(struct sim *s, uint64_t sid, uint32_t set, uint64_t epoch,
                int ok)
{
    if (amb_node_find(s, sid) != NULL)
        cmd_push(s, sid, NC_RESULT, set, epoch, ok);
}

static void
amb_fail_job(struct sim *s, uint32_t set)
{
    const struct set_info *i = set_table_get(s->sets, set);
    snprintf(s->report, sizeof(s->report),
             "set %u failed %u times on %u node(s) and was lost with its "
             "node %u times; last error: %s",
             set, i->failures, i->nfailed_on, i->reclaims, i->last_error);
    s->finished = -1;
    s->stop_set = set;
    tracef(s, "amb", "job stops: %s", s->report);
}

static void
amb_after_failure(struct sim *s, uint32_t set)
{
    const struct set_info *i = set_table_get(s->sets, set);
    s->st.failures++;
    if (s->finished != 0)
        return;
    if (i->nfailed_on >= SIM_MAX_NODES_PER_SET ||
        i->failures >= SIM_MAX_FAILURES_PER_SET ||
        i->reclaims >= SIM_MAX_FAILURES_PER_SET)
        amb_fail_job(s, set);
}

/* Did the holder still have the work in hand (rendering or rendered,
 * unreported, not fenced)? Then this reclaim throws work away. */
static bool
reclaim_is_early(const struct sim *s, uint32_t set, uint64_t epoch, int node)
{
    const struct vnode *n;
    if (node < 0)
        return false;
    n = &s->nodes[node];
    /* Stopped or unable to renew: it would fence before publishing. */
    if (!n->alive || n->stopped || n->fenced ||
        s->now - n->last_ok >= SIM_FENCE_MS)
        return false;
    for (int i = 0; i < n->slots; i++)
        if (n->active[i].used && !n->active[i].cancel &&
            n->active[i].set == set && n->active[i].epoch == epoch)
            return true;
    for (int i = 0; i < n->nunrep; i++)
        if (n->unrep[i].set == set && n->unrep[i].epoch == epoch)
            return true;
    for (int i = 0; i < n->nawait; i++)
        if (n->await[i].set == set && n->await[i].epoch == epoch)
            return true;
    return false;
}

static void
amb_reclaim(struct sim *s, uint32_t set, uint64_t *counter, const char *why)
{
    const struct set_info *i = set_table_get(s->sets, set);
    uint64_t epoch = i->epoch;
    int node = name_index(s, i->holder_name);
    char reason[SIM_REASON_MAX];
    bool early;
    snprintf(reason, sizeof(reason), "node %s: %s", i->holder_name, why);
    if (sets_reclaim(s, set, epoch, reason) == -1)
        return;
    (*counter)++;
    early = reclaim_is_early(s, set, epoch, node);
    s->st.reclaim_live += early;
    /* liveness.h: the node has fenced itself before we reclaim. Safety
     * does not depend on it (the epoch does), so it is a figure unless
     * --strict-timing. */
    if (early && s->strict_timing)
        sim_fail(s,
                 "set %u epoch %" PRIu64 " reclaimed from %s (%s) while it "
                 "could still publish (its fence is %" PRIu64 " ms away)",
                 set, epoch, node_name(s, node), why,
                 s->nodes[node].last_ok + SIM_FENCE_MS - s->now);
    tracef(s, "amb", "set %u epoch %" PRIu64 ": reclaimed from %s (%s)%s", set,
           epoch, node_name(s, node), why,
           early ? "; the node still has it" : "");
    amb_after_failure(s, set);
}

static void
amb_on_hello(struct sim *s, uint64_t sid)
{
    struct sess *x = &s->sess[sid];
    struct peer *p;

    for (uint64_t o = s->l_head; o != 0; o = s->sess[o].next) {
        if (o != sid && s->sess[o].hello_ok && s->sess[o].node == x->node) {
            s->st.refused++;
            tracef(s, "amb",
                   "session %" PRIu64 ": name %s in use by session "
                   "%" PRIu64 "; refused",
                   sid, node_name(s, x->node), o);
            cmd_push(s, sid, NC_FINISH, 0, 0, 0);
            return;
        }
    }
    x->hello_ok = 1;
    tracef(s, "amb", "session %" PRIu64 ": hello from %s, %d set(s) in hand",
           sid, node_name(s, x->node), x->nhello);
    p = amb_peer_get(s, x->node);
    live_connected(s, x->node);
    if (p->have_br && p->br.state != BREAKER_CLOSED) {
        x->have_carried = true;
        x->carried = p->br;
        x->carried_bs = p->bs;
    }
    cmd_push(s, sid, NC_ADMIT, 0, 0, 0);
    for (int k = 0; k < x->nhello; k++) {
        uint32_t set = x->hello[k].set;
        uint64_t epoch = x->hello[k].epoch;
        const struct set_info *i = set_table_get(s->sets, set);
        if (i != NULL && strcmp(i->holder_name, node_name(s, x->node)) == 0 &&
            amb_node_find(s, i->holder) == NULL &&
            sets_reattach(s, set, epoch, sid) == 0) {
            s->st.reattached++;
            tracef(s, "amb",
                   "set %u epoch %" PRIu64 ": reattached to %s "
                   "(session %" PRIu64 ")",
                   set, epoch, node_name(s, x->node), sid);
            continue;
        }
        s->st.cancels++;
        tracef(s, "amb",
               "set %u epoch %" PRIu64 ": %s still has it but it "
               "is no longer its; cancelling",
               set, epoch, node_name(s, x->node));
        cmd_push(s, sid, NC_CANCEL, set, epoch, 0);
    }
}

static void
amb_on_gone(struct sim *s, uint64_t sid, bool died)
{
    struct sess *x = &s->sess[sid];
    uint32_t held[CONFIG_MAX_SLOTS];
    struct peer *p;
    size_t n;

    if (!x->hello_ok) {
        amb_node_remove(s, sid);
        return;
    }
    p = amb_peer_get(s, x->node);
    live_lost(s, x->node, died);
    p->advances_since_lost = 0;
    /* As the session's thread left it, unless it ended before its
     * admission (its fresh breaker never ran the name's). */
    if (x->admitted || !p->have_br) {
        p->br = x->br;
        p->bs = x->bs;
        p->have_br = true;
    }
    if (!died) {
        amb_node_remove(s, sid);
        return;
    }
    while ((n = sets_held(s, sid, held, CONFIG_MAX_SLOTS)) > 0 && !s->failed) {
        if (n > CONFIG_MAX_SLOTS)
            n = CONFIG_MAX_SLOTS;
        for (size_t k = 0; k < n; k++)
            amb_reclaim(s, held[k], &s->st.reclaim_died, "process died");
    }
    amb_node_remove(s, sid);
}

static bool
lease_holds_set(const struct lease_rec *r, uint32_t set, uint64_t epoch)
{
    for (int i = 0; i < r->nheld; i++)
        if (r->held[i].set == set && r->held[i].epoch == epoch)
            return true;
    return false;
}

/* ambassador.c amb_check_leases: a connected node whose lease has not
 * advanced past fence_ms (plus the view's lag) gets no work. */
static void
amb_check_leases(struct sim *s)
{
    if (!amb_share_ok(s))
        return;
    for (uint64_t sid = s->l_head; sid != 0; sid = s->sess[sid].next) {
        struct sess *x = &s->sess[sid];
        uint64_t age;
        bool stale;
        if (!x->hello_ok)
            continue;
        age = liveness_lease_age(&amb_peer_get(s, x->node)->lv,
                                 s->share_healthy_ms, s->now);
        stale = age >= SIM_FENCE_MS + SIM_LEASE_RENEW_MS + SIM_SHARE_POLL_MS;
        if (stale == x->lease_stale_sent)
            continue;
        x->lease_stale_sent = stale;
        tracef(s, "amb", "session %" PRIu64 " (%s): lease %s (%" PRIu64 " ms)",
               sid, node_name(s, x->node), stale ? "still" : "advances again",
               age);
        cmd_push(s, sid, stale ? NC_LEASE_STALE : NC_LEASE_FRESH, 0, 0, 0);
    }
}

static void
amb_check_orphans(struct sim *s)
{
    bool share_ok = amb_share_ok(s);
    if (s->now < s->next_orphan_ms)
        return;
    s->next_orphan_ms = s->now + SIM_AMB_TICK_MS;
    for (uint32_t i = 0; i < s->nsets && s->finished == 0; i++) {
        const struct set_info *si = set_table_get(s->sets, i);
        const struct peer *p;
        int node;
        if (si->status != SET_PROCESSING || si->checking ||
            amb_node_find(s, si->holder) != NULL)
            continue;
        node = name_index(s, si->holder_name);
        p = node >= 0 && s->peers[node].used ? &s->peers[node] : NULL;
        if (p == NULL) {
            amb_reclaim(s, i, &s->st.reclaim_nosession, "no session");
            continue;
        }
        if (p->lv.connected) {
            amb_reclaim(s, i, &s->st.reclaim_back,
                        "the node came back without it");
            continue;
        }
        if (live_judge(s, node, share_ok) == LIVENESS_RECLAIM) {
            amb_reclaim(s, i, &s->st.reclaim_silent,
                        "silent; lease stopped advancing");
            continue;
        }
        if (share_ok && p->last != NONE && p->advances_since_lost >= 2 &&
            (s->leases[p->last].state == LR_FENCED ||
             !lease_holds_set(&s->leases[p->last], i, si->epoch)))
            amb_reclaim(s, i, &s->st.reclaim_lease,
                        "its lease no longer lists the set");
    }
}

/* Only an advance is news: a stale read neither counts nor replaces the
 * record the orphan rules look at. */
static void
amb_on_lease(struct sim *s, const struct sim_ev *e)
{
    struct peer *p = amb_peer_get(s, e->node);
    if (!live_lease(s, e->node, s->leases[e->aux].counter))
        return;
    if (!p->lv.connected)
        p->advances_since_lost++;
    p->last = e->aux;
}

static void
amb_on_share(struct sim *s)
{
    s->share_ok_ms = s->now;
    if (s->share_sick) {
        tracef(s, "amb", "share answers again");
        s->share_sick = false;
        s->share_healthy_ms = s->now;
    }
}

static void
amb_check_share(struct sim *s)
{
    if (!amb_share_ok(s) && !s->share_sick) {
        tracef(s, "amb",
               "share silent for %" PRIu64 " ms: pausing dispatch "
               "and lease-based reclaim",
               s->now - s->share_ok_ms);
        s->share_sick = true;
    }
}

static void
amb_on_done(struct sim *s, const struct sim_ev *e)
{
    const struct set_info *i = set_table_get(s->sets, e->set);
    const struct truth *tr = &s->tr[e->set];
    int node = s->sess[e->session].node;

    if (i->holder != e->session ||
        sets_begin_check(s, e->set, e->epoch) == -1) {
        bool dup = (tr->acc_valid && tr->acc_epoch == e->epoch &&
                    tr->acc_node == node) ||
                   (i->status == SET_PROCESSING && i->epoch == e->epoch);
        if (dup) {
            s->st.duplicates++;
        } else {
            s->st.stale++;
            checker_submit(s, TASK_REMOVE, e->session, e->set, e->epoch, node);
        }
        tracef(s, "amb",
               "set %u epoch %" PRIu64 ": %s done from %s "
               "(set is %c at epoch %" PRIu64 ")",
               e->set, e->epoch, dup ? "duplicate" : "stale",
               node_name(s, node), (char)i->status, i->epoch);
        amb_send_result(s, e->session, e->set, e->epoch, 0);
        return;
    }
    tracef(s, "amb", "set %u epoch %" PRIu64 ": done from %s; checking", e->set,
           e->epoch, node_name(s, node));
    checker_submit(s, TASK_CHECK, e->session, e->set, e->epoch, node);
}

/* The accept happened: was it for the set's current epoch, and for a
 * result rendered for exactly that assignment? */
static void
amb_check_accept(struct sim *s, const struct sim_ev *e,
                 const struct set_info *before)
{
    const struct truth *tr = &s->tr[e->set];
    const struct result *r = e->aux != NONE ? &s->results[e->aux] : NULL;
    const struct file *f =
        r != NULL ? file_find(s, e->set, e->epoch, r->node) : NULL;
    if (before->status != SET_PROCESSING || !before->checking ||
        before->epoch != e->epoch)
        sim_fail(s,
                 "accept of set %u epoch %" PRIu64 " while the set was "
                 "%c at epoch %" PRIu64 " (checking %d)",
                 e->set, e->epoch, (char)before->status, before->epoch,
                 before->checking);
    else if (r == NULL || f == NULL || !f->present)
        sim_fail(s, "set %u epoch %" PRIu64 " accepted with no file", e->set,
                 e->epoch);
    else if (r->set != e->set || r->epoch != e->epoch || r->corrupt ||
             tr->assign_epoch != e->epoch || r->node != tr->assign_node ||
             r->session != tr->assign_session)
        sim_fail(s,
                 "set %u epoch %" PRIu64 " accepted a result rendered for "
                 "set %u epoch %" PRIu64 " by %s on session %" PRIu64
                 "%s; the assignment was epoch %" PRIu64 " to %s on "
                 "session %" PRIu64,
                 e->set, e->epoch, r->set, r->epoch, node_name(s, r->node),
                 r->session, r->corrupt ? " (corrupt)" : "", tr->assign_epoch,
                 node_name(s, tr->assign_node), tr->assign_session);
}

static void
amb_on_checked(struct sim *s, const struct sim_ev *e)
{
    struct set_info before = *set_table_get(s->sets, e->set);
    struct truth *tr = &s->tr[e->set];

    if (!e->ok) {
        if (sets_reject(s, e->set, e->epoch, "result failed its check") == 0) {
            s->st.rejected++;
            tracef(s, "amb", "set %u epoch %" PRIu64 ": rejected", e->set,
                   e->epoch);
            amb_after_failure(s, e->set);
        }
        amb_send_result(s, e->session, e->set, e->epoch, 0);
        return;
    }
    if (sets_accept(s, e->set, e->epoch) == -1) {
        sim_fail(s,
                 "set %u epoch %" PRIu64 ": check passed but the set "
                 "moved on (%c at epoch %" PRIu64 ")",
                 e->set, e->epoch, (char)before.status, before.epoch);
        return;
    }
    amb_check_accept(s, e, &before);
    tr->acc_valid = true;
    tr->acc_epoch = e->epoch;
    tr->acc_node = e->aux != NONE ? s->results[e->aux].node : -1;
    s->st.counted++;
    tracef(s, "amb", "set %u epoch %" PRIu64 ": COUNTED", e->set, e->epoch);
    amb_send_result(s, e->session, e->set, e->epoch, 1);
}

static void
amb_on_fail(struct sim *s, const struct sim_ev *e)
{
    if (sets_fail(s, e->set, e->epoch, "node error") == -1) {
        tracef(s, "amb", "set %u epoch %" PRIu64 ": stale fail ignored", e->set,
               e->epoch);
        return;
    }
    tracef(s, "amb", "set %u epoch %" PRIu64 ": failed on %s", e->set, e->epoch,
           node_name(s, s->sess[e->session].node));
    amb_after_failure(s, e->set);
}

static int
amb_assign(struct sim *s, uint64_t sid, uint32_t set)
{
    struct sess *x = &s->sess[sid];
    struct truth *tr = &s->tr[set];
    uint64_t epoch;
    if (sets_assign(s, set, sid, x->node, &epoch) == -1)
        return -1;
    x->wants--;
    s->st.assigned++;
    tr->assign_epoch = epoch;
    tr->assign_session = sid;
    tr->assign_node = x->node;
    tracef(s, "amb",
           "set %u epoch %" PRIu64 ": assigned to %s (session %" PRIu64 ")",
           set, epoch, node_name(s, x->node), sid);
    cmd_push(s, sid, NC_ASSIGN, set, epoch, 0);
    return 0;
}

static void
amb_dispatch(struct sim *s)
{
    bool progress = true;
    if (s->finished != 0 || s->share_sick)
        return;
    while (progress && !s->failed) {
        progress = false;
        for (uint64_t n = s->l_head; n != 0; n = s->sess[n].next) {
            int64_t set;
            if (!s->sess[n].hello_ok || s->sess[n].wants <= 0 ||
                s->sess[n].lease_stale_sent)
                continue;
            set = sets_pick(s, s->sess[n].node);
            if (set < 0)
                return;
            if (amb_assign(s, n, (uint32_t)set) == 0)
                progress = true;
        }
    }
}

/* Every set Counted: the concat reads every accepted file. */
static void
amb_finish(struct sim *s)
{
    for (uint32_t i = 0; i < s->nsets; i++) {
        const struct truth *tr = &s->tr[i];
        const struct file *f =
            tr->acc_valid ? file_find(s, i, tr->acc_epoch, tr->acc_node) : NULL;
        if (f == NULL || !f->present) {
            sim_fail(s, "set %u is counted but its file is gone", i);
            return;
        }
    }
    s->finished = 1;
    tracef(s, "amb", "job done: all %u sets counted", s->nsets);
}

static void
amb_after(struct sim *s)
{
    if (s->failed)
        return;
    amb_check_share(s);
    amb_check_orphans(s);
    amb_check_leases(s);
    amb_dispatch(s);
    if (s->finished == 0 && set_table_done(s->sets))
        amb_finish(s);
}

static void
amb_on_event(struct sim *s, const struct sim_ev *e)
{
    switch (e->code) {
    case LE_CHECKED:
        amb_on_checked(s, e);
        return;
    case LE_SHARE:
        amb_on_share(s);
        return;
    case LE_LEASE:
        amb_on_lease(s, e);
        return;
    default:
        break;
    }
    if (amb_node_find(s, e->session) == NULL)
        return;
    switch (e->code) {
    case LE_HELLO:
        amb_on_hello(s, e->session);
        break;
    case LE_WANT:
        s->sess[e->session].wants++;
        break;
    case LE_UNWANT:
        s->sess[e->session].wants = 0;
        break;
    case LE_DECLINE:
        if (sets_unassign(s, e->set, e->epoch) == 0)
            s->st.declined++;
        break;
    case LE_DONE:
        amb_on_done(s, e);
        break;
    case LE_FAIL:
        amb_on_fail(s, e);
        break;
    case LE_GONE:
        amb_on_gone(s, e->session, e->ok != 0);
        break;
    default:
        break;
    }
}

/* ---- invariants ---- */

static void
inv_scan(struct sim *s)
{
    uint32_t counted = 0;
    for (uint32_t i = 0; i < s->nsets && !s->failed; i++) {
        const struct set_info *si = set_table_get(s->sets, i);
        struct truth *tr = &s->tr[i];
        if (si->epoch < tr->last_epoch)
            sim_fail(s, "set %u: epoch went back from %" PRIu64 " to %" PRIu64,
                     i, tr->last_epoch, si->epoch);
        tr->last_epoch = si->epoch;
        if (tr->counted && si->status != SET_COUNTED)
            sim_fail(s, "set %u left D (now %c)", i, (char)si->status);
        if (si->status == SET_COUNTED && !tr->counted) {
            tr->counted = true;
            if (++tr->times_counted > 1)
                sim_fail(s, "set %u counted twice", i);
        }
        counted += si->status == SET_COUNTED;
    }
    if (!s->failed && counted != set_table_count(s->sets, SET_COUNTED))
        sim_fail(s, "set_table_count(D) = %u, but %u sets are D",
                 set_table_count(s->sets, SET_COUNTED), counted);
}

static void
inv_end(struct sim *s)
{
    if (s->failed)
        return;
    if (s->finished == 1) {
        for (uint32_t i = 0; i < s->nsets; i++)
            if (s->tr[i].times_counted != 1)
                sim_fail(s, "job done but set %u was counted %u times", i,
                         s->tr[i].times_counted);
        if (!s->failed && set_table_count(s->sets, SET_COUNTED) != s->nsets)
            sim_fail(s, "job done with %u of %u sets counted",
                     set_table_count(s->sets, SET_COUNTED), s->nsets);
        return;
    }
    if (s->finished == -1) {
        const struct set_info *i = set_table_get(s->sets, s->stop_set);
        if (s->report[0] == '\0' || !(i->nfailed_on >= SIM_MAX_NODES_PER_SET ||
                                      i->failures >= SIM_MAX_FAILURES_PER_SET ||
                                      i->reclaims >= SIM_MAX_FAILURES_PER_SET))
            sim_fail(s, "job stopped without a valid report (\"%s\")",
                     s->report);
        return;
    }
}

/* Not done by the budget: say what is left, and where. */
static void
inv_stuck(struct sim *s)
{
    char what[SIM_WHY_MAX] = "";
    size_t n = 0;
    for (uint32_t i = 0; i < s->nsets && n < sizeof(what) / 2; i++) {
        const struct set_info *si = set_table_get(s->sets, i);
        int w;
        if (si->status == SET_COUNTED)
            continue;
        w = snprintf(what + n, sizeof(what) - n,
                     " set %u %c epoch %" PRIu64 " holder %" PRIu64 " (%s)%s;",
                     i, (char)si->status, si->epoch, si->holder,
                     si->status == SET_PROCESSING ? si->holder_name : "-",
                     si->checking ? " checking" : "");
        if (w < 0)
            break;
        n += (size_t)w;
    }
    sim_fail(s, "stuck: %u of %u sets counted after %" PRIu64 " s virtual:%s",
             set_table_count(s->sets, SET_COUNTED), s->nsets, s->now / MS_PER_S,
             what);
}

/* ---- one seed ---- */

static void
sim_window(struct sim *s, int node, uint64_t start, uint64_t len)
{
    struct sim_ev e = ev_make(SE_F_HANG, start, node);
    s->hangs = xgrow(s->hangs, &s->caphangs, s->nhangs + 1, sizeof(*s->hangs));
    s->hangs[s->nhangs].start = start;
    s->hangs[s->nhangs].end = start + len;
    s->hangs[s->nhangs].node = node;
    s->nhangs++;
    e.aux = len;
    ev_push(s, e);
    if (node < 0)
        s->st.hangs++;
    else
        s->st.mount_hangs++;
}

static uint32_t
sim_rate(struct sim *s, uint32_t lo, uint32_t hi)
{
    return rng_ppm(s, SIM_KIND_PPM) ? (uint32_t)rng_range(s, lo, hi) : 0;
}

/* Faults of one kind at random times in the fault window. */
static void
sim_faults(struct sim *s, int kind, uint64_t lo, uint64_t hi)
{
    uint64_t k;
    if (!rng_ppm(s, SIM_KIND_PPM))
        return;
    k = rng_range(s, 1, SIM_FAULTS_MAX_PER_KIND);
    for (uint64_t i = 0; i < k; i++) {
        int node = (int)rng_below(s, (uint64_t)s->nnodes);
        uint64_t at = rng_below(s, s->f.until), len = rng_range(s, lo, hi);
        if (kind == SE_F_HANG) {
            sim_window(s, rng_ppm(s, SIM_WHOLE_SHARE_PPM) ? -1 : node, at, len);
        } else {
            struct sim_ev e = ev_make(kind, at, node);
            e.aux = len;
            ev_push(s, e);
        }
    }
}

static void
sim_setup(struct sim *s, uint64_t seed, const struct sim_opts *o)
{
    uint32_t slots = 0, nsets = o->nsets;
    int nnodes = o->nnodes;
    memset(s, 0, sizeof(*s));
    s->tracing = o->tracing || o->verbose;
    s->verbose = o->verbose;
    s->strict_timing = o->strict_timing;
    s->seed = seed;
    s->rng = seed;
    s->trace_hash = FNV_OFFSET;
    s->nsets = nsets != 0 ? nsets
               : rng_ppm(s, SIM_SMALL_JOB_PPM)
                   ? (uint32_t)rng_range(s, 1, SIM_SMALL_SETS)
                   : (uint32_t)rng_range(s, 1, SIM_MAX_SETS);
    s->nnodes = nnodes != 0 ? nnodes : (int)rng_range(s, 1, SIM_MAX_NODES);
    for (int i = 0; i < s->nnodes; i++) {
        struct vnode *n = &s->nodes[i];
        snprintf(n->name, sizeof(n->name), "n%d", i);
        n->slots = (int)rng_range(
            s, 1,
            rng_ppm(s, SIM_MANY_SLOTS_PPM) ? SIM_MAX_SLOTS : SIM_FEW_SLOTS);
        n->last_rec = NONE;
        slots += (uint32_t)n->slots;
    }
    s->sets = set_table_new(s->nsets);
    s->sh = calloc(s->nsets, sizeof(*s->sh));
    s->tr = calloc(s->nsets, sizeof(*s->tr));
    s->file_head = malloc(s->nsets * sizeof(*s->file_head));
    if (s->sets == NULL || s->sh == NULL || s->tr == NULL ||
        s->file_head == NULL) {
        fprintf(stderr, "sim: out of memory\n");
        exit(2);
    }
    for (uint32_t i = 0; i < s->nsets; i++) {
        s->sh[i].status = SET_AVAILABLE;
        s->file_head[i] = NONE;
    }

    s->f.calm = rng_ppm(s, SIM_CALM_PPM);
    s->f.until = (uint64_t)s->nsets * (SIM_RENDER_MIN_MS + SIM_RENDER_MAX_MS) /
                 2 / slots;
    if (s->f.until < SIM_WINDOW_MIN_MS)
        s->f.until = SIM_WINDOW_MIN_MS;
    if (!s->f.calm) {
        s->f.reorder = rng_ppm(s, SIM_REORDER_PPM);
        s->f.drop_ppm = sim_rate(s, SIM_DROP_MIN_PPM, SIM_DROP_MAX_PPM);
        s->f.late_ppm = sim_rate(s, SIM_LATE_MIN_PPM, SIM_LATE_MAX_PPM);
        s->f.dup_ppm = sim_rate(s, SIM_DUP_MIN_PPM, SIM_DUP_MAX_PPM);
        s->f.corrupt_ppm =
            sim_rate(s, SIM_CORRUPT_MIN_PPM, SIM_CORRUPT_MAX_PPM);
        s->f.render_fail_ppm =
            sim_rate(s, SIM_RENDER_FAIL_MIN_PPM, SIM_RENDER_FAIL_MAX_PPM);
        s->f.stale_ppm = sim_rate(s, SIM_STALE_MIN_PPM, SIM_STALE_MAX_PPM);
        s->f.replay_ppm = sim_rate(s, SIM_REPLAY_MIN_PPM, SIM_REPLAY_MAX_PPM);
        s->f.torn_ppm = sim_rate(s, SIM_TORN_MIN_PPM, SIM_TORN_MAX_PPM);
        sim_faults(s, SE_F_CRASH, SIM_CRASH_DOWN_MIN_MS, SIM_CRASH_DOWN_MAX_MS);
        sim_faults(s, SE_F_STOP, SIM_STOP_MIN_MS, SIM_STOP_MAX_MS);
        sim_faults(s, SE_F_LINK_DOWN, SIM_PART_MIN_MS, SIM_PART_MAX_MS);
        sim_faults(s, SE_F_HANG, SIM_HANG_MIN_MS, SIM_HANG_MAX_MS);
    }
    /* The last fault ends by until + the longest one; then the job must
     * finish within twice its serial time plus a generous slack. */
    s->budget_ms = s->f.until + SIM_LONGEST_FAULT_MS +
                   2 * (uint64_t)s->nsets * SIM_RENDER_MAX_MS / slots +
                   SIM_SLACK_MS;
    for (int i = 0; i < s->nnodes; i++) {
        struct sim_ev e =
            ev_make(SE_N_START, rng_below(s, SIM_NODE_START_SPREAD_MS), i);
        ev_push(s, e);
    }
    ev_push(s, ev_make(SE_W_POLL, 0, -1));
    ev_push(s, ev_make(SE_L_TICK, SIM_AMB_TICK_MS, -1));
    tracef(s, "SIM",
           "seed %" PRIu64 ": %u sets, %d nodes (%u slots)%s; faults until "
           "%" PRIu64 " s: drop %u late %u dup %u corrupt %u fail %u stale "
           "%u torn %u replay %u ppm%s",
           seed, s->nsets, s->nnodes, slots, s->f.calm ? ", calm" : "",
           s->f.until / MS_PER_S, s->f.drop_ppm, s->f.late_ppm, s->f.dup_ppm,
           s->f.corrupt_ppm, s->f.render_fail_ppm, s->f.stale_ppm,
           s->f.torn_ppm, s->f.replay_ppm, s->f.reorder ? ", reordering" : "");
}

static void
sim_teardown(struct sim *s)
{
    for (int i = 0; i < SIM_MAX_NODES; i++)
        free(s->nodes[i].deferred);
    set_table_free(s->sets);
    free(s->sh);
    free(s->tr);
    free(s->file_head);
    free(s->heap);
    free(s->results);
    free(s->files);
    free(s->leases);
    free(s->sess);
    free(s->hangs);
}

/* Events inside a node's process (a message to it is handled apart). */
static bool
node_event(int kind)
{
    return kind >= SE_N_START && kind < SE_N_RX;
}

static void
sim_fault_event(struct sim *s, const struct sim_ev *e)
{
    struct vnode *n = e->node >= 0 ? &s->nodes[e->node] : NULL;
    struct sim_ev next;
    switch (e->kind) {
    case SE_F_CRASH:
        if (n->alive) {
            node_crash(s, e->node);
            next = ev_make(SE_N_START, s->now + e->aux, e->node);
            ev_push(s, next);
        }
        break;
    case SE_F_STOP:
        if (n->alive && !n->stopped) {
            s->st.stops++;
            n->stopped = true;
            tracef(s, n->name, "SIGSTOP for %" PRIu64 " ms", e->aux);
            next = ev_make(SE_F_RESUME, s->now + e->aux, e->node);
            next.gen = n->inc;
            ev_push(s, next);
        }
        break;
    case SE_F_RESUME:
        if (n->alive && n->stopped && e->gen == n->inc)
            node_resume(s, e->node);
        break;
    case SE_F_LINK_DOWN:
        s->st.partitions++;
        n->link_down++;
        tracef(s, n->name, "network partition for %" PRIu64 " ms", e->aux);
        next = ev_make(SE_F_LINK_UP, s->now + e->aux, e->node);
        ev_push(s, next);
        break;
    case SE_F_LINK_UP:
        n->link_down--;
        tracef(s, n->name, "partition heals%s", n->link_down ? " (one)" : "");
        break;
    case SE_F_HANG:
        tracef(s, e->node < 0 ? "shr" : n->name, "%s hangs for %" PRIu64 " ms",
               e->node < 0 ? "the share" : "the node's mount", e->aux);
        break;
    default:
        break;
    }
}

static void
sim_node_event(struct sim *s, const struct sim_ev *e)
{
    struct vnode *n = &s->nodes[e->node];
    if (e->kind == SE_N_START) {
        if (!n->alive)
            node_on_start(s, e->node);
        return;
    }
    if (!n->alive || e->gen != n->inc)
        return;
    if (n->stopped) {
        node_defer(s, e);
        return;
    }
    switch (e->kind) {
    case SE_N_TICK:
        node_on_tick(s, e->node);
        break;
    case SE_N_LEASE_TICK:
        node_on_lease_tick(s, e->node);
        break;
    case SE_N_LEASE_DONE:
        node_on_lease_done(s, e->node);
        break;
    case SE_N_RENDER_DONE:
        node_on_render_done(s, e);
        break;
    case SE_N_CONNECT:
        node_on_connect(s, e->node);
        break;
    default:
        break;
    }
}

static void
sim_event(struct sim *s, const struct sim_ev *e)
{
    if (node_event(e->kind)) {
        sim_node_event(s, e);
        return;
    }
    switch (e->kind) {
    case SE_N_RX:
        /* The kernel buffers what arrives for a stopped process. */
        if (s->nodes[e->node].stopped && s->nodes[e->node].alive) {
            node_defer(s, e);
            break;
        }
        if (s->nodes[e->node].link_down > 0 || s->sess[e->session].broken) {
            net_break(s, e->session, "lost on the way");
            break;
        }
        if (s->nodes[e->node].alive)
            node_on_rx(s, e);
        break;
    case SE_A_RX:
        conn_on_rx(s, e);
        break;
    case SE_C_TICK:
        if (s->sess[e->session].c_open &&
            e->gen == s->sess[e->session].tick_gen)
            conn_step(s, e->session);
        break;
    case SE_C_CMD:
        conn_on_cmd(s, e);
        break;
    case SE_L_EVENT:
        if (s->finished == 0) {
            amb_on_event(s, e);
            amb_after(s);
        }
        break;
    case SE_L_TICK:
        if (s->finished == 0) {
            amb_after(s);
            ev_push(s, ev_make(SE_L_TICK, s->now + SIM_AMB_TICK_MS, -1));
        }
        break;
    case SE_W_POLL:
        watch_on_poll(s);
        break;
    case SE_W_DONE:
        watch_on_done(s, e);
        break;
    case SE_K_DONE:
        checker_on_done(s, e);
        break;
    default:
        sim_fault_event(s, e);
        break;
    }
}

/* One line per event, before what it causes. */
static void
ev_trace(struct sim *s, const struct sim_ev *e)
{
    static const char *const kinds[] = {
        [SE_F_CRASH] = "crash",        [SE_F_STOP] = "stop",
        [SE_F_RESUME] = "resume",      [SE_F_LINK_DOWN] = "link-down",
        [SE_F_LINK_UP] = "link-up",    [SE_F_HANG] = "hang",
        [SE_N_START] = "node-start",   [SE_N_TICK] = "node-tick",
        [SE_N_LEASE_TICK] = "renew",   [SE_N_LEASE_DONE] = "renewed",
        [SE_N_RENDER_DONE] = "render", [SE_N_CONNECT] = "connect",
        [SE_N_RX] = "node-rx",         [SE_A_RX] = "amb-rx",
        [SE_C_TICK] = "conn-tick",     [SE_C_CMD] = "conn-cmd",
        [SE_L_EVENT] = "loop-ev",      [SE_L_TICK] = "loop-tick",
        [SE_W_POLL] = "watch",         [SE_W_DONE] = "watched",
        [SE_K_DONE] = "checker",
    };
    static const char *const msgs[] = {
        [M_HELLO] = "hello",   [M_WELCOME] = "welcome", [M_HB] = "heartbeat",
        [M_ASSIGN] = "assign", [M_DONE] = "done",       [M_FAIL] = "fail",
        [M_RESULT] = "result", [M_CANCEL] = "cancel",   [M_DETACH] = "detach",
        [M_ERROR] = "error",   [M_CLOSE] = "FIN",
    };
    static const char *const cmds[] = {
        [NC_ASSIGN] = "assign",
        [NC_RESULT] = "result",
        [NC_FINISH] = "finish",
        [NC_CANCEL] = "cancel",
        [NC_ADMIT] = "admit",
        [NC_LEASE_STALE] = "lease-stale",
        [NC_LEASE_FRESH] = "lease-fresh",
    };
    static const char *const loops[] = {
        [LE_HELLO] = "hello",   [LE_WANT] = "want",
        [LE_UNWANT] = "unwant", [LE_DECLINE] = "decline",
        [LE_DONE] = "done",     [LE_FAIL] = "fail",
        [LE_GONE] = "gone",     [LE_CHECKED] = "checked",
        [LE_SHARE] = "share",   [LE_LEASE] = "lease",
    };
    const char *what = "";
    if (!s->tracing)
        return;
    if (e->kind == SE_N_RX || e->kind == SE_A_RX)
        what = msgs[e->code];
    else if (e->kind == SE_C_CMD)
        what = cmds[e->code];
    else if (e->kind == SE_L_EVENT)
        what = loops[e->code];
    tracef(s, "ev", "%s%s%s node %s session %" PRIu64 " set %u epoch %" PRIu64,
           kinds[e->kind], what[0] != '\0' ? " " : "", what,
           e->node >= 0 ? node_name(s, e->node) : "-", e->session, e->set,
           e->epoch);
}

static void
sim_run(struct sim *s)
{
    while (s->nheap > 0 && !s->failed && s->finished == 0) {
        struct sim_ev e = ev_pop(s);
        if (e.at > s->budget_ms) {
            s->now = s->budget_ms;
            inv_stuck(s);
            break;
        }
        s->now = e.at;
        if (++s->events > SIM_EVENTS_MAX) {
            sim_fail(s, "stuck: more than %llu events", SIM_EVENTS_MAX);
            break;
        }
        ev_trace(s, &e);
        sim_event(s, &e);
        inv_scan(s);
    }
    if (!s->failed && s->finished == 0)
        inv_stuck(s);
    inv_end(s);
    if (!s->failed && s->f.calm &&
        (s->finished != 1 || s->st.failures > 0 || s->st.stale > 0 ||
         s->st.duplicates > 0 || s->st.declined > 0 || s->st.rejected > 0))
        sim_fail(s,
                 "a seed without faults did not run clean: finished %d, "
                 "failures %" PRIu64 ", stale %" PRIu64 ", duplicates "
                 "%" PRIu64 ", declined %" PRIu64 ", rejected %" PRIu64,
                 s->finished, s->st.failures, s->st.stale, s->st.duplicates,
                 s->st.declined, s->st.rejected);
    tracef(s, "SIM", "end: %s after %" PRIu64 " events, %" PRIu64 " s virtual",
           s->failed          ? "FAILED"
           : s->finished == 1 ? "job done"
                              : "job stopped",
           s->events, s->now / MS_PER_S);
}

static void
stats_add(struct stats *a, const struct sim *s)
{
    const struct stats *b = &s->st;
    a->seeds++;
    a->failed += s->failed;
    a->completed += !s->failed && s->finished == 1;
    a->stopped += !s->failed && s->finished == -1;
    a->calm += s->f.calm;
    a->sets += s->nsets;
    a->events += s->events;
    a->virtual_ms += s->now;
#define ADD(f) a->f += b->f
    ADD(counted);
    ADD(assigned);
    ADD(declined);
    ADD(reattached);
    ADD(cancels);
    ADD(stale);
    ADD(duplicates);
    ADD(rejected);
    ADD(failures);
    ADD(reclaim_died);
    ADD(reclaim_nosession);
    ADD(reclaim_back);
    ADD(reclaim_silent);
    ADD(reclaim_lease);
    ADD(reclaim_live);
    ADD(results);
    ADD(corrupt_made);
    ADD(corrupt_caught);
    ADD(files_removed);
    ADD(fence_drops);
    ADD(grace_drops);
    ADD(crashes);
    ADD(stops);
    ADD(partitions);
    ADD(drops);
    ADD(late);
    ADD(dups);
    ADD(hangs);
    ADD(mount_hangs);
    ADD(stale_reads);
    ADD(torn_reads);
    ADD(replays);
    ADD(breaker_opens);
    ADD(spins);
    ADD(sessions);
    ADD(refused);
#undef ADD
}

/* Run one seed; returns its trace hash. */
static uint64_t
sim_seed(uint64_t seed, const struct sim_opts *o, struct stats *total,
         char *why, size_t whylen)
{
    struct sim *s = malloc(sizeof(*s));
    uint64_t hash;
    if (s == NULL) {
        fprintf(stderr, "sim: out of memory\n");
        exit(2);
    }
    sim_setup(s, seed, o);
    sim_run(s);
    if (total != NULL)
        stats_add(total, s);
    snprintf(why, whylen, "%s", s->failed ? s->why : "");
    hash = s->trace_hash;
    sim_teardown(s);
    free(s);
    return hash;
}

static void
stats_print(const struct stats *t, double wall_s)
{
    uint64_t reclaims = t->reclaim_died + t->reclaim_silent + t->reclaim_lease +
                        t->reclaim_back + t->reclaim_nosession;
    printf("sim: %" PRIu64 " seeds, %" PRIu64 " failed; sets counted %" PRIu64
           ", stale results rejected %" PRIu64 ", reclaims %" PRIu64
           ", corrupt results rejected %" PRIu64 " (made %" PRIu64
           ", counted 0); %.1f s wall\n",
           t->seeds, t->failed, t->counted, t->stale, reclaims,
           t->corrupt_caught, t->corrupt_made, wall_s);
    printf("sim:   jobs: %" PRIu64 " done, %" PRIu64 " stopped with a report, "
           "%" PRIu64 " without faults; %" PRIu64 " sets, %.1f h virtual, "
           "%" PRIu64 " events\n",
           t->completed, t->stopped, t->calm, t->sets,
           (double)t->virtual_ms / MS_PER_S / S_PER_H, t->events);
    printf("sim:   sets: assigned %" PRIu64 ", declined %" PRIu64
           ", reattached %" PRIu64 ", cancelled %" PRIu64 ", failures %" PRIu64
           " (reclaims included), results rejected %" PRIu64 "\n",
           t->assigned, t->declined, t->reattached, t->cancels, t->failures,
           t->rejected);
    printf("sim:   done reports not taken: stale %" PRIu64
           " (rejected, %" PRIu64 " files removed), duplicates %" PRIu64
           " (ignored, file kept)\n",
           t->stale, t->files_removed, t->duplicates);
    printf(
        "sim:   reclaims: process death %" PRIu64 ", silent %" PRIu64
        ", lease no longer lists it %" PRIu64 ", node back without it %" PRIu64
        ", no session %" PRIu64 "; before the holder fenced %" PRIu64
        "; work dropped by fencing %" PRIu64 ", past the grace %" PRIu64 "\n",
        t->reclaim_died, t->reclaim_silent, t->reclaim_lease, t->reclaim_back,
        t->reclaim_nosession, t->reclaim_live, t->fence_drops, t->grace_drops);
    printf("sim:   faults: crashes %" PRIu64 ", stops %" PRIu64
           ", partitions %" PRIu64 ", lost messages %" PRIu64 ", late %" PRIu64
           ", duplicated %" PRIu64 ", reports sent again %" PRIu64
           ", share hangs %" PRIu64 ", mount hangs %" PRIu64
           ", stale lease reads %" PRIu64 ", torn %" PRIu64 "\n",
           t->crashes, t->stops, t->partitions, t->drops, t->late, t->dups,
           t->replays, t->hangs, t->mount_hangs, t->stale_reads, t->torn_reads);
    printf("sim:   sessions %" PRIu64 " (refused %" PRIu64
           "), breaker opens %" PRIu64 ", nodeconn spins %" PRIu64 "\n",
           t->sessions, t->refused, t->breaker_opens, t->spins);
}

static void
usage(void)
{
    fprintf(stderr, "usage: sim_core [--seeds N] [--seed S] [--sets N] "
                    "[--nodes N] [--as-built] [--strict-timing] [-v]\n");
    exit(2);
}

static uint64_t
arg_u64(const char *v, uint64_t max)
{
    char *end;
    unsigned long long x;
    if (v == NULL)
        usage();
    x = strtoull(v, &end, DECIMAL);
    if (*v == '\0' || *end != '\0' || x > max)
        usage();
    return x;
}

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SIM_SANITIZED 1
#else
#define SIM_SANITIZED 0
#endif

int
main(int argc, char **argv)
{
    uint64_t nseeds = SIM_DEFAULT_SEEDS, one = 0, failed = 0;
    int printed = 0;
    struct sim_opts o;
    struct stats t;
    char why[SIM_WHY_MAX], extra[SIM_LINE_MAX] = "";
    uint64_t t0 = clock_now_ms();

    memset(&o, 0, sizeof(o));
    memset(&t, 0, sizeof(t));
    if (SIM_SANITIZED)
        nseeds /= SIM_SANITIZER_DIVISOR;
#if defined(__SANITIZE_THREAD__)
    /* The simulation is single-threaded: TSan adds time, not coverage. */
    nseeds /= SIM_TSAN_EXTRA_DIVISOR;
#endif
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--seeds") == 0)
            nseeds = arg_u64(argv[++i], UINT32_MAX);
        else if (strcmp(argv[i], "--seed") == 0)
            one = arg_u64(argv[++i], UINT64_MAX);
        else if (strcmp(argv[i], "--sets") == 0)
            o.nsets = (uint32_t)arg_u64(argv[++i], SIM_MAX_SETS);
        else if (strcmp(argv[i], "--nodes") == 0)
            o.nnodes = (int)arg_u64(argv[++i], SIM_MAX_NODES);
        else if (strcmp(argv[i], "--as-built") == 0)
            continue; /* the model is the code as built */
        else if (strcmp(argv[i], "--strict-timing") == 0)
            o.strict_timing = true;
        else if (strcmp(argv[i], "-v") == 0)
            o.verbose = true;
        else
            usage();
    }
    /* What a replay needs besides the seed. */
    if (o.nsets != 0)
        snprintf(extra, sizeof(extra), " --sets %u", o.nsets);
    if (o.nnodes != 0)
        snprintf(extra + strlen(extra), sizeof(extra) - strlen(extra),
                 " --nodes %d", o.nnodes);
    if (o.strict_timing)
        snprintf(extra + strlen(extra), sizeof(extra) - strlen(extra),
                 " --strict-timing");

    if (one != 0) {
        sim_seed(one, &o, &t, why, sizeof(why));
        if (t.failed) {
            printf("sim: seed %" PRIu64 " FAILED: %s (replay: %s --seed "
                   "%" PRIu64 "%s -v)\n",
                   one, why, argv[0], one, extra);
            printf("0 passed, 1 failed\n");
            return 1;
        }
        printf("sim: seed %" PRIu64 " passed: %s\n", one,
               t.completed ? "job done" : "job stopped with a report");
        printf("1 passed, 0 failed\n");
        return 0;
    }

    /* Determinism: the same seed twice gives the same trace. */
    for (uint64_t seed = 1; seed <= SIM_SELF_CHECK_SEEDS; seed++) {
        struct sim_opts traced = o;
        uint64_t h1, h2;
        traced.tracing = true;
        h1 = sim_seed(seed, &traced, NULL, why, sizeof(why));
        h2 = sim_seed(seed, &traced, NULL, why, sizeof(why));
        if (h1 != h2) {
            printf("sim: seed %" PRIu64 " FAILED: not deterministic (trace "
                   "hash %016" PRIx64 " then %016" PRIx64 ")\n",
                   seed, h1, h2);
            printf("0 passed, 1 failed\n");
            return 1;
        }
    }

    for (uint64_t seed = 1; seed <= nseeds; seed++) {
        uint64_t before = t.failed;
        sim_seed(seed, &o, &t, why, sizeof(why));
        if (t.failed != before) {
            failed++;
            if (printed++ < SIM_MAX_PRINTED_FAILURES)
                printf("sim: seed %" PRIu64 " FAILED: %s (replay: %s --seed "
                       "%" PRIu64 "%s -v)\n",
                       seed, why, argv[0], seed, extra);
            fflush(stdout);
        }
    }

    stats_print(&t, (double)(clock_now_ms() - t0) / MS_PER_S);
    printf("%" PRIu64 " passed, %" PRIu64 " failed\n", t.seeds - failed,
           failed);
    return failed == 0 ? 0 : 1;
}
