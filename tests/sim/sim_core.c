/*
 * sim_core.c - a deterministic simulation of the ambassador that ships:
 * its pure core (coordinator/amb_core.c, with the set table, each node's
 * breaker in coordinator/nodewatch.c and the liveness rules), linked and
 * driven through its entry points (amb_core_step, and amb_core_start_job,
 * amb_core_cancel and amb_core_end_job as the service runs jobs) by a
 * virtual clock, virtual render nodes, a virtual network and a virtual
 * share, with faults chosen by a seed.
 *
 *   sim_core [--seeds N] [--seed S] [--sets N] [--nodes N] [--jobs N]
 *            [--as-built] [--strict-timing] [-v]
 *
 * Without --seed it first runs a few seeds twice and compares their trace
 * hashes, then runs seeds 1..N (jobs, their sizes and the farm's from the
 * seed) and prints a summary. --seed S -v replays one seed with a trace of
 * every event. A failing seed is printed with the line that replays it.
 * --sets N fixes every job's size, --jobs N their number.
 *
 * Model. One event queue ordered by (virtual ms, sequence number); one
 * splitmix64 generator per seed is the only source of randomness (no
 * clock, no rand()). The actors:
 * - the lab: a seed has 1 to SIM_MAX_JOBS jobs, each with its own size and
 *   priority, submitted up front or later (its number, and so its epoch
 *   base, given at submit); now and then a cancel (of the running job,
 *   of a queued one, or as a job writes its video).
 * - the service (coordinator/service.c): with the core idle, it picks the
 *   job that was running when the ambassador died, else the first queued
 *   one by jobq_before once a node is connected; prepares it (recovery:
 *   its journal replayed, or its job record written) and hands it to the
 *   loop, which starts it in the core; when it is over, amb_job_over's
 *   steps: amb_core_end_job and its cancels carried out. A single job
 *   runs half the time as a one-job ambassador (amb_core_new with it).
 * - nodes (gpu-node/session.c): render sets in slots, each for the job its
 *   manifest names, publishing into that job's tree, but keyed by set and
 *   epoch as session.c keys them; stay connected from one job to the next,
 *   so an assign of a job may come while they still hold or report work
 *   of the last. They renew a lease on the
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
 *   gone, of jobs long over.
 * - the ambassador's host: one nodeconn per session, as
 *   coordinator/nodeconn.c is written (a socket and heartbeat pump:
 *   heartbeats, suspect and dead timers, detach and death told apart);
 *   the loop, as coordinator/ambassador.c is written, hands every event
 *   and a tick to the core and carries out its actions (sends, records,
 *   checks, removals, the concat); the checker thread (validates a result
 *   file in the tree its path names, removes stale ones, writes the
 *   concat); the share watcher (probe, lease reads). Thread hand-offs are
 *   FIFO queues with a small random delay. Every decision (dispatch,
 *   breakers, reattach, the orphan rules, stale and duplicate results, the
 *   stop rule, what a job's end cancels) is the core's own code.
 * - the ambassador's process: on seeds with its crashes, every record the
 *   core emits goes to its job's journal as jrec_encode writes it, and the
 *   core's snapshot replaces it now and then (compaction). A crash loses
 *   its threads, queues and sockets (nodes see a FIN or a refused
 *   connect); the restart (a new generation) is an idle core, and the
 *   service resumes the job that was running from its journal (decoded
 *   and replayed by jrec_apply, the same epoch base), then the queue.
 * - the share: lease records, result files, hangs of the whole share or of
 *   one node's mount, stale and torn lease reads.
 *
 * --as-built is still accepted and changes nothing. Not modelled: the
 * journal's durability (the loop holds each turn's messages until its
 * records are durable; here deferred actions run at once, and a record is
 * in the journal as soon as it is emitted), a control client's session.
 *
 * Checked after every event: the running job's epochs stay in its range
 * [epoch_base, epoch_base + 2^JOB_EPOCH_SHIFT) and never decrease, across
 * a restart too; D is reached at most once and never left; the core's own
 * FF_ASSERTs. Speculative backups (amb_core.h) run as the core decides:
 * an assignment of a set already in B is its backup, and either attempt
 * may be the one counted. At each accept: the set was being checked at
 * that epoch (its first attempt's or its backup's),
 * inside the job's range, and the file checked is in the running job's
 * tree and was rendered for exactly that assignment of that job (truth
 * kept outside the core, per job). A check that passed is counted. A job
 * starts only when the one that was running before a restart has, and
 * before it no queued job comes first by priority, then submission order
 * (the rule written out, not jobq_before). amb_core_cancel says no exactly
 * when the job stopped already or its concat began; a cancelled or failed
 * job never begins its concat nor ends done. At a job's end:
 * amb_core_end_job cancels exactly the sets in nodes' hands (in B, not
 * being checked, on the session that holds them, every one whose session
 * is open) and leaves the core idle; a done job has every set D exactly
 * once with its file intact (the concat reads them all); a stopped job
 * has "cancelled by request", or a report naming a set that met the stop
 * rule. A journal must replay. A seed whose jobs are not all over within
 * the virtual-time budget is "stuck". A seed with no faults must finish
 * every job without a single failure, stale, duplicate, declined or
 * rejected result. A nodeconn that would wake with nothing due (a busy
 * wait) fails the seed. A reclaim while the holder could still publish is
 * counted, or fails the seed with --strict-timing: safety rests on the
 * epoch, not on that timing. (The set table's, breaker's and liveness's
 * contracts call by call are their unit tests': test_sets, test_breaker,
 * test_liveness, test_jobq.)
 *
 * Deterministic: the same seed gives the same trace, byte for byte.
 * Single-threaded.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/breaker.h"
#include "common/clock.h"
#include "common/lease.h"
#include "coordinator/amb_core.h"
#include "coordinator/config.h"
#include "coordinator/events.h"
#include "coordinator/job.h"
#include "coordinator/jobq.h"
#include "coordinator/jrec.h"
#include "coordinator/sets.h"

/* Seeds and sizes. */
#define SIM_DEFAULT_SEEDS 30000
#define SIM_SANITIZER_DIVISOR 10 /* ASan/TSan builds run fewer */
#define SIM_TSAN_EXTRA_DIVISOR 5 /* and TSan fewer still */
#define SIM_SELF_CHECK_SEEDS 4
#define SIM_MAX_NODES 8
#define SIM_MAX_SETS 200 /* a seed's sets, all its jobs together */
#define SIM_MAX_JOBS 4
#define SIM_ONE_JOB_PPM 400000 /* seeds with a single job */
#define SIM_ONESHOT_PPM 500000 /* ... run by a one-job ambassador */
#define SIM_UPFRONT_PPM 600000 /* a job submitted before the farm starts */
#define SIM_PRIORITIES 3       /* 0 .. 2 */
#define SIM_JOB_EPOCHS ((uint64_t)1 << JOB_EPOCH_SHIFT) /* a job's range */
#define SIM_FIRST_SEQ_MAX 2  /* the first job's number: 0 is epoch base 0 */
#define SIM_RESUBMIT_MS 1000 /* a submit that found the ambassador down */
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
#define SIM_SET_FRAMES 2            /* frames a set: only counts are modelled */
#define SIM_SHARE_FREE (1ull << 40) /* the share never fills */
#define SIM_ENCODER "libx264"
#define SIM_PRESET "veryfast"
#define SIM_SHA256                                                             \
    "0000000000000000000000000000000000000000000000000000000000000000"

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
#define SIM_MAX_RECLAIMS_PER_SET CONFIG_DEFAULT_MAX_RECLAIMS_PER_SET
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
#define SIM_CONCAT_MIN_MS 50
#define SIM_CONCAT_MAX_MS 2000
#define SIM_PREP_MAX_MS 500   /* the service prepares a job (recovery_open) */
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
#define SIM_CANCEL_PPM 250000 /* faulty seeds where jobs are cancelled */
#define SIM_CANCEL_RUNNING_PPM 700000 /* a cancel names the running job */
#define SIM_CANCELS_MAX 2
#define SIM_CANCEL_AT_CONCAT_PPM 300000 /* and one comes as its concat runs */
#define SIM_AMB_CRASH_PPM 200000 /* faulty seeds where the ambassador dies */
#define SIM_AMB_CRASHES_MAX 2
#define SIM_AMB_DOWN_MIN_MS 200
#define SIM_AMB_DOWN_MAX_MS 30000
#define SIM_COMPACT_PPM 2000 /* after a loop step: the journal compacts */
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

/* Every frame's name: the stop report names frames, nothing else does. */
static char sim_frame_name[] = "frame.jpg";

/* ---- events ---- */

enum sim_kind {
    /* faults */
    SE_F_CRASH,
    SE_F_STOP,
    SE_F_RESUME,
    SE_F_LINK_DOWN,
    SE_F_LINK_UP,
    SE_F_HANG,
    SE_F_AMB_CRASH, /* the ambassador's process dies */
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
    SE_A_START,  /* the ambassador's process starts again */
    SE_S_LAUNCH, /* the service hands the job it prepared to the loop */
    /* the lab */
    SE_U_SUBMIT, /* a job is submitted (framefarm submit) */
    SE_U_CANCEL, /* framefarm cancel */
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
};

/* What reaches the loop, as events.h's types. */
enum loop_kind {
    LE_ACCEPTED,
    LE_HELLO,
    LE_SUSPECT,
    LE_DONE,
    LE_FAIL,
    LE_GONE,
    LE_CHECKED,
    LE_SHARE,
    LE_LEASE,
    LE_CONCATED,
    LE_CANCEL, /* EV_CANCEL: the loop's own, never handed to the core */
};

enum task_kind { TASK_CHECK, TASK_REMOVE, TASK_CONCAT };

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
    int job; /* the job an assign, report, file or task is of; -1 none */
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
    int job;
    uint32_t set;
    uint64_t epoch;
    int node;
    uint64_t inc, session;
    bool corrupt;
};

struct file {
    int job;
    uint32_t set;
    uint64_t epoch;
    int node;
    uint64_t result;
    bool present;
    uint64_t next; /* next file of the same job and set, or NONE */
};

/* ---- a node ---- */

struct work {
    bool used, cancel;
    int job; /* the manifest's: a node keys its work by set and epoch */
    uint32_t set;
    uint64_t epoch, serial, session;
};

