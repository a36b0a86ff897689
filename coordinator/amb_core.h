/*
 * amb_core.h - the ambassador's decisions, pure. It owns the set table,
 * the node table (one entry and one circuit breaker, nodewatch.h, per
 * connected node) and what it knows of each node name across sessions
 * (liveness, last lease, carried-over breaker). It decides: which node
 * gets which set at which epoch, reattach or cancel on a hello, what
 * happens to a gone node's sets, the orphan rules, whether a result is
 * checked, accepted, rejected, stale or a duplicate, when a failed or
 * reclaimed set is Available again, when the job stops and when the
 * final concat starts.
 *
 * Speculative backups (cfg->backups per set; 0: none): when no set is
 * Available and a node is idle, the set in B expected to finish last (its
 * start plus its holder's mean set time, measured from its counted sets)
 * is assigned to that node too, at a new epoch, when the idle node is
 * expected to finish it sooner. Both attempts are valid (sets.h); the
 * first result counted wins and the other attempt is cancelled; a late
 * done of it is stale. A backup whose session ends is dropped (reclaimed)
 * at the next tick: the first attempt still holds the set.
 *
 * One entry point: amb_core_step takes an event (events.h) and now_ms and
 * returns actions for the loop to carry out: messages to node threads,
 * journal records, checks and removals for the checker, the concat, log
 * lines. No clock, socket, file or libav call happens inside, so the
 * seeded simulation (tests/sim/sim_core.c) runs this very code.
 *
 * Ordering contract: the actions come in order. A record is appended to
 * the loop turn's journal batch; an action marked deferred must run only
 * once every record before it is durable (messages to nodes, "counted"
 * log lines, the concat, the end of the job), so nothing another process
 * can see ever runs ahead of the journal. Actions not deferred run at
 * once.
 *
 * Single-threaded: the loop thread (or the simulation) only.
 */
#ifndef FF_AMB_CORE_H
#define FF_AMB_CORE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "coordinator/config.h"
#include "coordinator/events.h"
#include "coordinator/job.h"
#include "coordinator/jrec.h"
#include "coordinator/sets.h"

#define AMB_CORE_TICK_MS 100 /* the orphan rules run at most this often */
#define AMB_CORE_CONCAT_RETRY_MS 500       /* a concat short of resources */
#define AMB_CORE_CONCAT_RETRY_MAX_MS 30000 /* ... waits this long at most */
#define AMB_CORE_LOG_MAX (2 * ERR_MAX)

struct amb_stats {
    uint64_t assigned, counted, failures, reclaimed, declined;
    uint64_t stale_results, rejected_results, duplicates;
    uint64_t reattached, cancelled, refused;
    uint64_t lost; /* counted results found missing or changed */
    /* Counted sets the node encoded with another encoder than the one
     * asked for (its CPU fallback), and the first of them: a user must
     * learn that a "GPU" job ran on CPUs. */
    uint64_t fallbacks;
    uint64_t damaged; /* frames of counted sets decoded with a corruption
                         warning */
    /* Speculative backups: a second attempt at a set in B on an idle node
     * once nothing is left to hand out; won: counted before the first
     * attempt (which was then cancelled). */
    uint64_t backups, backups_won;
    char fallback_encoder[EV_ENCODER_MAX];
    char fallback_why[ERR_MAX];
};

/* Why a set was taken back from its node (JREC_RECLAIM). */
enum amb_reclaim_why {
    AMB_RECLAIM_DIED,      /* its session ended with its process */
    AMB_RECLAIM_NOSESSION, /* no node of that name was ever seen */
    AMB_RECLAIM_BACK,      /* the node came back without it */
    AMB_RECLAIM_SILENT,    /* its lease stopped advancing */
    AMB_RECLAIM_LEASE,     /* its lease no longer lists it */
    AMB_RECLAIM_REQUEST,   /* requeued by request (EV_REQUEUE) */
    AMB_RECLAIM_SHARE,     /* the share failed under its render */
};

/* What the loop tells a node (it builds the message). */
enum amb_msg {
    AMB_MSG_ASSIGN, /* set, epoch: the manifest goes with it */
    AMB_MSG_RESULT, /* set, epoch, ok, text = reason when refused */
    AMB_MSG_CANCEL, /* set, epoch */
    AMB_MSG_REFUSE, /* text: why; then close the session */
};

enum amb_act_type {
    ACT_SEND,   /* u.send to session */
    ACT_RECORD, /* u.rec: append to the journal batch */
    ACT_CHECK,  /* u.check: validate a result on the share */
    ACT_REMOVE, /* u.path: remove a stale result from the share */
    ACT_CONCAT, /* concatenate the accepted results (amb_core_accepted) */
    ACT_DONE,   /* the final video is written and journaled: the job ends */
    ACT_LOG,    /* u.log */
    ACT_FORGET, /* the session's thread has exited: join and free it */
    ACT_EXIT_REPLACED, /* a newer generation took over (u.gen): exit now,
                          writing nothing */
};

enum amb_log_level { AMB_LOG_DEBUG, AMB_LOG_INFO, AMB_LOG_WARN };

struct amb_act {
    enum amb_act_type type;
    int deferred; /* waits for the records before it */
    uint64_t session;
    union {
        struct {
            enum amb_msg msg;
            uint32_t set;
            uint64_t epoch;
            int ok;
            char text[ERR_MAX];
        } send;
        struct {
            struct jrec r;
            enum amb_reclaim_why why; /* JREC_RECLAIM */
        } rec;
        struct {
            struct ev_result r; /* r.path: the expected path */
            uint64_t frames;    /* the set's frame count */
        } check;
        char path[FS_PATH_MAX];
        struct {
            enum amb_log_level level;
            char text[AMB_CORE_LOG_MAX];
        } log;
        uint64_t gen;
    } u;
};

/* What a node entry shows (status, the dashboard, the final log). */
struct amb_node_view {
    uint64_t session;
    const char *name, *peer, *encoders, *breaker;
    int hello;
    uint64_t counted;
    const char *breaker_why; /* why it last opened ("" if never) */
    uint64_t lease_age_ms;   /* since its lease last advanced;
                                AMB_AGE_UNKNOWN before the first read */
    int held, slots;         /* sets in its hands, and its slots */
    int drained;             /* no new work by request (EV_DRAIN) */
};

#define AMB_AGE_UNKNOWN UINT64_MAX

/* What is known of a node name with no session now (the dashboard). */
struct amb_peer_view {
    const char *name;
    const char *breaker, *breaker_why; /* as its last session ended */
    int died;                          /* that session ended with its
                                          process */
    uint64_t lease_age_ms;             /* or AMB_AGE_UNKNOWN */
    uint64_t gone_ms;                  /* since it was last heard */
    int drained;
};

struct amb_core;

/* cfg and job must outlive it. restored (may be NULL) hands over a
 * replayed table and counted paths (they become the core's). now_ms is
 * the loop's clock at start. job may be NULL: the core starts idle (a
 * service waiting for its first job). NULL on allocation failure. */
struct amb_core *amb_core_new(const struct coord_config *cfg,
                              const struct job *job,
                              struct jrec_state *restored, uint64_t now_ms);
void amb_core_free(struct amb_core *c);

/* Jobs one after another (the service): nodes, their breakers and what is
 * known of each name stay; the set table, counted results, stats and the
 * stop state are the job's. A job runs from amb_core_start_job (the core
 * must be idle; job outlives it until the end) until it is done (ACT_DONE)
 * or failed (amb_core_failed); amb_core_end_job then cancels whatever
 * nodes still hold of it and makes the core idle. Each job's epochs start
 * at job->epoch_base, above every epoch of the jobs before it, so a late
 * report from an old job is stale in any later one. While idle, nodes are
 * served (hello, heartbeats, leases) and given nothing; their reports are
 * stale. start_job: 0, or -1 on allocation failure. */
int amb_core_start_job(struct amb_core *c, const struct job *job,
                       struct jrec_state *restored, uint64_t now_ms);
const struct amb_act *amb_core_end_job(struct amb_core *c, uint64_t now_ms,
                                       size_t *n);
/* Stop the running job as failed with report "cancelled WHY". -1 when
 * there is none, it already stopped, or its concat has begun (too late:
 * it is writing its video). */
int amb_core_cancel(struct amb_core *c, const char *why);
/* The running job, or NULL while idle. */
const struct job *amb_core_job(const struct amb_core *c);
int amb_core_concat_started(const struct amb_core *c);

/* Decide on one event. The actions are valid until the next call; *n gets
 * their number. */
const struct amb_act *amb_core_step(struct amb_core *c,
                                    const struct amb_event *ev, uint64_t now_ms,
                                    size_t *n);

/* 0 while the job runs, -1 when it stopped (amb_core_report says why).
 * The job's success is ACT_DONE. */
int amb_core_failed(const struct amb_core *c);
/* Why no work is handed out now ("share-full", "share-silent"), or NULL. */
const char *amb_core_paused(const struct amb_core *c);
const char *amb_core_report(const struct amb_core *c);
/* The set whose failures stopped the job (valid when failed). */
uint32_t amb_core_stop_set(const struct amb_core *c);
const struct set_table *amb_core_sets(const struct amb_core *c);
/* The counted result's path of set (relative to the share), or NULL. */
const char *amb_core_accepted(const struct amb_core *c, uint32_t set);
/* Its sha256 as counted (hex), or NULL when the journal did not keep it. */
const char *amb_core_accepted_sha(const struct amb_core *c, uint32_t set);
/* Frames done on set by its current attempt. */
uint64_t amb_core_progress(const struct amb_core *c, uint32_t set);
const struct amb_stats *amb_core_stats(const struct amb_core *c);
/* The journal's state as records (a snapshot that replaces the file at
 * compaction), one at a time and in order: f(r, arg) for each, r valid
 * during that call only. The number of records, or -1 when there is no
 * job, on allocation failure or when f returned -1 (which stops it). */
ssize_t amb_core_snapshot(struct amb_core *c,
                          int (*f)(const struct jrec *r, void *arg), void *arg);
/* The node table, for status: calls f for each entry. */
void amb_core_nodes(const struct amb_core *c,
                    void (*f)(const struct amb_node_view *v, void *arg),
                    void *arg);
/* The node names known from earlier sessions and not connected now. */
void amb_core_peers(const struct amb_core *c,
                    void (*f)(const struct amb_peer_view *v, void *arg),
                    void *arg);

#endif