struct done_work {
    int job;
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

struct sess {
    int node;
    /* network */
    bool broken;
    uint64_t last_to_amb, last_to_node;
    struct held hello[SIM_MAX_HELD]; /* what the node's hello listed */
    int nhello;
    /* nodeconn: the pump */
    bool c_started, c_open, detached, suspect;
    uint64_t last_rx, next_hb, tick_gen, outbox_last;
};

struct truth {
    uint64_t assign_epoch, assign_session; /* the last assignment made */
    int assign_node;
    /* A speculative backup made while that assignment runs: both are
     * valid until one is counted. */
    uint64_t bk_epoch, bk_session;
    int bk_node;
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
    uint64_t seeds, failed, calm;
    uint64_t jobs, completed, stopped, cancelled, queued_cancels;
    uint64_t cancel_refused, cancel_lost, amb_crashes, resumed, replayed,
        compactions, end_cancels, old_checks;
    uint64_t sets, counted, assigned, declined, reattached, cancels;
    uint64_t backups, backups_won;
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
    uint32_t nsets; /* each job's; 0: from the seed */
    int nnodes;     /* 0: from the seed */
    int njobs;      /* 0: from the seed */
    bool tracing, verbose;
    bool strict_timing; /* a reclaim before the holder fenced fails */
};

/* A job as the service (coordinator/service.c) sees it. */
enum job_state {
    JS_FUTURE,  /* not submitted yet */
    JS_QUEUED,  /* submitted */
    JS_RUNNING, /* picked: being prepared, or run by the core */
    JS_DONE,
    JS_STOPPED,   /* failed: the stop rule, or cancelled while running */
    JS_CANCELLED, /* cancelled while queued */
};

struct sim_job {
    struct job job; /* what the core reads; epoch_base from seq */
    struct zipf_listing frames;
    struct zipf_frame *frame;
    uint32_t nsets;
    int prio;
    uint64_t seq; /* submission order, given at submit */
    uint64_t arrive;
    enum job_state state;
    bool in_core;        /* the core runs it now */
    bool concat_now;     /* this core began its concat */
    bool concat_ever;    /* some core began its concat */
    bool cancel_ok;      /* amb_core_cancel stopped it */
    bool done;           /* ACT_DONE */
    bool stopped;        /* amb_core_failed */
    struct truth *tr;    /* per set */
    uint64_t *file_head; /* per set: its files, newest first */
    char **journal;      /* records as jrec_encode wrote them */
    size_t njournal, capjournal;
    char report[SIM_WHY_MAX];
    uint32_t stop_set;
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

    uint32_t nsets; /* all jobs together */
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

    /* the jobs, and the service that runs them one after another */
    struct sim_job jobs[SIM_MAX_JOBS];
    int njobs;
    int cur;         /* the job the service runs (JS_RUNNING), or -1 */
    int resume;      /* the job to resume first after a restart, or -1 */
    bool launching;  /* SE_S_LAUNCH pending for cur */
    bool oneshot;    /* one job, no service: a one-job ambassador */
    bool journaling; /* ambassador crashes: keep every job's journal */
    bool cancels;    /* the lab cancels jobs now and then */
    uint64_t next_seq;
    bool all_over;

    /* the ambassador: its own core, and what it runs on */
    struct coord_config cfg;
    struct amb_core *core;        /* NULL while its process is down */
    const struct set_table *sets; /* the core's; NULL while idle */
    struct amb_event loop_ev;     /* the event being handed to it */
    uint64_t loop_last, k_busy;
    bool w_busy;
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

/* The job the core runs now, or NULL (idle, preparing one, or the
 * ambassador's process is down). */
static struct sim_job *
core_job(struct sim *s)
{
    struct sim_job *j = s->cur >= 0 ? &s->jobs[s->cur] : NULL;
    return j != NULL && j->in_core ? j : NULL;
}

/* The job a path on the share belongs to ("jobs/<id>/..."), or -1. */
static int
path_job(const struct sim *s, const char *path)
{
    static const char prefix[] = "jobs/";
    size_t k = sizeof(prefix) - 1;
    if (strncmp(path, prefix, k) != 0)
        return -1;
    for (int j = 0; j < s->njobs; j++) {
        size_t n = strlen(s->jobs[j].job.id);
        if (strncmp(path + k, s->jobs[j].job.id, n) == 0 && path[k + n] == '/')
            return j;
    }
    return -1;
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
    e.job = -1;
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

static void
ev_sift_down(struct sim *s, size_t i)
{
    struct sim_ev x = s->heap[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= s->nheap)
            break;
        if (c + 1 < s->nheap && ev_before(&s->heap[c + 1], &s->heap[c]))
            c++;
        if (!ev_before(&s->heap[c], &x))
            break;
        s->heap[i] = s->heap[c];
        i = c;
    }
    s->heap[i] = x;
}

static struct sim_ev
ev_pop(struct sim *s)
{
    struct sim_ev top = s->heap[0];
    s->heap[0] = s->heap[--s->nheap];
    if (s->nheap > 0)
        ev_sift_down(s, 0);
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
file_find(struct sim *s, int job, uint32_t set, uint64_t epoch, int node)
{
    if (job < 0 || job >= s->njobs || set >= s->jobs[job].nsets)
        return NULL;
    for (uint64_t i = s->jobs[job].file_head[set]; i != NONE;
         i = s->files[i].next) {
        struct file *f = &s->files[i];
        if (f->epoch == epoch && f->node == node)
            return f;
    }
    return NULL;
}

/* A node renamed its finished attempt into place in its job's tree:
 * jobs/<job>/out/<set>/<epoch>-<node>. */
static void
file_publish(struct sim *s, int job, uint32_t set, uint64_t epoch, int node,
             uint64_t result)
{
    struct file *f = file_find(s, job, set, epoch, node);
    if (f != NULL) {
        sim_fail(s, "job %s set %u epoch %" PRIu64 ": node %s published twice",
                 s->jobs[job].job.id, set, epoch, node_name(s, node));
        return;
    }
    s->files = xgrow(s->files, &s->capfiles, s->nfiles + 1, sizeof(*s->files));
    f = &s->files[s->nfiles];
    f->job = job;
    f->set = set;
    f->epoch = epoch;
    f->node = node;
    f->result = result;
    f->present = true;
    f->next = s->jobs[job].file_head[set];
    s->jobs[job].file_head[set] = s->nfiles++;
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
cmd_push(struct sim *s, uint64_t sid, int kind, uint32_t set, uint64_t epoch,
         int ok, int job)
{
    struct sess *x = &s->sess[sid];
    struct sim_ev e = ev_make(SE_C_CMD, 0, x->node);
    e.session = sid;
    e.job = job;
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
                      uint64_t epoch, uint64_t result, int job);

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
    node_send(s, node, M_DETACH, 0, 0, 0, -1);
    node_disconnect(s, node, true, "fenced");
    return true;
}

static void
node_send(struct sim *s, int node, int kind, uint32_t set, uint64_t epoch,
          uint64_t result, int job)
{
    struct sim_ev m = msg_make(kind, set, epoch);
    if (s->nodes[node].conn == 0)
        return; /* no socket to write to */
    m.aux = result;
    m.job = job;
    net_send(s, s->nodes[node].conn, true, m);
}

static void
node_send_decline(struct sim *s, int node, const struct sim_ev *assign)
{
    struct sim_ev m = msg_make(M_FAIL, assign->set, assign->epoch);
    if (s->nodes[node].conn == 0)
        return;
    m.job = assign->job;
    m.ok = 1; /* "decline": true */
    net_send(s, s->nodes[node].conn, true, m);
}

static void
node_report(struct sim *s, int node, const struct done_work *w)
{
    struct vnode *n = &s->nodes[node];
    tracef(s, n->name, "report %s set %u epoch %" PRIu64,
           w->ok ? "done" : "fail", w->set, w->epoch);
    node_send(s, node, w->ok ? M_DONE : M_FAIL, w->set, w->epoch, w->result,
              w->job);
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
        node_send(s, node, w->ok ? M_DONE : M_FAIL, w->set, w->epoch, w->result,
                  w->job);
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
        node_send(s, node, M_CLOSE, 0, 0, 0, -1);
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
    if (s->core == NULL) {
        /* The ambassador's process is down: refused at once. */
        uint64_t sleep = rng_below(s, n->cbackoff + 1);
        tracef(s, n->name, "cannot connect (refused); retrying");
        if (n->cbackoff < SIM_BACKOFF_CAP_MS)
            n->cbackoff *= 2;
        n->retrying = true;
        node_connect_later(s, node, sleep);
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
    node_send(s, node, M_HELLO, 0, 0, 0, -1);
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
            node_send(s, node, M_DETACH, 0, 0, 0, -1);
            node_disconnect(s, node, true, "ambassador silent");
        } else {
            node_send(s, node, M_HB, 0, 0, 0, -1);
            /* Now and then a late copy of an old report, same session. */
            node_replay(s, node, s->f.replay_ppm / SIM_REPLAY_TICK_DIVISOR);
        }
        break;
    case NS_HANDSHAKE:
        /* Blocked in session_recv: no fence check until the welcome. */
        /* session.c waits the silence limit, then detaches: a hello read
         * later must not pass for the node's death. */
        if (s->now - n->conn_at >= SIM_DEAD_MS) {
            node_send(s, node, M_DETACH, 0, 0, 0, -1);
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
    d.job = w->job;
    d.set = w->set;
    d.epoch = w->epoch;
    d.ok = !(faulting(s) && rng_ppm(s, s->f.render_fail_ppm));
    d.result = 0;
    if (d.ok) {
        struct result *r;
        s->results = xgrow(s->results, &s->capresults, s->nresults + 1,
                           sizeof(*s->results));
        r = &s->results[s->nresults];
        r->job = w->job;
        r->set = w->set;
        r->epoch = w->epoch;
        r->node = e->node;
        r->inc = n->inc;
        r->session = w->session;
        r->corrupt = faulting(s) && rng_ppm(s, s->f.corrupt_ppm);
        s->st.corrupt_made += r->corrupt;
        d.result = s->nresults++;
        s->st.results++;
        file_publish(s, w->job, w->set, w->epoch, e->node, d.result);
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
        /* session_decline_set: the node's state, not the set's fault. */
        node_send_decline(s, node, m);
        return;
    }
    n->active[slot].used = true;
    n->active[slot].cancel = false;
    n->active[slot].job = m->job;
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
    if (m->code == M_CLOSE && n->st == NS_HANDSHAKE) {
        /* The ambassador died before its welcome: the hello's read fails. */
        node_disconnect(s, m->node, false, "connection closed before welcome");
        return;
    }
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
        node_send(s, node, M_CLOSE, 0, 0, 0, -1); /* the kernel's FIN */
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

/* ---- nodeconn (coordinator/nodeconn.c): a socket and heartbeat pump ---- */

static void conn_step(struct sim *s, uint64_t sid);

static void
conn_to_node(struct sim *s, uint64_t sid, int kind, uint32_t set,
             uint64_t epoch, int ok)
{
    struct sim_ev m = msg_make(kind, set, epoch);
    m.ok = ok;
    net_send(s, sid, false, m);
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

/* nodeconn_check_suspect: the loop hears when the node turns silent past
 * suspect_ms, and when it is heard again. */
static void
conn_check_suspect(struct sim *s, uint64_t sid)
{
    struct sess *x = &s->sess[sid];
    bool suspect = s->now - x->last_rx >= SIM_SUSPECT_MS;
    struct sim_ev e;
    if (suspect == x->suspect)
        return;
    x->suspect = suspect;
    e = ev_make(SE_L_EVENT, 0, x->node);
    e.session = sid;
    e.code = LE_SUSPECT;
    e.ok = suspect;
    e.aux = s->now - x->last_rx;
    loop_push(s, e);
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
        conn_close(s, sid, GONE_TIMEOUT, false);
        return;
    }
    if (s->now >= x->next_hb) {
        conn_to_node(s, sid, M_HB, 0, 0, 0);
        x->next_hb = s->now + SIM_HB_MS;
    }
    conn_check_suspect(s, sid);
    /* nodeconn_timeout: the next heartbeat, death or suspicion. */
    t = x->next_hb;
    if (x->last_rx + SIM_DEAD_MS < t)
        t = x->last_rx + SIM_DEAD_MS;
    if (!x->suspect && x->last_rx + SIM_SUSPECT_MS < t)
        t = x->last_rx + SIM_SUSPECT_MS;
    /* Everything due now was done above: a timeout of 0 would make poll()
     * return at once with nothing changed, a busy wait. */
    if (t <= s->now) {
        s->st.spins++;
        sim_fail(s,
                 "session %" PRIu64 " (%s): nodeconn_timeout is 0 with "
                 "nothing due (%s): the thread would spin",
                 sid, node_name(s, x->node),
                 x->suspect ? "suspect" : "not suspect");
        return;
    }
    e = ev_make(SE_C_TICK, t, x->node);
    e.session = sid;
    e.gen = ++x->tick_gen;
    ev_push(s, e);
}

/* The hello arrived: the loop accepted the connection first (amb_accept
 * lists it at once), then hears the handshake. */
static void
conn_start(struct sim *s, uint64_t sid)
{
    struct sess *x = &s->sess[sid];
    struct sim_ev e = ev_make(SE_L_EVENT, 0, x->node);

    x->c_started = true;
    x->c_open = true;
    x->last_rx = s->now;
    x->next_hb = s->now;
    e.session = sid;
    e.code = LE_ACCEPTED;
    loop_push(s, e);
    conn_to_node(s, sid, M_WELCOME, 0, 0, 0);
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
    e.job = m->job;
    switch (m->code) {
    case M_DETACH:
        x->detached = true;
        break;
    case M_CLOSE:
        conn_close(s, m->session, x->detached ? GONE_DETACHED : GONE_CLOSED,
                   !x->detached);
        return;
    case M_DONE:
        e.code = LE_DONE;
        loop_push(s, e);
        break;
    case M_FAIL:
        e.code = LE_FAIL;
        e.ok = m->ok; /* declined */
        loop_push(s, e);
        break;
    default:
        break;
    }
    conn_step(s, m->session);
}

static void
conn_on_cmd(struct sim *s, const struct sim_ev *c)
{
    struct sess *x = &s->sess[c->session];
    struct sim_ev m;
    if (!x->c_open)
        return; /* the thread is gone; its outbox is never read */
    switch (c->code) {
    case NC_ASSIGN:
        /* The manifest names the job. */
        m = msg_make(M_ASSIGN, c->set, c->epoch);
        m.job = c->job;
        net_send(s, c->session, false, m);
        break;
    case NC_RESULT:
        conn_to_node(s, c->session, M_RESULT, c->set, c->epoch, c->ok);
        break;
    case NC_CANCEL:
        conn_to_node(s, c->session, M_CANCEL, c->set, c->epoch, 0);
        break;
    case NC_FINISH:
        conn_to_node(s, c->session, M_ERROR, 0, 0, 0);
        conn_close(s, c->session, GONE_FINISHED, false);
        return;
    default:
        break;
    }
    conn_step(s, c->session);
}

/* ---- the checker thread ---- */

/* A task for the checker; job is the one its path is in. */
static void
checker_submit(struct sim *s, int task, int job, uint64_t sid, uint32_t set,
               uint64_t epoch, int node)
{
    uint64_t start = s->now > s->k_busy ? s->now : s->k_busy;
    struct sim_ev e;
    uint64_t done = share_done(s, -1, start);
    if (task == TASK_CHECK)
        done += rng_range(s, SIM_CHECK_MIN_MS, SIM_CHECK_MAX_MS);
    else if (task == TASK_CONCAT)
        done += rng_range(s, SIM_CONCAT_MIN_MS, SIM_CONCAT_MAX_MS);
    s->k_busy = done;
    e = ev_make(SE_K_DONE, done, node);
    e.code = task;
    e.job = job;
    e.session = sid;
    e.set = set;
    e.epoch = epoch;
    ev_push(s, e);
}

/* The concat reads every counted file of the job. */
static void
checker_concat_done(struct sim *s, const struct sim_ev *t)
{
    struct sim_job *j = &s->jobs[t->job];
    struct sim_ev e = ev_make(SE_L_EVENT, 0, -1);
    for (uint32_t i = 0; i < j->nsets; i++) {
        const struct truth *tr = &j->tr[i];
        const struct file *f =
            tr->acc_valid ? file_find(s, t->job, i, tr->acc_epoch, tr->acc_node)
                          : NULL;
        if (f == NULL || !f->present) {
            sim_fail(s, "job %s set %u is counted but its file is gone",
                     j->job.id, i);
            return;
        }
    }
    tracef(s, "chk", "job %s: concat of %u sets written", j->job.id, j->nsets);
    e.code = LE_CONCATED;
    e.job = t->job;
    e.ok = 1;
    loop_push(s, e);
}

static void
checker_on_done(struct sim *s, const struct sim_ev *t)
{
    struct file *f = file_find(s, t->job, t->set, t->epoch, t->node);
    if (t->code == TASK_CONCAT) {
        checker_concat_done(s, t);
        return;
    }
    if (t->code == TASK_REMOVE) {
        const struct truth *tr = f != NULL ? &s->jobs[t->job].tr[t->set] : NULL;
        if (f == NULL || !f->present)
            return;
        if (tr->acc_valid && tr->acc_epoch == t->epoch &&
            tr->acc_node == t->node)
            sim_fail(s,
                     "job %s set %u: the counted file (epoch %" PRIu64
                     ", node %s) was removed as stale",
                     s->jobs[t->job].job.id, t->set, t->epoch,
                     node_name(s, t->node));
        f->present = false;
        s->st.files_removed++;
        tracef(s, "chk", "removed job %s set %u epoch %" PRIu64 " of %s",
               s->jobs[t->job].job.id, t->set, t->epoch, node_name(s, t->node));
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
        e.job = t->job;
        e.ok = r != NULL && !r->corrupt && r->job == t->job &&
               r->set == t->set && r->epoch == t->epoch;
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
    if (s->w_busy || s->all_over)
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

/* ---- the loop (coordinator/ambassador.c) runs the shipping core ---- */

/* "n3" -> 3; -1 for a name that is no node's. */
static int
loop_node_of(const struct sim *s, const char *name)
{
    return name_index(s, name);
}

/* Did the holder still have the work in hand (rendering or rendered,
 * unreported, not fenced)? Then this reclaim throws work away. */
static bool
reclaim_is_early(const struct sim *s, int job, uint32_t set, uint64_t epoch,
                 int node)
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
            n->active[i].job == job && n->active[i].set == set &&
            n->active[i].epoch == epoch)
            return true;
    for (int i = 0; i < n->nunrep; i++)
        if (n->unrep[i].job == job && n->unrep[i].set == set &&
            n->unrep[i].epoch == epoch)
            return true;
    for (int i = 0; i < n->nawait; i++)
        if (n->await[i].job == job && n->await[i].set == set &&
            n->await[i].epoch == epoch)
            return true;
    return false;
}

static void
loop_on_reclaim(struct sim *s, const struct amb_act *a)
{
    const struct jrec *r = &a->u.rec.r;
    int node = loop_node_of(s, r->node);
    bool early = reclaim_is_early(s, s->cur, r->set, r->epoch, node);
    static const size_t counter[] = {
        [AMB_RECLAIM_DIED] = offsetof(struct stats, reclaim_died),
        [AMB_RECLAIM_NOSESSION] = offsetof(struct stats, reclaim_nosession),
        [AMB_RECLAIM_BACK] = offsetof(struct stats, reclaim_back),
        [AMB_RECLAIM_SILENT] = offsetof(struct stats, reclaim_silent),
        [AMB_RECLAIM_LEASE] = offsetof(struct stats, reclaim_lease),
    };
    /* The sim never requeues by request nor fails a render for the
     * share's I/O error: those would be a bug here. */
    if ((size_t)a->u.rec.why >= sizeof(counter) / sizeof(counter[0])) {
        sim_fail(s, "a reclaim of an unexpected kind %d", (int)a->u.rec.why);
        return;
    }
    (*(uint64_t *)((char *)&s->st + counter[a->u.rec.why]))++;
    s->st.reclaim_live += early;
    /* liveness.h: the node has fenced itself before we reclaim. Safety
     * does not depend on it (the epoch does), so it is a figure unless
     * --strict-timing. */
    if (early && s->strict_timing)
        sim_fail(s,
                 "set %u epoch %" PRIu64 " reclaimed from %s (%s) while it "
                 "could still publish (its fence is %" PRIu64 " ms away)",
                 r->set, r->epoch, node_name(s, node), r->text,
                 s->nodes[node].last_ok + SIM_FENCE_MS - s->now);
}

/* The accept happened: was it for the set's current epoch, inside the
 * running job's epoch range, and for a result rendered for exactly that
 * assignment of that job? */
static void
loop_check_accept(struct sim *s, const struct sim_ev *e,
                  const struct set_info *before, const struct jrec *rec)
{
    struct sim_job *j = core_job(s);
    struct truth *tr;
    const struct result *r;
    const struct file *f;
    uint64_t base;
    bool bk;

    if (j == NULL || e == NULL || e->code != LE_CHECKED ||
        rec->set >= j->nsets || rec->set != e->set || rec->epoch != e->epoch) {
        sim_fail(s,
                 "set %u epoch %" PRIu64 " counted with no check of it "
                 "behind the accept",
                 rec->set, rec->epoch);
        return;
    }
    tr = &j->tr[e->set];
    r = e->aux != NONE ? &s->results[e->aux] : NULL;
    f = r != NULL ? file_find(s, e->job, e->set, e->epoch, r->node) : NULL;
    base = j->job.epoch_base;
    bk = before->alt_name[0] != '\0' && before->alt_epoch == e->epoch;
    if (before->status != SET_PROCESSING ||
        !(bk ? before->alt_checking : before->checking) ||
        (!bk && before->epoch != e->epoch))
        sim_fail(s,
                 "accept of set %u epoch %" PRIu64 " while the set was "
                 "%c at epoch %" PRIu64 " (checking %d)",
                 e->set, e->epoch, (char)before->status, before->epoch,
                 before->checking);
    else if (e->epoch <= base || e->epoch - base >= SIM_JOB_EPOCHS)
        sim_fail(s,
                 "job %s set %u counted at epoch %" PRIu64 ", outside the "
                 "job's epochs (%" PRIu64 ", %" PRIu64 ")",
                 j->job.id, e->set, e->epoch, base, base + SIM_JOB_EPOCHS);
    else if (r == NULL || f == NULL || !f->present)
        sim_fail(s, "set %u epoch %" PRIu64 " accepted with no file", e->set,
                 e->epoch);
    else if (e->job != s->cur || r->job != s->cur)
        sim_fail(s,
                 "job %s set %u epoch %" PRIu64 " counted from a result of "
                 "job %s (%s)",
                 j->job.id, e->set, e->epoch,
                 r->job >= 0 ? s->jobs[r->job].job.id : "?", rec->path);
    else if (r->set != e->set || r->epoch != e->epoch || r->corrupt ||
             !((tr->assign_epoch == e->epoch && r->node == tr->assign_node &&
                r->session == tr->assign_session) ||
               (tr->bk_epoch == e->epoch && r->node == tr->bk_node &&
                r->session == tr->bk_session)))
        sim_fail(s,
                 "set %u epoch %" PRIu64 " accepted a result rendered for "
                 "set %u epoch %" PRIu64 " by %s on session %" PRIu64
                 "%s; the assignment was epoch %" PRIu64 " to %s on "
                 "session %" PRIu64,
                 e->set, e->epoch, r->set, r->epoch, node_name(s, r->node),
                 r->session, r->corrupt ? " (corrupt)" : "", tr->assign_epoch,
                 node_name(s, tr->assign_node), tr->assign_session);
    tr->acc_valid = true;
    tr->acc_epoch = e->epoch;
    tr->acc_node = r != NULL ? r->node : -1;
}

/* Every set Counted and the concat asked for: the checker reads every
 * accepted file. Never for a job that was cancelled or failed. */
static void
loop_concat(struct sim *s, struct sim_job *j)
{
    if (j->cancel_ok || j->stopped) {
        sim_fail(s, "job %s begins its concat after it %s", j->job.id,
                 j->cancel_ok ? "was cancelled" : "failed");
        return;
    }
    if (!set_table_done(s->sets)) {
        sim_fail(s, "job %s begins its concat with %u of %u sets counted",
                 j->job.id, set_table_count(s->sets, SET_COUNTED), j->nsets);
        return;
    }
    j->concat_now = j->concat_ever = true;
    tracef(s, "amb", "job %s: all %u sets counted; concat", j->job.id,
           j->nsets);
    checker_submit(s, TASK_CONCAT, s->cur, 0, 0, 0, -1);
    if (s->cancels && rng_ppm(s, SIM_CANCEL_AT_CONCAT_PPM)) {
        /* Too late: the job is writing its video. */
        struct sim_ev c =
            ev_make(SE_U_CANCEL, s->now + rng_below(s, SIM_CONCAT_MAX_MS), -1);
        c.aux = (uint64_t)s->cur;
        ev_push(s, c);
    }
}

static void
loop_done(struct sim *s, struct sim_job *j)
{
    if (!j->concat_now || j->cancel_ok || j->stopped)
        sim_fail(s, "job %s is done %s", j->job.id,
                 !j->concat_now ? "without a concat"
                 : j->cancel_ok ? "after it was cancelled"
                                : "after it failed");
    j->done = true;
    tracef(s, "amb", "job %s done", j->job.id);
}

static void
loop_send(struct sim *s, const struct amb_act *a)
{
    static const int kinds[] = {
        [AMB_MSG_ASSIGN] = NC_ASSIGN,
        [AMB_MSG_RESULT] = NC_RESULT,
        [AMB_MSG_CANCEL] = NC_CANCEL,
        [AMB_MSG_REFUSE] = NC_FINISH,
    };
    if (a->u.send.msg == AMB_MSG_ASSIGN) {
        struct sim_job *j = core_job(s);
        const struct set_info *si;
        struct truth *tr;
        if (j == NULL || a->u.send.set >= j->nsets) {
            sim_fail(s, "assign of set %u with no job running that has it",
                     a->u.send.set);
            return;
        }
        tr = &j->tr[a->u.send.set];
        si = set_table_get(s->sets, a->u.send.set);
        if (si != NULL && si->alt_name[0] != '\0' &&
            si->alt_epoch == a->u.send.epoch) {
            if (tr->bk_epoch == si->epoch) {
                /* The last backup outlived its first attempt: it is the
                 * set's attempt now, and this one backs it up. */
                tr->assign_epoch = tr->bk_epoch;
                tr->assign_session = tr->bk_session;
                tr->assign_node = tr->bk_node;
            }
            tr->bk_epoch = a->u.send.epoch;
            tr->bk_session = a->session;
            tr->bk_node = s->sess[a->session].node;
        } else {
            tr->assign_epoch = a->u.send.epoch;
            tr->assign_session = a->session;
            tr->assign_node = s->sess[a->session].node;
            tr->bk_epoch = 0;
        }
    }
    cmd_push(s, a->session, kinds[a->u.send.msg], a->u.send.set,
             a->u.send.epoch, a->u.send.ok, s->cur);
}

/* ---- the journal: every record as jrec_encode writes it ---- */

static void
journal_add(struct sim *s, struct sim_job *j, const struct jrec *r)
{
    char *text;
    if (!s->journaling)
        return;
    text = jrec_encode(r);
    if (text == NULL) {
        fprintf(stderr, "sim: out of memory\n");
        exit(2);
    }
    j->journal =
        xgrow(j->journal, &j->capjournal, j->njournal + 1, sizeof(*j->journal));
    j->journal[j->njournal++] = text;
}

static void
journal_clear(struct sim_job *j)
{
    for (size_t i = 0; i < j->njournal; i++)
        free(j->journal[i]);
    j->njournal = 0;
}

/* The snapshot's records as the core hands them over, one at a time. */
struct sim_snap {
    char **recs;
    size_t n, cap;
};

static int
journal_compact_add(const struct jrec *r, void *arg)
{
    struct sim_snap *sn = arg;
    sn->recs = xgrow(sn->recs, &sn->cap, sn->n + 1, sizeof(*sn->recs));
    if ((sn->recs[sn->n] = jrec_encode(r)) == NULL) {
        fprintf(stderr, "sim: out of memory\n");
        exit(2);
    }
    sn->n++;
    return 0;
}

/* Compaction (amb_compact): the core's snapshot replaces the file. Only
 * between loop steps, as after a durable batch. */
static void
journal_compact(struct sim *s, struct sim_job *j)
{
    struct sim_snap sn = {0};
    if (amb_core_snapshot(s->core, journal_compact_add, &sn) == -1) {
        free(sn.recs);
        return;
    }
    journal_clear(j);
    for (size_t i = 0; i < sn.n; i++) {
        if (!s->journaling) {
            free(sn.recs[i]);
            continue;
        }
        j->journal = xgrow(j->journal, &j->capjournal, j->njournal + 1,
                           sizeof(*j->journal));
        j->journal[j->njournal++] = sn.recs[i];
    }
    free(sn.recs);
    s->st.compactions++;
    tracef(s, "amb", "job %s: journal compacted to %zu records", j->job.id,
           sn.n);
}

/* recovery_open: decode and apply every record. 0, or -1 (the seed
 * failed). */
static int
journal_replay(struct sim *s, struct sim_job *j, struct jrec_state *st)
{
    static struct jrec r; /* large; the simulation is single-threaded */
    char err[ERR_MAX];
    for (size_t i = 0; i < j->njournal; i++) {
        if (jrec_decode((const uint8_t *)j->journal[i], strlen(j->journal[i]),
                        &r, err, sizeof(err)) == -1 ||
            jrec_apply(st, &r, err, sizeof(err)) == -1) {
            sim_fail(s,
                     "job %s: its journal does not replay at record %zu of "
                     "%zu (%.200s): %s",
                     j->job.id, i, j->njournal, j->journal[i], err);
            return -1;
        }
    }
    if (st->sets == NULL || st->nsets != j->nsets) {
        sim_fail(s, "job %s: its journal replays to %u sets, not %u", j->job.id,
                 st->nsets, j->nsets);
        return -1;
    }
    s->st.replayed += j->njournal;
    return 0;
}

/* Carry out what the core decided, as ambassador.c does (the journal is
 * kept as records; a deferred action runs at once). e is the loop event
 * that caused them (NULL for a tick or the end of a job); before, the
 * set's entry before it. */
static void
loop_acts(struct sim *s, const struct sim_ev *e, const struct set_info *before,
          const struct amb_act *acts, size_t n)
{
    for (size_t i = 0; i < n && !s->failed; i++) {
        const struct amb_act *a = &acts[i];
        struct sim_job *j = core_job(s);
        int job;
        switch (a->type) {
        case ACT_SEND:
            loop_send(s, a);
            break;
        case ACT_RECORD:
            if (j == NULL) {
                sim_fail(s, "a record with no job running");
                break;
            }
            journal_add(s, j, &a->u.rec.r);
            if (a->u.rec.r.type == JREC_RECLAIM)
                loop_on_reclaim(s, a);
            else if (a->u.rec.r.type == JREC_ACCEPT)
                loop_check_accept(s, e, before, &a->u.rec.r);
            break;
        case ACT_CHECK:
            job = path_job(s, a->u.check.r.path);
            if (job != s->cur || j == NULL)
                sim_fail(s, "job %s checks a result outside its tree: %.200s",
                         j != NULL ? j->job.id : "(none)", a->u.check.r.path);
            else
                checker_submit(s, TASK_CHECK, job, a->session, a->u.check.r.set,
                               a->u.check.r.epoch, s->sess[a->session].node);
            break;
        case ACT_REMOVE:
            job = path_job(s, a->u.path);
            if (e == NULL || job < 0)
                sim_fail(s, "removal of %.200s: no report or job behind it",
                         a->u.path);
            else
                checker_submit(s, TASK_REMOVE, job, a->session, e->set,
                               e->epoch, s->sess[a->session].node);
            break;
        case ACT_CONCAT:
            if (j == NULL)
                sim_fail(s, "a concat with no job running");
            else
                loop_concat(s, j);
            break;
        case ACT_DONE:
            if (j == NULL)
                sim_fail(s, "a job's end with no job running");
            else
                loop_done(s, j);
            break;
        case ACT_LOG:
            if (strstr(a->u.log.text, ": breaker open: ") != NULL)
                s->st.breaker_opens++;
            tracef(s, "amb", "%s", a->u.log.text);
            break;
        case ACT_FORGET:
            break;
        case ACT_EXIT_REPLACED:
            sim_fail(s, "the core exits as replaced: no generation was "
                        "claimed");
            break;
        }
    }
}

/* What the node reported, as nodeconn.c fills it from the done: the path
 * in the tree of the job the node rendered it for. */
static void
loop_result(struct sim *s, struct ev_result *r, int job, uint32_t set,
            uint64_t epoch, int node)
{
    const struct sim_job *j = &s->jobs[job >= 0 ? job : 0];
    uint64_t first, count;
    job_set_range(&j->job, set < j->nsets ? set : 0, &first, &count);
    r->set = set;
    r->epoch = epoch;
    r->frames = count;
    r->bytes = 1;
    snprintf(r->sha256, sizeof(r->sha256), "%s", SIM_SHA256);
    snprintf(r->encoder, sizeof(r->encoder), "%s", SIM_ENCODER);
    snprintf(r->preset, sizeof(r->preset), "%s", SIM_PRESET);
    r->fallback[0] = '\0';
    if (job_result_rel(&j->job, set, epoch, node_name(s, node), r->path,
                       sizeof(r->path)) == -1)
        r->path[0] = '\0';
}

/* The loop event as events.h has it (only the fields its type uses). */
static void
loop_event(struct sim *s, const struct sim_ev *e, struct amb_event *ev)
{
    static const char *const whys[] = {
        [GONE_TIMEOUT] = "heartbeat timeout",
        [GONE_CLOSED] = "connection closed",
        [GONE_DETACHED] = "detached",
        [GONE_FINISHED] = "finished",
    };
    const struct sess *x = e->session != 0 ? &s->sess[e->session] : NULL;
    ev->session = e->session;
    snprintf(ev->name, sizeof(ev->name), "%s",
             e->node >= 0 ? node_name(s, e->node) : "");
    switch (e->code) {
    case LE_ACCEPTED:
        ev->type = EV_ACCEPTED;
        snprintf(ev->u.accepted.peer, sizeof(ev->u.accepted.peer), "%s:%u",
                 node_name(s, x->node), (unsigned)e->session);
        break;
    case LE_HELLO:
        ev->type = EV_HELLO;
        ev->u.hello.slots = s->nodes[x->node].slots;
        snprintf(ev->u.hello.peer, sizeof(ev->u.hello.peer), "%s:%u",
                 node_name(s, x->node), (unsigned)e->session);
        snprintf(ev->u.hello.encoders, sizeof(ev->u.hello.encoders), "%s",
                 SIM_ENCODER);
        snprintf(ev->u.hello.decoder, sizeof(ev->u.hello.decoder), "cpu");
        ev->u.hello.nheld = 0;
        for (int i = 0;
             i < x->nhello && i < CONFIG_MAX_SLOTS && i < LEASE_MAX_HELD; i++) {
            ev->u.hello.held[i].set = x->hello[i].set;
            ev->u.hello.held[i].epoch = x->hello[i].epoch;
            ev->u.hello.nheld++;
        }
        break;
    case LE_SUSPECT:
        ev->type = EV_SUSPECT;
        ev->u.suspect.on = e->ok;
        ev->u.suspect.silent_ms = e->aux;
        break;
    case LE_DONE:
        ev->type = EV_DONE;
        loop_result(s, &ev->u.result, e->job, e->set, e->epoch, x->node);
        break;
    case LE_FAIL:
        ev->type = EV_FAIL;
        ev->u.set.set = e->set;
        ev->u.set.epoch = e->epoch;
        ev->u.set.nospace = 0;
        ev->u.set.decline = e->ok;
        ev->u.set.share_io = 0; /* the sim's share fails renders by hanging */
        snprintf(ev->u.set.text, sizeof(ev->u.set.text), "%s",
                 e->ok ? "no free render slot" : "node error");
        break;
    case LE_GONE:
        ev->type = EV_GONE;
        ev->u.gone.died = e->ok;
        ev->u.gone.trip = e->aux == GONE_TIMEOUT;
        snprintf(ev->u.gone.text, sizeof(ev->u.gone.text), "%s", whys[e->aux]);
        break;
    case LE_CHECKED:
        ev->type = EV_CHECKED;
        loop_result(s, &ev->u.checked.r, e->job, e->set, e->epoch, e->node);
        ev->u.checked.ok = e->ok;
        memset(&ev->u.checked.info, 0, sizeof(ev->u.checked.info));
        snprintf(ev->u.checked.text, sizeof(ev->u.checked.text),
                 "result failed its check");
        break;
    case LE_SHARE:
        ev->type = EV_SHARE;
        ev->u.share.ok = 1;
        ev->u.share.gen = 0;
        ev->u.share.full = 0;
        ev->u.share.free_bytes = SIM_SHARE_FREE;
        break;
    case LE_LEASE: {
        const struct lease_rec *r = &s->leases[e->aux];
        struct lease *l = &ev->u.lease;
        ev->type = EV_LEASE;
        snprintf(l->node, sizeof(l->node), "%s", node_name(s, e->node));
        l->counter = r->counter;
        l->state = r->state == LR_FENCED ? LEASE_FENCED : LEASE_RUNNING;
        l->nheld = 0;
        for (int i = 0; i < r->nheld && i < LEASE_MAX_HELD; i++) {
            l->held[i].set = r->held[i].set;
            l->held[i].epoch = r->held[i].epoch;
            l->nheld++;
        }
        break;
    }
    case LE_CONCATED:
        ev->type = EV_CONCATED;
        memset(&ev->u.concated, 0, sizeof(ev->u.concated));
        ev->u.concated.ok = 1;
        ev->u.concated.frames = s->jobs[e->job].frames.count;
        break;
    default:
        break;
    }
}

static void
loop_step(struct sim *s, const struct sim_ev *e, const struct amb_event *ev)
{
    struct set_info before;
    const struct amb_act *acts;
    const struct sim_job *j = core_job(s);
    size_t n;
    if (e != NULL && j != NULL && e->set < j->nsets)
        before = *set_table_get(s->sets, e->set);
    else
        memset(&before, 0, sizeof(before));
    acts = amb_core_step(s->core, ev, s->now, &n);
    loop_acts(s, e, &before, acts, n);
    /* A check of the running job that passed must be counted: the set
     * cannot move while its check runs. */
    if (e != NULL && e->code == LE_CHECKED && e->ok && !s->failed &&
        j != NULL && e->job == s->cur &&
        set_table_get(s->sets, e->set)->status != SET_COUNTED)
        sim_fail(s,
                 "set %u epoch %" PRIu64 ": check passed but the set "
                 "moved on (%c at epoch %" PRIu64 ")",
                 e->set, e->epoch, (char)before.status, before.epoch);
}

/* A tick of the loop: the timed rules and dispatch. */
static void
loop_tick(struct sim *s)
{
    s->loop_ev.type = EV_TICK;
    s->loop_ev.session = 0;
    loop_step(s, NULL, &s->loop_ev);
}

/* EV_CANCEL (amb_job_cancel): the loop asks the core to stop the job. */
static void
loop_cancel(struct sim *s, const struct sim_ev *e)
{
    struct sim_job *j = &s->jobs[e->job];
    bool can;
    int r;
    if (e->job != s->cur || !j->in_core) {
        s->st.cancel_lost++;
        tracef(s, "amb", "cancel of job %s: it is not running", j->job.id);
        return;
    }
    can = !j->stopped && !j->concat_now && !j->done;
    r = amb_core_cancel(s->core, "by request");
    if ((r == 0) != can) {
        sim_fail(s, "job %s: amb_core_cancel returned %d with %s", j->job.id, r,
                 j->concat_now ? "its concat begun"
                 : j->stopped  ? "the job stopped already"
                               : "the job running");
        return;
    }
    if (r == 0)
        j->cancel_ok = true;
    else
        s->st.cancel_refused++;
    tracef(s, "amb", "job %s: cancel %s", j->job.id,
           r == 0 ? "taken" : "refused (writing its video)");
}

static void
loop_on_event(struct sim *s, const struct sim_ev *e)
{
    if (e->code == LE_CANCEL) {
        loop_cancel(s, e);
        return;
    }
    if (e->code == LE_CONCATED && (e->job != s->cur || core_job(s) == NULL)) {
        sim_fail(s, "the concat of job %s ends while it is not running",
                 s->jobs[e->job].job.id);
        return;
    }
    if (e->code == LE_CHECKED && e->job != s->cur)
        s->st.old_checks++;
    loop_event(s, e, &s->loop_ev);
    loop_step(s, e, &s->loop_ev);
}

/* ---- invariants ---- */

static void
inv_scan(struct sim *s)
{
    struct sim_job *j = core_job(s);
    uint32_t counted = 0;
    uint64_t base;
    if (j == NULL)
        return;
    base = j->job.epoch_base;
    for (uint32_t i = 0; i < j->nsets && !s->failed; i++) {
        const struct set_info *si = set_table_get(s->sets, i);
        struct truth *tr = &j->tr[i];
        if (si->epoch < base || si->epoch - base >= SIM_JOB_EPOCHS)
            sim_fail(s,
                     "job %s set %u: epoch %" PRIu64 " outside the job's "
                     "epochs [%" PRIu64 ", %" PRIu64 ")",
                     j->job.id, i, si->epoch, base, base + SIM_JOB_EPOCHS);
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

/* The running job is over (done, stopped or cancelled): check it while
 * the core still has its table. */
static void
inv_job_end(struct sim *s, struct sim_job *j)
{
    if (s->failed)
        return;
    if (j->done) {
        for (uint32_t i = 0; i < j->nsets; i++)
            if (j->tr[i].times_counted != 1)
                sim_fail(s, "job %s done but set %u was counted %u times",
                         j->job.id, i, j->tr[i].times_counted);
        if (!s->failed && set_table_count(s->sets, SET_COUNTED) != j->nsets)
            sim_fail(s, "job %s done with %u of %u sets counted", j->job.id,
                     set_table_count(s->sets, SET_COUNTED), j->nsets);
        return;
    }
    if (j->concat_now) {
        sim_fail(s, "job %s stopped (\"%s\") during its concat", j->job.id,
                 j->report);
        return;
    }
    if (j->cancel_ok) {
        if (strcmp(j->report, "cancelled by request") != 0)
            sim_fail(s, "job %s cancelled with report \"%s\"", j->job.id,
                     j->report);
        return;
    }
    {
        const struct set_info *i = set_table_get(s->sets, j->stop_set);
        if (j->report[0] == '\0' || i == NULL ||
            !(i->nfailed_on >= SIM_MAX_NODES_PER_SET ||
              i->failures >= SIM_MAX_FAILURES_PER_SET ||
              i->reclaims >= SIM_MAX_RECLAIMS_PER_SET))
            sim_fail(s, "job %s stopped without a valid report (\"%s\")",
                     j->job.id, j->report);
    }
}

/* A set's entry as amb_core_end_job found it. */
struct end_set {
    enum set_status status;
    bool checking;
    uint64_t epoch, holder;
    bool alt, alt_checking; /* a backup running */
    uint64_t alt_epoch, alt_holder;
};

/* amb_core_end_job cancels exactly what nodes still hold of the job: a
 * set in B, not being checked, at its epoch, on the session that holds
 * it; and every such set whose session is still open. */
static void
inv_end_cancels(struct sim *s, const struct sim_job *j, struct end_set *es,
                const struct amb_act *acts, size_t n)
{
    bool *sent = calloc(j->nsets, sizeof(*sent));
    if (sent == NULL) {
        fprintf(stderr, "sim: out of memory\n");
        exit(2);
    }
    for (size_t i = 0; i < n && !s->failed; i++) {
        const struct amb_act *a = &acts[i];
        uint32_t set;
        if (a->type != ACT_SEND || a->u.send.msg != AMB_MSG_CANCEL)
            continue;
        set = a->u.send.set;
        s->st.end_cancels++;
        if (set < j->nsets && es[set].alt && !es[set].alt_checking &&
            es[set].alt_epoch == a->u.send.epoch &&
            es[set].alt_holder == a->session) {
            es[set].alt = false; /* its backup, cancelled */
            continue;
        }
        if (set >= j->nsets || es[set].status != SET_PROCESSING ||
            es[set].checking || es[set].epoch != a->u.send.epoch ||
            es[set].holder != a->session)
            sim_fail(s,
                     "job %s ends: cancel of set %u epoch %" PRIu64
                     " on session %" PRIu64 ", which does not hold it",
                     j->job.id, set, a->u.send.epoch, a->session);
        else
            sent[set] = true;
    }
    for (uint32_t i = 0; i < j->nsets && !s->failed; i++) {
        uint64_t h = es[i].holder;
        if (es[i].status == SET_PROCESSING && !es[i].checking && h > 0 &&
            h < s->nsess && s->sess[h].c_open && !sent[i])
            sim_fail(s,
                     "job %s ends but set %u epoch %" PRIu64 " is left "
                     "with session %" PRIu64 " (%s), not cancelled",
                     j->job.id, i, es[i].epoch, h,
                     node_name(s, s->sess[h].node));
        h = es[i].alt_holder;
        if (!s->failed && es[i].alt && !es[i].alt_checking && h > 0 &&
            h < s->nsess && s->sess[h].c_open)
            sim_fail(s,
                     "job %s ends but set %u's backup at epoch %" PRIu64
                     " is left with session %" PRIu64 ", not cancelled",
                     j->job.id, i, es[i].alt_epoch, h);
    }
    free(sent);
}

/* Not over by the budget: say what is left, and where. */
static void
inv_stuck(struct sim *s)
{
    char what[SIM_WHY_MAX] = "";
    size_t n = 0;
    struct sim_job *j = core_job(s);
    for (int k = 0; k < s->njobs && n < sizeof(what) / 2; k++) {
        static const char *const states[] = {
            [JS_FUTURE] = "future",   [JS_QUEUED] = "queued",
            [JS_RUNNING] = "running", [JS_DONE] = "done",
            [JS_STOPPED] = "stopped", [JS_CANCELLED] = "cancelled",
        };
        int w = snprintf(what + n, sizeof(what) - n, " job %s %s;",
                         s->jobs[k].job.id, states[s->jobs[k].state]);
        if (w < 0)
            break;
        n += (size_t)w;
    }
    for (uint32_t i = 0; j != NULL && i < j->nsets && n < sizeof(what) / 2;
         i++) {
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
    sim_fail(s, "stuck after %" PRIu64 " s virtual:%s", s->now / MS_PER_S,
             what);
}

/* ---- the service (coordinator/service.c) runs jobs one after another ---- */

/* The core's counts since its last start_job (they restart there). */
static void
sim_core_stats(struct sim *s)
{
    const struct amb_stats *c;
    if (s->core == NULL)
        return;
    c = amb_core_stats(s->core);
    s->st.counted += c->counted;
    s->st.assigned += c->assigned;
    s->st.declined += c->declined;
    s->st.reattached += c->reattached;
    s->st.backups += c->backups;
    s->st.backups_won += c->backups_won;
    s->st.cancels += c->cancelled;
    s->st.stale += c->stale_results;
    s->st.duplicates += c->duplicates;
    s->st.rejected += c->rejected_results;
    s->st.failures += c->failures;
    s->st.refused += c->refused;
}

static void
sim_all_over(struct sim *s)
{
    s->all_over = true;
    for (int k = 0; k < s->njobs; k++)
        if (s->jobs[k].state < JS_DONE)
            s->all_over = false;
}

/* amb_job_over: the job's journal is done with, end_job's actions (the
 * cancels of what nodes still hold) are carried out, the core is idle. */
static void
sim_job_over(struct sim *s, struct sim_job *j)
{
    struct end_set *es = malloc(j->nsets * sizeof(*es));
    const struct amb_act *acts;
    size_t n;

    if (es == NULL) {
        fprintf(stderr, "sim: out of memory\n");
        exit(2);
    }
    inv_job_end(s, j);
    for (uint32_t i = 0; i < j->nsets; i++) {
        const struct set_info *si = set_table_get(s->sets, i);
        es[i].status = si->status;
        es[i].checking = si->checking != 0;
        es[i].epoch = si->epoch;
        es[i].holder = si->holder;
        es[i].alt = si->alt_name[0] != '\0';
        es[i].alt_checking = si->alt_checking != 0;
        es[i].alt_epoch = si->alt_epoch;
        es[i].alt_holder = si->alt_holder;
    }
    tracef(s, "amb", "job %s over: %s", j->job.id,
           j->done ? "done" : j->report);
    acts = amb_core_end_job(s->core, s->now, &n);
    inv_end_cancels(s, j, es, acts, n);
    loop_acts(s, NULL, NULL, acts, n);
    free(es);
    if (amb_core_job(s->core) != NULL || amb_core_sets(s->core) != NULL)
        sim_fail(s, "amb_core_end_job left the core with a job");
    j->in_core = false;
    j->concat_now = false;
    j->state = j->done ? JS_DONE : JS_STOPPED;
    s->cur = -1;
    s->sets = NULL;
    s->st.completed += j->done;
    s->st.cancelled += !j->done && j->cancel_ok;
    s->st.stopped += !j->done && !j->cancel_ok;
    sim_all_over(s);
}

static void
svc_count_node(const struct amb_node_view *v, void *arg)
{
    *(int *)arg += v->hello != 0;
}

/* The next job must be the one that was running when the ambassador
 * died, else the first by priority, then submission order (the rule
 * written out here, not jobq_before). */
static void
inv_order(struct sim *s, int pick)
{
    const struct sim_job *p = &s->jobs[pick];
    if (s->resume >= 0 && pick != s->resume) {
        sim_fail(s,
                 "after the restart job %s starts before job %s, which was "
                 "running",
                 p->job.id, s->jobs[s->resume].job.id);
        return;
    }
    if (p->state != JS_QUEUED)
        return;
    for (int k = 0; k < s->njobs; k++) {
        const struct sim_job *q = &s->jobs[k];
        if (k == pick || q->state != JS_QUEUED)
            continue;
        if (q->prio > p->prio || (q->prio == p->prio && q->seq < p->seq))
            sim_fail(s,
                     "job %s (priority %d, number %" PRIu64 ") starts before "
                     "job %s (priority %d, number %" PRIu64 ")",
                     p->job.id, p->prio, p->seq, q->job.id, q->prio, q->seq);
    }
}

/* svc_runner and svc_pick: with the core idle, the job that was running
 * when the last ambassador stopped, else the first queued one by
 * jobq_before once a node is there; prepared, then handed to the loop. */
static void
svc_next(struct sim *s)
{
    int pick = -1;
    struct sim_ev e;
    if (s->core == NULL || s->cur >= 0 || s->failed)
        return;
    for (int k = 0; k < s->njobs; k++) {
        const struct sim_job *j = &s->jobs[k];
        if (j->state == JS_RUNNING) {
            pick = k;
            break;
        }
        if (j->state == JS_QUEUED &&
            (pick < 0 || jobq_before(j->prio, j->seq, s->jobs[pick].prio,
                                     s->jobs[pick].seq)))
            pick = k;
    }
    if (pick < 0)
        return;
    if (s->jobs[pick].state == JS_QUEUED) {
        int nodes = 0;
        amb_core_nodes(s->core, svc_count_node, &nodes);
        if (nodes == 0)
            return;
    }
    inv_order(s, pick);
    s->resume = -1;
    s->cur = pick;
    s->jobs[pick].state = JS_RUNNING;
    s->launching = true;
    tracef(s, "svc", "job %s: starting (number %" PRIu64 ", priority %d)",
           s->jobs[pick].job.id, s->jobs[pick].seq, s->jobs[pick].prio);
    e = ev_make(SE_S_LAUNCH, s->now + rng_below(s, SIM_PREP_MAX_MS + 1), -1);
    e.job = pick;
    ev_push(s, e);
}

/* recovery_open and recovery_begin: replay the job's journal when it has
 * one, else journal the job record; then the generation. The state the
 * core starts from. 0, or -1 (the seed failed). */
static int
svc_prepare(struct sim *s, struct sim_job *j, struct jrec_state *st)
{
    static struct jrec r; /* large; the simulation is single-threaded */
    char err[ERR_MAX];
    memset(st, 0, sizeof(*st));
    if (j->njournal > 0) {
        if (journal_replay(s, j, st) == -1)
            return -1;
        s->st.resumed++;
        tracef(s, "svc", "job %s: resumed from %zu journal records", j->job.id,
               j->njournal);
    } else {
        memset(&r, 0, sizeof(r));
        r.type = JREC_JOB;
        snprintf(r.job, sizeof(r.job), "%s", j->job.id);
        r.sets = j->nsets;
        r.frames = j->frames.count;
        r.gen = s->cfg.gen;
        r.epoch = j->job.epoch_base;
        journal_add(s, j, &r);
        if (jrec_apply(st, &r, err, sizeof(err)) == -1) {
            sim_fail(s, "job %s: its job record does not apply: %s", j->job.id,
                     err);
            return -1;
        }
    }
    memset(&r, 0, sizeof(r));
    r.type = JREC_GEN;
    r.gen = s->cfg.gen;
    journal_add(s, j, &r);
    return jrec_apply(st, &r, err, sizeof(err));
}

/* amb_job_begin: the core takes the job (one-shot: a new core with it, as
 * a one-job ambassador starts). */
static void
svc_launch(struct sim *s, int job, bool oneshot)
{
    struct sim_job *j = &s->jobs[job];
    struct jrec_state st;
    s->launching = false;
    s->resume = -1;
    if (svc_prepare(s, j, &st) == -1) {
        jrec_state_fini(&st);
        return;
    }
    sim_core_stats(s); /* start_job restarts the core's counts */
    if (oneshot) {
        amb_core_free(s->core);
        s->core = amb_core_new(&s->cfg, &j->job, &st, s->now);
    }
    if (s->core == NULL ||
        (!oneshot && amb_core_start_job(s->core, &j->job, &st, s->now) == -1)) {
        fprintf(stderr, "sim: out of memory\n");
        exit(2);
    }
    jrec_state_fini(&st);
    j->in_core = true;
    j->concat_now = false;
    s->cur = job;
    s->sets = amb_core_sets(s->core);
    if (amb_core_job(s->core) != &j->job || s->sets == NULL ||
        set_table_size(s->sets) != j->nsets)
        sim_fail(s, "job %s handed to the core, which runs %s", j->job.id,
                 amb_core_job(s->core) != NULL ? amb_core_job(s->core)->id
                                               : "nothing");
    tracef(s, "amb", "job %s: %u sets, epochs from %" PRIu64, j->job.id,
           j->nsets, j->job.epoch_base);
}

/* The loop's turn is over (ambassador_serve): a job that is over ends;
 * the service goes on to the next. */
static void
loop_after(struct sim *s)
{
    struct sim_job *j = core_job(s);
    if (s->failed)
        return;
    if (j != NULL && !j->stopped && amb_core_failed(s->core)) {
        j->stopped = true;
        j->stop_set = amb_core_stop_set(s->core);
        snprintf(j->report, sizeof(j->report), "%s", amb_core_report(s->core));
    }
    if (j != NULL && (j->done || j->stopped))
        sim_job_over(s, j);
    else if (j != NULL && s->journaling && rng_ppm(s, SIM_COMPACT_PPM))
        journal_compact(s, j);
    if (!s->oneshot)
        svc_next(s);
}

static void
svc_on_submit(struct sim *s, const struct sim_ev *e)
{
    struct sim_job *j = &s->jobs[e->job];
    if (s->core == NULL) {
        /* framefarm submit finds no ambassador: the lab tries again. */
        struct sim_ev again = *e;
        again.at = s->now + SIM_RESUBMIT_MS;
        ev_push(s, again);
        return;
    }
    j->seq = s->next_seq++;
    j->job.epoch_base = j->seq << JOB_EPOCH_SHIFT;
    j->arrive = s->now;
    j->state = JS_QUEUED;
    tracef(s, "svc", "job %s submitted: %u sets, priority %d, number %" PRIu64,
           j->job.id, j->nsets, j->prio, j->seq);
    svc_next(s);
}

/* framefarm cancel: a queued job is dropped by the service, a running
 * one is stopped by the loop (EV_CANCEL). */
static void
svc_on_cancel(struct sim *s, const struct sim_ev *e)
{
    int k = e->aux == NONE ? s->cur : (int)e->aux;
    struct sim_job *j;
    struct sim_ev c;
    if (s->core == NULL || k < 0)
        return;
    j = &s->jobs[k];
    if (j->state == JS_QUEUED) {
        j->state = JS_CANCELLED;
        s->st.queued_cancels++;
        tracef(s, "svc", "job %s: cancelled while queued", j->job.id);
        sim_all_over(s);
        return;
    }
    if (j->state != JS_RUNNING)
        return;
    c = ev_make(SE_L_EVENT, 0, -1);
    c.code = LE_CANCEL;
    c.job = k;
    loop_push(s, c);
}

/* ---- the ambassador's process dies, and starts again ---- */

static bool
host_event(int kind)
{
    switch (kind) {
    case SE_C_TICK:
    case SE_C_CMD:
    case SE_L_EVENT:
    case SE_L_TICK:
    case SE_W_POLL:
    case SE_W_DONE:
    case SE_K_DONE:
    case SE_S_LAUNCH:
        return true;
    default:
        return false;
    }
}

static void
amb_crash(struct sim *s, uint64_t down)
{
    size_t k = 0;
    struct sim_ev e;
    if (s->core == NULL)
        return;
    s->st.amb_crashes++;
    tracef(s, "amb",
           "CRASH (the ambassador's process is killed; back in "
           "%" PRIu64 " ms)",
           down);
    sim_core_stats(s);
    amb_core_free(s->core);
    s->core = NULL;
    s->sets = NULL;
    if (s->cur >= 0) {
        /* The queue's record says running: it resumes first. */
        s->jobs[s->cur].in_core = false;
        s->jobs[s->cur].concat_now = false;
        s->resume = s->cur;
    }
    s->cur = -1;
    s->launching = false;
    /* The kernel closes its sockets. */
    for (uint64_t sid = 1; sid < s->nsess; sid++) {
        struct sess *x = &s->sess[sid];
        if (!x->c_open && x->c_started)
            continue;
        if (s->nodes[x->node].conn == sid)
            conn_to_node(s, sid, M_CLOSE, 0, 0, 0);
        x->c_open = false;
        x->c_started = true;
        x->tick_gen++;
    }
    /* Its threads and queues go with it. */
    for (size_t i = 0; i < s->nheap; i++)
        if (!host_event(s->heap[i].kind))
            s->heap[k++] = s->heap[i];
    s->nheap = k;
    for (size_t i = k / 2; i-- > 0;)
        ev_sift_down(s, i);
    s->w_busy = false;
    s->k_busy = s->now;
    s->loop_last = s->now;
    e = ev_make(SE_A_START, s->now + down, -1);
    ev_push(s, e);
}

static void
amb_start(struct sim *s)
{
    s->cfg.gen++;
    tracef(s, "amb", "the ambassador starts again (generation %" PRIu64 ")",
           s->cfg.gen);
    ev_push(s, ev_make(SE_W_POLL, s->now, -1));
    ev_push(s, ev_make(SE_L_TICK, s->now + SIM_AMB_TICK_MS, -1));
    if (s->oneshot) {
        /* main: recovery first, then the loop with the job. */
        svc_launch(s, 0, true);
        return;
    }
    s->core = amb_core_new(&s->cfg, NULL, NULL, s->now);
    if (s->core == NULL) {
        fprintf(stderr, "sim: out of memory\n");
        exit(2);
    }
    svc_next(s);
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

/* Job k of nsets sets of SIM_SET_FRAMES frames; its number, and so its
 * epoch base, comes at submit. */
static void
sim_job_setup(struct sim *s, int k, uint32_t nsets)
{
    struct sim_job *j = &s->jobs[k];
    const char **names;
    snprintf(j->job.id, sizeof(j->job.id), "j%d", k);
    snprintf(j->job.share, sizeof(j->job.share), "/share");
    snprintf(j->job.output, sizeof(j->job.output), "/share/out-%d.mp4", k);
    j->job.set_size = SIM_SET_FRAMES;
    j->job.nsets = j->nsets = nsets;
    j->frames.count = (size_t)nsets * SIM_SET_FRAMES;
    j->frame = calloc(j->frames.count, sizeof(*j->frame));
    j->frames.frames = j->frame;
    j->job.frames = &j->frames;
    j->tr = calloc(nsets, sizeof(*j->tr));
    j->file_head = malloc(nsets * sizeof(*j->file_head));
    names = calloc(j->frames.count, sizeof(*names));
    if (j->frame == NULL || j->tr == NULL || j->file_head == NULL ||
        names == NULL) {
        fprintf(stderr, "sim: out of memory\n");
        exit(2);
    }
    for (size_t i = 0; i < j->frames.count; i++)
        names[i] = sim_frame_name;
    if (zipf_listing_set_names(&j->frames, names) == -1) {
        fprintf(stderr, "sim: out of memory\n");
        exit(2);
    }
    free(names);
    for (uint32_t i = 0; i < nsets; i++)
        j->file_head[i] = NONE;
    j->prio = (int)rng_below(s, SIM_PRIORITIES);
    j->state = JS_FUTURE;
}

/* Jobs submitted up front or later, cancels, ambassador crashes. */
static void
sim_schedule_jobs(struct sim *s)
{
    uint64_t k;
    s->next_seq = rng_below(s, SIM_FIRST_SEQ_MAX + 1);
    if (s->oneshot) {
        /* A one-job ambassador: its job is there from the start. */
        s->jobs[0].seq = 0;
        s->jobs[0].state = JS_RUNNING;
        return;
    }
    for (int i = 0; i < s->njobs; i++) {
        struct sim_ev e = ev_make(
            SE_U_SUBMIT,
            rng_ppm(s, SIM_UPFRONT_PPM) ? 0 : rng_below(s, s->f.until), -1);
        e.job = i;
        ev_push(s, e);
    }
    if (s->f.calm)
        return;
    if (rng_ppm(s, SIM_CANCEL_PPM)) {
        s->cancels = true;
        k = rng_range(s, 1, SIM_CANCELS_MAX);
        for (uint64_t i = 0; i < k; i++) {
            struct sim_ev e =
                ev_make(SE_U_CANCEL, rng_below(s, s->f.until), -1);
            e.aux = rng_ppm(s, SIM_CANCEL_RUNNING_PPM)
                        ? NONE
                        : rng_below(s, (uint64_t)s->njobs);
            ev_push(s, e);
        }
    }
}

static void
sim_schedule_amb_crashes(struct sim *s)
{
    uint64_t k;
    if (s->f.calm || !rng_ppm(s, SIM_AMB_CRASH_PPM))
        return;
    s->journaling = true;
    k = rng_range(s, 1, SIM_AMB_CRASHES_MAX);
    for (uint64_t i = 0; i < k; i++) {
        struct sim_ev e = ev_make(SE_F_AMB_CRASH, rng_below(s, s->f.until), -1);
        e.aux = rng_range(s, SIM_AMB_DOWN_MIN_MS, SIM_AMB_DOWN_MAX_MS);
        ev_push(s, e);
        s->budget_ms += SIM_AMB_DOWN_MAX_MS + SIM_GRACE_MS;
    }
}

static void
sim_setup(struct sim *s, uint64_t seed, const struct sim_opts *o)
{
    uint32_t slots = 0;
    int nnodes = o->nnodes;
    memset(s, 0, sizeof(*s));
    s->tracing = o->tracing || o->verbose;
    s->verbose = o->verbose;
    s->strict_timing = o->strict_timing;
    s->seed = seed;
    s->rng = seed;
    s->trace_hash = FNV_OFFSET;
    s->cur = -1;
    s->resume = -1;
    s->njobs = o->njobs != 0 ? o->njobs
               : rng_ppm(s, SIM_ONE_JOB_PPM)
                   ? 1
                   : (int)rng_range(s, 2, SIM_MAX_JOBS);
    /* A single job runs as a one-job ambassador half the time. */
    s->oneshot = s->njobs == 1 && rng_ppm(s, SIM_ONESHOT_PPM);
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
    /* The ambassador's core, configured as DESIGN.md §5 at full scale,
     * on jobs of SIM_SET_FRAMES frames a set; the seed's sets shared out
     * among its jobs. */
    config_defaults(&s->cfg);
    s->cfg.gen = 1;
    snprintf(s->cfg.output, sizeof(s->cfg.output), "/share/out.mp4");
    for (int k = 0; k < s->njobs; k++) {
        uint32_t nsets =
            o->nsets != 0 ? o->nsets
            : rng_ppm(s, SIM_SMALL_JOB_PPM)
                ? (uint32_t)rng_range(s, 1, SIM_SMALL_SETS)
                : (uint32_t)rng_range(s, 1, SIM_MAX_SETS / (uint32_t)s->njobs);
        sim_job_setup(s, k, nsets);
        s->nsets += nsets;
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
    /* The last fault ends by until + the longest one, the last job is
     * submitted by until; then the jobs must finish within twice their
     * serial time plus a generous slack (and each ambassador crash's
     * time down and its nodes' grace). */
    s->budget_ms = s->f.until + SIM_LONGEST_FAULT_MS +
                   2 * (uint64_t)s->nsets * SIM_RENDER_MAX_MS / slots +
                   (uint64_t)s->njobs * SIM_PREP_MAX_MS + SIM_SLACK_MS;
    sim_schedule_jobs(s);
    sim_schedule_amb_crashes(s);
    for (int i = 0; i < s->nnodes; i++) {
        struct sim_ev e =
            ev_make(SE_N_START, rng_below(s, SIM_NODE_START_SPREAD_MS), i);
        ev_push(s, e);
    }
    ev_push(s, ev_make(SE_W_POLL, 0, -1));
    ev_push(s, ev_make(SE_L_TICK, SIM_AMB_TICK_MS, -1));
    tracef(s, "SIM",
           "seed %" PRIu64 ": %d job(s)%s, %u sets, %d nodes (%u slots)%s; "
           "faults until %" PRIu64 " s: drop %u late %u dup %u corrupt %u "
           "fail %u stale %u torn %u replay %u ppm%s%s",
           seed, s->njobs, s->oneshot ? " (one-job ambassador)" : "", s->nsets,
           s->nnodes, slots, s->f.calm ? ", calm" : "", s->f.until / MS_PER_S,
           s->f.drop_ppm, s->f.late_ppm, s->f.dup_ppm, s->f.corrupt_ppm,
           s->f.render_fail_ppm, s->f.stale_ppm, s->f.torn_ppm, s->f.replay_ppm,
           s->f.reorder ? ", reordering" : "",
           s->journaling ? ", ambassador crashes" : "");
    for (int k = 0; k < s->njobs; k++)
        tracef(s, "SIM", "job %s: %u sets, priority %d", s->jobs[k].job.id,
               s->jobs[k].nsets, s->jobs[k].prio);
    if (s->oneshot) {
        svc_launch(s, 0, true);
    } else {
        s->core = amb_core_new(&s->cfg, NULL, NULL, 0);
        if (s->core == NULL) {
            fprintf(stderr, "sim: out of memory\n");
            exit(2);
        }
    }
}

static void
sim_teardown(struct sim *s)
{
    for (int i = 0; i < SIM_MAX_NODES; i++)
        free(s->nodes[i].deferred);
    amb_core_free(s->core);
    for (int k = 0; k < s->njobs; k++) {
        struct sim_job *j = &s->jobs[k];
        free(j->frame);
        free(j->frames.names);
        free(j->tr);
        free(j->file_head);
        journal_clear(j);
        free(j->journal);
    }
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
    case SE_F_AMB_CRASH:
        amb_crash(s, e->aux);
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
        loop_on_event(s, e);
        if (!s->failed)
            loop_tick(s);
        loop_after(s);
        break;
    case SE_L_TICK:
        loop_tick(s);
        loop_after(s);
        ev_push(s, ev_make(SE_L_TICK, s->now + SIM_AMB_TICK_MS, -1));
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
    case SE_A_START:
        amb_start(s);
        break;
    case SE_S_LAUNCH:
        svc_launch(s, e->job, false);
        break;
    case SE_U_SUBMIT:
        svc_on_submit(s, e);
        break;
    case SE_U_CANCEL:
        svc_on_cancel(s, e);
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
        [SE_K_DONE] = "checker",       [SE_F_AMB_CRASH] = "amb-crash",
        [SE_A_START] = "amb-start",    [SE_S_LAUNCH] = "launch",
        [SE_U_SUBMIT] = "submit",      [SE_U_CANCEL] = "cancel",
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
    };
    static const char *const loops[] = {
        [LE_ACCEPTED] = "accepted", [LE_HELLO] = "hello",
        [LE_SUSPECT] = "suspect",   [LE_DONE] = "done",
        [LE_FAIL] = "fail",         [LE_GONE] = "gone",
        [LE_CHECKED] = "checked",   [LE_SHARE] = "share",
        [LE_LEASE] = "lease",       [LE_CONCATED] = "concated",
        [LE_CANCEL] = "cancel",
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
    tracef(s, "ev",
           "%s%s%s node %s session %" PRIu64 " set %u epoch %" PRIu64 "%s%s",
           kinds[e->kind], what[0] != '\0' ? " " : "", what,
           e->node >= 0 ? node_name(s, e->node) : "-", e->session, e->set,
           e->epoch, e->job >= 0 ? " job " : "",
           e->job >= 0 ? s->jobs[e->job].job.id : "");
}

static void
sim_run(struct sim *s)
{
    while (s->nheap > 0 && !s->failed && !s->all_over) {
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
    if (!s->failed && !s->all_over)
        inv_stuck(s);
    sim_core_stats(s);
    s->st.jobs += (uint64_t)s->njobs;
    if (!s->failed && s->f.calm &&
        (s->st.completed != (uint64_t)s->njobs || s->st.failures > 0 ||
         s->st.stale > 0 || s->st.duplicates > 0 || s->st.declined > 0 ||
         s->st.rejected > 0))
        sim_fail(s,
                 "a seed without faults did not run clean: %" PRIu64
                 " of %d jobs done, failures %" PRIu64 ", stale %" PRIu64
                 ", duplicates %" PRIu64 ", declined %" PRIu64
                 ", rejected %" PRIu64,
                 s->st.completed, s->njobs, s->st.failures, s->st.stale,
                 s->st.duplicates, s->st.declined, s->st.rejected);
    tracef(s, "SIM",
           "end: %s after %" PRIu64 " events, %" PRIu64 " s virtual: %" PRIu64
           " job(s) done, %" PRIu64 " stopped, %" PRIu64 " cancelled",
           s->failed ? "FAILED" : "all jobs over", s->events, s->now / MS_PER_S,
           s->st.completed, s->st.stopped,
           s->st.cancelled + s->st.queued_cancels);
}

static void
stats_add(struct stats *a, const struct sim *s)
{
    const struct stats *b = &s->st;
    a->seeds++;
    a->failed += s->failed;
    a->calm += s->f.calm;
    a->sets += s->nsets;
    a->events += s->events;
    a->virtual_ms += s->now;
#define ADD(f) a->f += b->f
    ADD(jobs);
    ADD(completed);
    ADD(stopped);
    ADD(cancelled);
    ADD(queued_cancels);
    ADD(cancel_refused);
    ADD(cancel_lost);
    ADD(amb_crashes);
    ADD(resumed);
    ADD(replayed);
    ADD(compactions);
    ADD(end_cancels);
    ADD(old_checks);
    ADD(counted);
    ADD(assigned);
    ADD(declined);
    ADD(reattached);
    ADD(backups);
    ADD(backups_won);
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
    printf("sim:   jobs: %" PRIu64 ": %" PRIu64 " done, %" PRIu64
           " stopped with a report, %" PRIu64 " cancelled running (%" PRIu64
           " cancels refused during the concat, %" PRIu64
           " came before the job reached the loop), %" PRIu64
           " cancelled queued; %" PRIu64 " seeds without faults; %" PRIu64
           " sets, %.1f h virtual, %" PRIu64 " events\n",
           t->jobs, t->completed, t->stopped, t->cancelled, t->cancel_refused,
           t->cancel_lost, t->queued_cancels, t->calm, t->sets,
           (double)t->virtual_ms / MS_PER_S / S_PER_H, t->events);
    printf("sim:   service: ambassador crashes %" PRIu64
           ", jobs resumed %" PRIu64 " (%" PRIu64
           " journal records replayed, %" PRIu64
           " compactions), sets cancelled at a job's end %" PRIu64
           ", checks of a job that was over %" PRIu64 "\n",
           t->amb_crashes, t->resumed, t->replayed, t->compactions,
           t->end_cancels, t->old_checks);
    printf("sim:   sets: assigned %" PRIu64 ", declined %" PRIu64
           ", reattached %" PRIu64 ", cancelled %" PRIu64 ", failures %" PRIu64
           " (reclaims included), results rejected %" PRIu64
           "; backups %" PRIu64 " (won %" PRIu64 ")\n",
           t->assigned, t->declined, t->reattached, t->cancels, t->failures,
           t->rejected, t->backups, t->backups_won);
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
                    "[--nodes N] [--jobs N] [--as-built] [--strict-timing] "
                    "[-v]\n");
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
        else if (strcmp(argv[i], "--jobs") == 0)
            o.njobs = (int)arg_u64(argv[++i], SIM_MAX_JOBS);
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
    if (o.njobs != 0)
        snprintf(extra + strlen(extra), sizeof(extra) - strlen(extra),
                 " --jobs %d", o.njobs);
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
        printf("sim: seed %" PRIu64 " passed: %" PRIu64 " job(s) done, "
               "%" PRIu64 " stopped with a report, %" PRIu64 " cancelled\n",
               one, t.completed, t.stopped, t.cancelled + t.queued_cancels);
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
