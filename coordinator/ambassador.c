/*
 * ambassador.c - see ambassador.h.
 *
 * The thin loop around the pure core (amb_core.h): it accepts
 * connections, feeds every event and a tick each turn to amb_core_step,
 * and carries out the actions it returns: records go into this turn's
 * journal batch; messages to nodes, "counted" lines, the concat and the
 * end of the job wait until the batch is durable (the journaler hands
 * them back as EV_JOURNALED); checks and removals go to the checker.
 * It builds the messages (the manifest of an assign) and keeps the node
 * threads; it decides nothing.
 */
#include "coordinator/ambassador.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/evq.h"
#include "common/fault.h"
#include "common/hmap.h"
#include "common/ffassert.h"
#include "common/jsonutil.h"
#include "common/log.h"
#include "common/proto.h"
#include "common/sharepath.h"
#include "coordinator/amb_core.h"
#include "coordinator/board.h"
#include "coordinator/checker.h"
#include "coordinator/events.h"
#include "coordinator/journaler.h"
#include "coordinator/live.h"
#include "coordinator/nodeconn.h"
#include "coordinator/nodenames.h"
#include "coordinator/service.h"
#include "coordinator/sets.h"
#include "coordinator/sharewatch.h"

#define AMB_TICK_MS AMB_CORE_TICK_MS
#define AMB_PROGRESS_MS 250
#define AMB_FINISH_GRACE_MS 3000
#define AMB_PROGRESS_LINE_MAX 128
/* Descriptors: each connection costs two (its socket, its thread's
 * outbox); AMB_FD_RESERVE stay free for the journal, the checker, the
 * concat and the share watcher, whatever the network does. */
#define AMB_FDS_PER_CONN 2
#define AMB_FD_RESERVE 64
/* Connections that have not said hello yet (not authenticated, when
 * keyed): at most this many in all, and from one address. Each lasts at
 * most hello_ms. */
#define AMB_PREAUTH_MAX 32
#define AMB_PREAUTH_PER_HOST 4
#define AMB_REFUSE_LOG_MS 10000
/* Out of descriptors at accept (EMFILE, ENFILE): the listening socket is
 * not polled for this long, instead of spinning on a queue that stays
 * readable. */
#define AMB_ACCEPT_PAUSE_MS 100
/* Records the compaction snapshot's list starts with (it doubles). */
#define AMB_SNAP_MIN 64

/* A node's thread, by session. */
struct amb_conn {
    uint64_t session;
    struct nodeconn *conn;
    char host[EV_PEER_MAX]; /* the peer's address, without its port */
    int hello;              /* it said hello (authenticated, when keyed) */
    struct amb_conn *next, *prev;
};

/* An action that waits for the journal: a message to a node, the start of
 * the concat, the end of the job, a log line. */
enum amb_def_type { DEF_SEND, DEF_CONCAT, DEF_DONE, DEF_LOG, DEF_SWEEP };
struct amb_deferred {
    enum amb_def_type type;
    uint64_t session;
    int assign;   /* DEF_SEND: an assign (a crash point) */
    int accepted; /* DEF_SEND: an accepting result (a crash point) */
    uint32_t set; /* DEF_SEND of an assign: its set and epoch */
    uint64_t epoch;
    const struct job *files; /* DEF_SEND of an assign: the set's folder
                                and manifest are to be made first (on the
                                journaler thread, amb_prepare) */
    int files_errno;         /* ... and failed with this errno */
    struct node_cmd *cmd;    /* DEF_SEND, owned */
    char **paths;            /* DEF_CONCAT, owned */
    char **shas;             /* DEF_CONCAT, owned: each path's sha256 */
    size_t npaths;
    char *text; /* DEF_LOG: the line; DEF_SWEEP: the counted result's
                   path, relative to the share; owned */
    struct amb_deferred *next;
};

struct ambassador {
    const struct coord_config *cfg;
    const struct job *job; /* the running job, or NULL (a service, idle) */
    uint64_t gen;
    struct service *svc;     /* the job queue; NULL: one job, then exit */
    struct nodenames *names; /* the names live node sessions hold */
    struct svc_start *cur;   /* a service's running job (owned) */
    int cancelled;           /* it was cancelled */
    uint64_t last_publish_ms;
    int lfd;
    struct evq *events;
    struct amb_core *core;
    struct checker *checker;
    struct sharewatch *watch;
    struct journaler *journaler;
    struct amb_conn *conns;
    struct hmap conn_by_session; /* every conn: a send must not scan them */
    char **batch; /* records of this loop turn, for the journaler */
    size_t nbatch, capbatch;
    struct amb_deferred *after, **after_tail; /* this turn's actions */
    uint64_t inflight; /* batches handed to the journaler, not yet back */
    uint64_t next_session;
    size_t max_conns; /* what the descriptor limit allows */
    int spare_fd;     /* given up to accept-and-close when out of fds */
    uint64_t refused; /* connections turned away since the last log */
    uint64_t refuse_log_ms;
    uint64_t accept_paused_until; /* out of descriptors: not polled */
    uint64_t accept_errors;       /* EMFILE/ENFILE this episode */
    int done; /* ACT_DONE ran: the final video is written and journaled */
    uint64_t last_progress_ms;
    char last_progress[AMB_PROGRESS_LINE_MAX];
    struct live *live;   /* what the HTTP API shows (live.h) */
    struct board *board; /* where it is published; NULL: no HTTP */
    uint64_t last_board_ms;
    uint8_t *made;             /* a bit per set: its folder was made */
    const struct job *made_of; /* the job made is sized for */
};

static void amb_step(struct ambassador *a, const struct amb_event *ev);
static void amb_prepare(void *after);
static void amb_run_deferred(struct ambassador *a, struct amb_deferred *d);
static void amb_watch_holders(struct ambassador *a);
static void amb_sweep_set(struct ambassador *a, const char *rel);

/* How many node connections the descriptor limit allows, after raising
 * the soft limit to the hard one, with AMB_FD_RESERVE kept free. */
static size_t
amb_max_conns(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
        return 0;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
            getrlimit(RLIMIT_NOFILE, &rl);
    }
    if (fault_conn_cap() >= 0) {
        log_warnx("test hook %s: taking up to %ld connections whatever the "
                  "descriptor limit",
                  fault_env(FAULT_HOOK_CONN_CAP), fault_conn_cap());
        return (size_t)fault_conn_cap();
    }
    if (rl.rlim_cur == RLIM_INFINITY)
        return SIZE_MAX / AMB_FDS_PER_CONN;
    return rl.rlim_cur > AMB_FD_RESERVE
               ? (size_t)(rl.rlim_cur - AMB_FD_RESERVE) / AMB_FDS_PER_CONN
               : 0;
}

struct ambassador *
ambassador_new(const struct coord_config *cfg, const struct job *job, int lfd,
               struct jrec_state *restored, struct journal *jr, uint64_t gen,
               struct service *svc)
{
    struct ambassador *a = calloc(1, sizeof(*a));
    if (a == NULL) {
        journal_close(jr);
        return NULL;
    }
    a->cfg = cfg;
    a->job = job;
    a->gen = gen;
    a->svc = svc;
    a->lfd = lfd;
    a->next_session = 1;
    a->after_tail = &a->after;
    hmap_init(&a->conn_by_session);
    a->max_conns = amb_max_conns();
    a->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    a->events = evq_new();
    a->core = amb_core_new(cfg, job, restored, clock_now_ms());
    a->live = live_new();
    a->names = nodenames_new();
    if (a->events == NULL || a->core == NULL || a->live == NULL ||
        a->names == NULL) {
        journal_close(jr);
        ambassador_free(a);
        return NULL;
    }
    a->checker = checker_start(a->events);
    a->watch = sharewatch_start(cfg->share, cfg->share_poll_ms,
                                cfg->share_min_free_bytes, a->events);
    if (jr != NULL) {
        a->journaler = journaler_start(jr, cfg->share, gen, a->events);
        if (a->journaler != NULL) {
            journaler_set_compact_bytes(a->journaler,
                                        cfg->journal_compact_bytes);
            journaler_set_prepare(a->journaler, amb_prepare);
        }
    }
    if (a->checker == NULL || a->watch == NULL ||
        (jr != NULL && a->journaler == NULL)) {
        if (jr != NULL && a->journaler == NULL)
            journal_close(jr);
        ambassador_free(a);
        return NULL;
    }
    amb_watch_holders(a);
    return a;
}

struct evq *
ambassador_events(struct ambassador *a)
{
    return a->events;
}

const struct amb_stats *
ambassador_stats(const struct ambassador *a)
{
    return amb_core_stats(a->core);
}

void
ambassador_set_board(struct ambassador *a, struct board *board)
{
    a->board = board;
}

static struct amb_conn *
amb_conn_find(struct ambassador *a, uint64_t session)
{
    return hmap_get_u64(&a->conn_by_session, session);
}

/* Take n out of the list and the map (the caller frees it). */
static void
amb_conn_unlink(struct ambassador *a, struct amb_conn *n)
{
    if (n->prev != NULL)
        n->prev->next = n->next;
    else
        a->conns = n->next;
    if (n->next != NULL)
        n->next->prev = n->prev;
    hmap_del_u64(&a->conn_by_session, n->session);
}

static void
amb_conn_forget(struct ambassador *a, uint64_t session)
{
    struct amb_conn *n = amb_conn_find(a, session);
    if (n == NULL)
        return;
    amb_conn_unlink(a, n);
    nodeconn_free(n->conn);
    free(n);
}

static void
amb_conn_send(struct ambassador *a, uint64_t session, struct node_cmd *cmd)
{
    struct amb_conn *n = amb_conn_find(a, session);
    if (n != NULL)
        nodeconn_send(n->conn, cmd);
    else
        node_cmd_free(cmd); /* gone: the core handled its sets */
}

static void
amb_oom(const char *what)
{
    log_warnx("%s: out of memory", what);
    exit(1);
}

static void
amb_defer(struct ambassador *a, struct amb_deferred *d)
{
    *a->after_tail = d;
    a->after_tail = &d->next;
}

static struct amb_deferred *
amb_deferred_new(enum amb_def_type type, uint64_t session)
{
    struct amb_deferred *d = calloc(1, sizeof(*d));
    if (d == NULL)
        amb_oom("deferred action");
    d->type = type;
    d->session = session;
    return d;
}

/* Add a record to this loop turn's batch. */
static void
amb_record(struct ambassador *a, const struct jrec *r)
{
    char *text = jrec_encode(r);
    if (text == NULL)
        amb_oom("journal record");
    if (a->nbatch == a->capbatch) {
        size_t cap = a->capbatch ? a->capbatch * 2 : JOURNALER_MAX_BATCH;
        char **nb = realloc(a->batch, cap * sizeof(*nb));
        if (nb == NULL)
            amb_oom("journal batch");
        a->batch = nb;
        a->capbatch = cap;
    }
    a->batch[a->nbatch++] = text;
}

/* Hand this turn's records and actions to the journaler. */
static void
amb_flush(struct ambassador *a)
{
    if (a->nbatch == 0 && a->after == NULL)
        return;
    if (a->journaler == NULL) {
        /* No job, no journal: nothing to wait for. */
        struct amb_deferred *d = a->after;
        FF_ASSERT(a->nbatch == 0);
        a->after = NULL;
        a->after_tail = &a->after;
        amb_prepare(d);
        amb_run_deferred(a, d);
        return;
    }
    journaler_write(a->journaler, a->batch, a->nbatch, a->after);
    a->batch = NULL;
    a->nbatch = a->capbatch = 0;
    a->after = NULL;
    a->after_tail = &a->after;
    a->inflight++;
}

/* The snapshot's records, encoded as the core hands them over. */
struct amb_snap {
    char **recs;
    size_t n, cap;
};

static int
amb_snap_add(const struct jrec *r, void *arg)
{
    struct amb_snap *s = arg;
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : AMB_SNAP_MIN;
        char **nr = realloc(s->recs, cap * sizeof(*nr));
        if (nr == NULL)
            return -1;
        s->recs = nr;
        s->cap = cap;
    }
    if ((s->recs[s->n] = jrec_encode(r)) == NULL)
        return -1;
    s->n++;
    return 0;
}

/* The journal grew past its limit: hand the journaler the core's snapshot
 * of the state after everything already queued (this turn's records go
 * first), which replaces the file. */
static void
amb_compact(struct ambassador *a)
{
    struct amb_snap s = {0};

    amb_flush(a);
    if (amb_core_snapshot(a->core, amb_snap_add, &s) == -1) {
        for (size_t k = 0; k < s.n; k++)
            free(s.recs[k]);
        free(s.recs);
        return;
    }
    journaler_compact(a->journaler, s.recs, s.n);
}

static void
amb_deferred_free(struct amb_deferred *d)
{
    while (d != NULL) {
        struct amb_deferred *next = d->next;
        node_cmd_free(d->cmd);
        free(d->text);
        for (size_t i = 0; i < d->npaths; i++) {
            free(d->paths[i]);
            free(d->shas[i]);
        }
        free(d->paths);
        free(d->shas);
        free(d);
        d = next;
    }
}

static void
amb_event_free(void *p)
{
    struct amb_event *ev = p;
    if (ev != NULL && ev->type == EV_JOURNALED)
        amb_deferred_free(ev->u.journaled.after);
    if (ev != NULL && ev->type == EV_JOB)
        svc_start_free(ev->u.job.start);
    free(ev);
}

/* ---- carrying out the core's actions ---- */

static cJSON *
amb_msg_set(const char *type, uint32_t set, uint64_t epoch)
{
    cJSON *m = proto_msg_new(type);
    if (m == NULL || json_add_u64(m, "set", set) == NULL ||
        json_add_u64(m, "epoch", epoch) == NULL) {
        cJSON_Delete(m);
        return NULL;
    }
    return m;
}

/* The assign message: set, epoch and the set's manifest at that epoch. */
static cJSON *
amb_msg_assign(const struct ambassador *a, uint32_t set, uint64_t epoch)
{
    struct manifest *m = job_manifest(a->job, set, epoch);
    cJSON *mj = m != NULL ? manifest_to_json(m) : NULL;
    cJSON *msg = amb_msg_set(MSG_ASSIGN, set, epoch);
    manifest_free(m);
    if (mj == NULL || msg == NULL) {
        cJSON_Delete(mj);
        cJSON_Delete(msg);
        return NULL;
    }
    cJSON_AddItemToObject(msg, "manifest", mj);
    return msg;
}

static cJSON *
amb_msg_build(const struct ambassador *a, const struct amb_act *act)
{
    cJSON *m;
    switch (act->u.send.msg) {
    case AMB_MSG_ASSIGN:
        return amb_msg_assign(a, act->u.send.set, act->u.send.epoch);
    case AMB_MSG_RESULT:
        m = amb_msg_set(MSG_RESULT, act->u.send.set, act->u.send.epoch);
        if (m != NULL &&
            (cJSON_AddBoolToObject(m, "accepted", act->u.send.ok) == NULL ||
             (act->u.send.text[0] != '\0' &&
              cJSON_AddStringToObject(m, "reason", act->u.send.text) ==
                  NULL))) {
            cJSON_Delete(m);
            return NULL;
        }
        return m;
    case AMB_MSG_CANCEL:
        return amb_msg_set(MSG_CANCEL, act->u.send.set, act->u.send.epoch);
    case AMB_MSG_REFUSE:
        m = proto_msg_new(MSG_ERROR);
        if (m != NULL &&
            cJSON_AddStringToObject(m, "msg", act->u.send.text) == NULL) {
            cJSON_Delete(m);
            return NULL;
        }
        return m;
    }
    return NULL;
}

/* The set's folder is made before its first assign is sent
 * (job_set_files), on the journaler thread, and its audit manifest is
 * written by the checker; a bit per set remembers it was asked, so a
 * later assign of the set costs nothing. */
static void
amb_need_files(struct ambassador *a, struct amb_deferred *d, uint32_t set,
               uint64_t epoch)
{
    d->set = set;
    d->epoch = epoch;
    if (a->made_of != a->job) {
        free(a->made);
        a->made = calloc((size_t)a->job->nsets / 8 + 1, 1);
        if (a->made == NULL)
            amb_oom("set folders");
        a->made_of = a->job;
    }
    if (a->made[set / 8] & (1u << (set % 8)))
        return;
    a->made[set / 8] |= (uint8_t)(1u << (set % 8));
    d->files = a->job;
    /* Its audit manifest: by the checker, off the assign's path. */
    {
        char path[FS_PATH_MAX];
        char *text = job_set_manifest(a->job, set, path, sizeof(path));
        if (text != NULL)
            checker_manifest(a->checker, path, text);
    }
}

/* Journaler thread (journaler_set_prepare): make the folders this
 * batch's assigns need; a failure is kept in the action for the loop
 * (amb_run_deferred). */
static void
amb_prepare(void *after)
{
    for (struct amb_deferred *d = after; d != NULL; d = d->next)
        if (d->files != NULL && job_set_files(d->files, d->set) == -1)
            d->files_errno = errno != 0 ? errno : EIO;
}

/* The loop: an assign whose set's folder could not be made is not sent;
 * the set goes back to Available with no failure counted (as an assign
 * that could not be built), and is made again at its next assign. */
static void
amb_files_failed(struct ambassador *a, struct amb_deferred *d)
{
    struct amb_event ev;
    log_warnx("job %s set %u: cannot make its folder on the share: %s; "
              "Available again",
              d->files->id, d->set, strerror(d->files_errno));
    if (a->made_of == d->files)
        a->made[d->set / 8] &= (uint8_t) ~(1u << (d->set % 8));
    node_cmd_free(d->cmd);
    d->cmd = NULL;
    memset(&ev, 0, sizeof(ev));
    ev.type = EV_UNDELIVERED;
    ev.session = d->session;
    ev.u.set.set = d->set;
    ev.u.set.epoch = d->epoch;
    amb_step(a, &ev);
}

static void
amb_act_send(struct ambassador *a, const struct amb_act *act)
{
    struct amb_deferred *d;
    cJSON *msg = amb_msg_build(a, act);
    struct node_cmd *cmd;

    if (msg == NULL && act->u.send.msg == AMB_MSG_ASSIGN) {
        /* Not built: the set goes back to Available, no failure counted. */
        struct amb_event ev;
        memset(&ev, 0, sizeof(ev));
        ev.type = EV_UNDELIVERED;
        ev.session = act->session;
        ev.u.set.set = act->u.send.set;
        ev.u.set.epoch = act->u.send.epoch;
        log_warnx("job %s set %u: cannot build its assign; Available again",
                  a->job->id, act->u.send.set);
        amb_step(a, &ev);
        return;
    }
    cmd = calloc(1, sizeof(*cmd));
    if (cmd == NULL)
        amb_oom("node command");
    /* A refusal is the session's last word (it then closes); an empty
     * one (out of memory) still closes it. */
    cmd->type = act->u.send.msg == AMB_MSG_REFUSE ? CMD_FINISH : CMD_SEND;
    cmd->msg = msg;
    if (msg == NULL && cmd->type == CMD_SEND) {
        node_cmd_free(cmd);
        return;
    }
    d = amb_deferred_new(DEF_SEND, act->session);
    d->cmd = cmd;
    d->assign = act->u.send.msg == AMB_MSG_ASSIGN;
    d->accepted = act->u.send.msg == AMB_MSG_RESULT && act->u.send.ok;
    if (d->assign)
        amb_need_files(a, d, act->u.send.set, act->u.send.epoch);
    amb_defer(a, d);
}

/* The accepted results, in set order, as paths on this host, with their
 * hashes as counted (NULL where the journal did not keep one). */
static void
amb_concat_inputs(const struct ambassador *a, struct amb_deferred *d)
{
    d->paths = calloc(a->job->nsets, sizeof(*d->paths));
    d->shas = calloc(a->job->nsets, sizeof(*d->shas));
    if (d->paths == NULL || d->shas == NULL)
        amb_oom("concat");
    d->npaths = a->job->nsets;
    for (uint32_t i = 0; i < a->job->nsets; i++) {
        char abs[FS_PATH_MAX];
        const char *rel = amb_core_accepted(a->core, i);
        const char *sha = amb_core_accepted_sha(a->core, i);
        if (rel == NULL ||
            fs_join(abs, sizeof(abs), a->job->share, rel) == -1 ||
            (d->paths[i] = strdup(abs)) == NULL ||
            (sha != NULL && (d->shas[i] = strdup(sha)) == NULL))
            amb_oom("concat paths");
    }
}

static void
amb_act_log(struct ambassador *a, const struct amb_act *act)
{
    struct amb_deferred *d;
    if (act->deferred) {
        d = amb_deferred_new(DEF_LOG, 0);
        if ((d->text = strdup(act->u.log.text)) == NULL)
            amb_oom("log line");
        amb_defer(a, d);
        return;
    }
    switch (act->u.log.level) {
    case AMB_LOG_DEBUG:
        log_debug("%s", act->u.log.text);
        break;
    case AMB_LOG_INFO:
        log_info("%s", act->u.log.text);
        break;
    case AMB_LOG_WARN:
        log_warnx("%s", act->u.log.text);
        break;
    }
}

static void
amb_act(struct ambassador *a, const struct amb_act *act)
{
    char abs[FS_PATH_MAX];
    struct amb_deferred *d;

    if (a->board != NULL)
        live_act(a->live, a->core, act, clock_now_ms());
    switch (act->type) {
    case ACT_SEND:
        amb_act_send(a, act);
        break;
    case ACT_RECORD:
        amb_record(a, &act->u.rec.r);
        if (act->u.rec.r.type == JREC_ACCEPT) {
            /* Once the count is durable, the set's other epochs' files
             * (reclaimed, fenced, stale renders) go. */
            d = amb_deferred_new(DEF_SWEEP, 0);
            if ((d->text = strdup(act->u.rec.r.path)) == NULL)
                amb_oom("sweep");
            amb_defer(a, d);
        }
        break;
    case ACT_CHECK: {
        const struct ev_result *r = &act->u.check.r;
        if (fs_join(abs, sizeof(abs), a->job->share, r->path) == -1)
            break; /* the core placed it: cannot happen */
        checker_check(a->checker, act->session, r, abs, act->u.check.frames,
                      &a->job->enc);
        break;
    }
    case ACT_REMOVE:
        if (fs_join(abs, sizeof(abs), a->job->share, act->u.path) == 0)
            checker_remove(a->checker, abs);
        break;
    case ACT_CONCAT:
        d = amb_deferred_new(DEF_CONCAT, 0);
        amb_concat_inputs(a, d);
        amb_defer(a, d);
        break;
    case ACT_DONE:
        amb_defer(a, amb_deferred_new(DEF_DONE, 0));
        break;
    case ACT_LOG:
        amb_act_log(a, act);
        break;
    case ACT_FORGET:
        amb_conn_forget(a, act->session);
        break;
    case ACT_EXIT_REPLACED:
        _exit(JOURNALER_EXIT_REPLACED);
    }
}

/* Hand one event to the core and carry out what it decides. The actions
 * are copied first: carrying one out may step the core again. */
static void
amb_step(struct ambassador *a, const struct amb_event *ev)
{
    size_t n;
    const struct amb_act *acts = amb_core_step(a->core, ev, clock_now_ms(), &n);
    struct amb_act *copy;
    if (n == 0)
        return;
    copy = malloc(n * sizeof(*copy));
    if (copy == NULL)
        amb_oom("actions");
    memcpy(copy, acts, n * sizeof(*copy));
    for (size_t i = 0; i < n; i++)
        amb_act(a, &copy[i]);
    free(copy);
}

static void
amb_run_deferred(struct ambassador *a, struct amb_deferred *d)
{
    while (d != NULL) {
        struct amb_deferred *next = d->next;
        switch (d->type) {
        case DEF_SEND:
            if (d->files_errno != 0) {
                amb_files_failed(a, d);
                break;
            }
            if (d->assign)
                fault_crash_point(FAULT_AFTER_ASSIGN_JOURNALED);
            if (d->accepted)
                fault_crash_point(FAULT_AFTER_ACCEPT_JOURNALED);
            amb_conn_send(a, d->session, d->cmd);
            d->cmd = NULL;
            break;
        case DEF_CONCAT:
            fault_crash_point(FAULT_AFTER_CONCAT_BEGUN);
            checker_concat(a->checker, d->paths, d->shas, a->job->nsets,
                           a->job->output, a->job->frames->count, &a->job->enc);
            d->paths = d->shas = NULL; /* the checker took them */
            d->npaths = 0;
            break;
        case DEF_DONE:
            a->done = 1;
            break;
        case DEF_LOG:
            log_info("%s", d->text);
            break;
        case DEF_SWEEP:
            amb_sweep_set(a, d->text);
            break;
        }
        d->next = NULL;
        amb_deferred_free(d);
        d = next;
    }
}

/* Remove the files in a counted result's folder but it (rel: the result,
 * relative to the share). */
static void
amb_sweep_set(struct ambassador *a, const char *rel)
{
    char abs[FS_PATH_MAX];
    char *slash;
    if (fs_join(abs, sizeof(abs), a->cfg->share, rel) == -1 ||
        (slash = strrchr(abs, '/')) == NULL)
        return;
    *slash = '\0';
    checker_sweep(a->checker, abs, slash + 1);
}

/* The job is over: every set's folder keeps its counted result only
 * (renders published after their set was counted, or never counted). */
static void
amb_sweep_job(struct ambassador *a)
{
    for (uint32_t i = 0; i < a->job->nsets; i++) {
        char dir[FS_PATH_MAX];
        const char *rel = amb_core_accepted(a->core, i);
        const char *keep = rel != NULL ? strrchr(rel, '/') : NULL;
        if (sharepath_out_dir(a->cfg->share, a->job->id, i, dir, sizeof(dir)) ==
            0)
            checker_sweep(a->checker, dir, keep != NULL ? keep + 1 : "");
    }
}

/* ---- the loop ---- */

static void
amb_progress(struct ambassador *a, uint64_t now, int force)
{
    char line[AMB_PROGRESS_LINE_MAX];
    const struct set_table *sets = amb_core_sets(a->core);
    uint64_t frames = 0;
    uint32_t counted = set_table_count(sets, SET_COUNTED);

    if (!a->cfg->progress || a->job == NULL ||
        (!force && now - a->last_progress_ms < AMB_PROGRESS_MS))
        return;
    a->last_progress_ms = now;
    for (uint32_t i = 0; i < a->job->nsets; i++) {
        uint64_t first, count;
        job_set_range(a->job, i, &first, &count);
        frames += set_table_get(sets, i)->status == SET_COUNTED
                      ? count
                      : amb_core_progress(a->core, i);
    }
    snprintf(line, sizeof(line), "progress %u %u %llu %zu%s%s\n", counted,
             a->job->nsets, (unsigned long long)frames, a->job->frames->count,
             amb_core_paused(a->core) != NULL ? " paused " : "",
             amb_core_paused(a->core) != NULL ? amb_core_paused(a->core) : "");
    if (strcmp(line, a->last_progress) == 0)
        return;
    snprintf(a->last_progress, sizeof(a->last_progress), "%s", line);
    fputs(line, stdout);
    fflush(stdout);
}

/* "host:port" -> "host" */
static void
amb_peer_host(const char *peer, char *host, size_t len)
{
    const char *colon = strrchr(peer, ':');
    snprintf(host, len, "%.*s",
             colon != NULL ? (int)(colon - peer) : (int)strlen(peer), peer);
}

/* May a connection from host be taken? NULL, or why not. Nodes that said
 * hello are never turned away by the unauthenticated caps. */
static const char *
amb_admit(const struct ambassador *a, const char *host)
{
    size_t total = 0, preauth = 0, same = 0;
    for (const struct amb_conn *c = a->conns; c != NULL; c = c->next) {
        total++;
        if (c->hello)
            continue;
        preauth++;
        same += strcmp(c->host, host) == 0;
    }
    if (total >= a->max_conns)
        return "the descriptor limit is reached";
    if (preauth >= AMB_PREAUTH_MAX)
        return "too many connections have not said hello";
    if (same >= AMB_PREAUTH_PER_HOST)
        return "too many connections from this address have not said hello";
    return NULL;
}

/* A connection turned away: counted, and logged at most every
 * AMB_REFUSE_LOG_MS. */
static void
amb_refuse(struct ambassador *a, const char *peer, const char *why)
{
    uint64_t now = clock_now_ms();
    a->refused++;
    if (now - a->refuse_log_ms < AMB_REFUSE_LOG_MS && a->refuse_log_ms != 0)
        return;
    log_warnx("connection from %s refused: %s (%llu refused since the last "
              "such line)",
              peer, why, (unsigned long long)a->refused);
    a->refused = 0;
    a->refuse_log_ms = now;
}

/* Out of descriptors: accept with the spare one given back and close at
 * once, so the listen queue does not keep poll() awake. */
static void
amb_accept_shed(struct ambassador *a)
{
    int fd;
    if (a->spare_fd == -1)
        return;
    close(a->spare_fd);
    fd = net_accept(a->lfd, NULL, 0);
    if (fd != -1)
        close(fd);
    a->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    amb_refuse(a, "a peer", "out of descriptors");
}

/* Out of descriptors, at accept() or at the connection's own queue right
 * after it (which of the two runs out first depends on how many
 * descriptors were open before): one episode, logged at its start and
 * its end, with the listening socket not polled for a while. */
static void
amb_accept_out_of_fds(struct ambassador *a)
{
    if (a->accept_errors++ == 0)
        log_warnx("out of descriptors accepting a connection: pausing "
                  "accepts for %d ms at a time",
                  AMB_ACCEPT_PAUSE_MS);
    a->accept_paused_until = clock_now_ms() + AMB_ACCEPT_PAUSE_MS;
    amb_accept_shed(a);
}

static void
amb_accept(struct ambassador *a)
{
    char peer[EV_PEER_MAX], host[EV_PEER_MAX];
    const char *why;
    struct amb_conn *c;
    struct amb_event ev;
    int fd = net_accept(a->lfd, peer, sizeof(peer));

    if (fd == -1) {
        if (errno == EMFILE || errno == ENFILE)
            amb_accept_out_of_fds(a);
        else if (errno != EAGAIN && errno != ECONNABORTED)
            log_warn("accept");
        return;
    }
    amb_peer_host(peer, host, sizeof(host));
    if ((why = amb_admit(a, host)) != NULL) {
        close(fd);
        amb_refuse(a, peer, why);
        return;
    }
    c = calloc(1, sizeof(*c));
    if (c == NULL) {
        close(fd);
        return;
    }
    snprintf(c->host, sizeof(c->host), "%s", host);
    c->session = a->next_session++;
    if (hmap_put_u64(&a->conn_by_session, c->session, c) == -1)
        amb_oom("the connection table");
    c->conn = nodeconn_start(fd, peer, c->session, a->cfg, a->events, a->svc,
                             a->names);
    if (c->conn == NULL) {
        int e = errno;
        hmap_del_u64(&a->conn_by_session, c->session);
        free(c);
        if (e == EMFILE || e == ENFILE) {
            amb_accept_out_of_fds(a);
            return;
        }
        errno = e;
        log_warn("connection from %s: cannot start its thread", peer);
        return;
    }
    if (a->accept_errors > 0) {
        log_info("accepting connections again after %llu accept(s) failed "
                 "for want of descriptors",
                 (unsigned long long)a->accept_errors);
        a->accept_errors = 0;
    }
    c->next = a->conns;
    if (a->conns != NULL)
        a->conns->prev = c;
    a->conns = c;
    memset(&ev, 0, sizeof(ev));
    ev.type = EV_ACCEPTED;
    ev.session = c->session;
    snprintf(ev.u.accepted.peer, sizeof(ev.u.accepted.peer), "%s", peer);
    amb_step(a, &ev);
}

/* Tell every node the job is over and wait (bounded) for them to go. */
static void
amb_finish_nodes(struct ambassador *a)
{
    uint64_t deadline = clock_now_ms() + AMB_FINISH_GRACE_MS;
    for (struct amb_conn *n = a->conns; n != NULL; n = n->next) {
        struct node_cmd *cmd = calloc(1, sizeof(*cmd));
        cJSON *m = proto_msg_new(MSG_FINISH);
        if (cmd == NULL) {
            cJSON_Delete(m);
            nodeconn_stop(n->conn);
            continue;
        }
        if (m != NULL) {
            cJSON_AddBoolToObject(m, "ok", a->done);
            if (!a->done)
                cJSON_AddStringToObject(m, "error", amb_core_report(a->core));
        }
        cmd->type = CMD_FINISH;
        cmd->msg = m;
        nodeconn_send(n->conn, cmd);
    }
    while (a->conns != NULL) {
        struct pollfd pfd = {.fd = evq_fd(a->events), .events = POLLIN};
        struct amb_event *ev;
        uint64_t now = clock_now_ms();
        while ((ev = evq_pop(a->events)) != NULL) {
            if (ev->type == EV_GONE)
                amb_conn_forget(a, ev->session);
            amb_event_free(ev);
        }
        if (a->conns == NULL || now >= deadline)
            break;
        poll(&pfd, 1, (int)(deadline - now));
    }
    /* Nodes that did not go in time: their threads exit at the next
     * heartbeat failure; we cannot wait on them forever. */
    while (a->conns != NULL) {
        struct amb_conn *n = a->conns;
        nodeconn_stop(n->conn);
        amb_conn_unlink(a, n);
        nodeconn_free(n->conn);
        free(n);
    }
}

/* The job is over: let every batch become durable and its actions run
 * before the nodes are told. */
static void
amb_drain_journal(struct ambassador *a)
{
    amb_flush(a);
    while (a->inflight > 0) {
        struct pollfd pfd = {.fd = evq_fd(a->events), .events = POLLIN};
        struct amb_event *ev;
        while ((ev = evq_pop(a->events)) != NULL) {
            if (ev->type == EV_JOURNALED) {
                a->inflight--;
                amb_run_deferred(a, ev->u.journaled.after);
                ev->u.journaled.after = NULL;
            }
            amb_event_free(ev);
        }
        if (a->inflight > 0)
            poll(&pfd, 1, AMB_TICK_MS);
    }
}

/* ---- a service's jobs ---- */

static void
amb_job_summary(const struct ambassador *a)
{
    const struct amb_stats *st = amb_core_stats(a->core);
    log_info(
        "job %s: %s; assigned %llu, counted %llu, failures %llu "
        "(reclaimed %llu), results rejected %llu, stale %llu, "
        "duplicates %llu, backups %llu (won %llu)",
        a->job->id, a->done ? "done" : (a->cancelled ? "CANCELLED" : "FAILED"),
        (unsigned long long)st->assigned, (unsigned long long)st->counted,
        (unsigned long long)st->failures, (unsigned long long)st->reclaimed,
        (unsigned long long)st->rejected_results,
        (unsigned long long)st->stale_results,
        (unsigned long long)st->duplicates, (unsigned long long)st->backups,
        (unsigned long long)st->backups_won);
}

/* The holders of a replayed job's sets: their leases say whether they
 * still work on them. */
static void
amb_watch_holders(struct ambassador *a)
{
    const struct set_table *t = amb_core_sets(a->core);
    for (uint32_t i = 0; t != NULL && i < set_table_size(t); i++) {
        const struct set_info *si = set_table_get(t, i);
        if (si->status == SET_PROCESSING)
            sharewatch_watch(a->watch, si->holder_name);
    }
}

/* The runner prepared the next job: it runs now, with its own journal. */
static void
amb_job_begin(struct ambassador *a, struct svc_start *start)
{
    if (a->svc == NULL || a->job != NULL || start == NULL) {
        log_warnx("a job was handed over while another runs; dropped");
        svc_start_free(start);
        return;
    }
    if (amb_core_start_job(a->core, start->job, &start->st, clock_now_ms()) ==
        -1) {
        log_warnx("job %s: out of memory starting it", start->job->id);
        service_job_ended(a->svc, start->job->id, SVC_FAILED, "out of memory",
                          0);
        svc_start_free(start);
        return;
    }
    a->journaler = journaler_start(start->jr, a->cfg->share, a->gen, a->events);
    start->jr = NULL;
    if (a->journaler == NULL)
        amb_oom("journaler");
    journaler_set_compact_bytes(a->journaler, a->cfg->journal_compact_bytes);
    journaler_set_prepare(a->journaler, amb_prepare);
    a->cur = start;
    a->job = start->job;
    a->done = 0;
    a->cancelled = 0;
    amb_watch_holders(a);
    log_info("job %s: %u sets ready", a->job->id, a->job->nsets);
}

static void
amb_job_cancel(struct ambassador *a, const char *id)
{
    if (a->job == NULL || strcmp(a->job->id, id) != 0) {
        log_info("cancel of job %s: it is not running", id);
        return;
    }
    if (amb_core_cancel(a->core, "by request") == -1) {
        log_info("job %s: cancel refused: %s", id,
                 amb_core_concat_started(a->core)
                     ? "it is writing its video already"
                     : "it has stopped already");
        return;
    }
    a->cancelled = 1;
    log_info("job %s: cancelled by request", id);
}

/* What status shows of the running job and the nodes. */
struct amb_live_nodes {
    cJSON *arr;
};

static void
amb_live_node(const struct amb_node_view *v, void *arg)
{
    struct amb_live_nodes *ln = arg;
    cJSON *o;
    if (!v->hello || (o = cJSON_CreateObject()) == NULL)
        return;
    cJSON_AddStringToObject(o, "name", v->name);
    cJSON_AddStringToObject(o, "peer", v->peer);
    cJSON_AddStringToObject(o, "breaker", v->breaker);
    cJSON_AddStringToObject(o, "encoders", v->encoders);
    json_add_u64(o, "counted", v->counted);
    cJSON_AddItemToArray(ln->arr, o);
}

static void
amb_publish(struct ambassador *a, uint64_t now, int force)
{
    cJSON *live, *sets, *frames, *backups;
    struct amb_live_nodes ln;
    uint64_t done = 0;

    if (a->svc == NULL ||
        (!force && now - a->last_publish_ms < AMB_PROGRESS_MS))
        return;
    a->last_publish_ms = now;
    if ((live = cJSON_CreateObject()) == NULL)
        return;
    ln.arr = cJSON_AddArrayToObject(live, "nodes");
    if (ln.arr != NULL)
        amb_core_nodes(a->core, amb_live_node, &ln);
    if (a->job != NULL) {
        const struct set_table *t = amb_core_sets(a->core);
        for (uint32_t i = 0; i < a->job->nsets; i++) {
            uint64_t first, count;
            job_set_range(a->job, i, &first, &count);
            done += set_table_get(t, i)->status == SET_COUNTED
                        ? count
                        : amb_core_progress(a->core, i);
        }
        cJSON_AddStringToObject(live, "job", a->job->id);
        sets = cJSON_AddObjectToObject(live, "sets");
        frames = cJSON_AddObjectToObject(live, "frames");
        if (sets != NULL) {
            json_add_u64(sets, "A", set_table_count(t, SET_AVAILABLE));
            json_add_u64(sets, "B", set_table_count(t, SET_PROCESSING));
            json_add_u64(sets, "C", set_table_count(t, SET_FAILED));
            json_add_u64(sets, "D", set_table_count(t, SET_COUNTED));
            json_add_u64(sets, "total", a->job->nsets);
        }
        if (frames != NULL) {
            json_add_u64(frames, "done", done);
            json_add_u64(frames, "total", a->job->frames->count);
        }
        /* Speculative backups so far: ran, and counted first. */
        backups = cJSON_AddObjectToObject(live, "backups");
        if (backups != NULL) {
            json_add_u64(backups, "ran", amb_core_stats(a->core)->backups);
            json_add_u64(backups, "won", amb_core_stats(a->core)->backups_won);
        }
        if (amb_core_paused(a->core) != NULL)
            cJSON_AddStringToObject(live, "paused", amb_core_paused(a->core));
    }
    service_publish(a->svc, live);
}

/* What the HTTP API shows, at most every AMB_PROGRESS_MS: rendered here
 * (live.h), read by the HTTP threads (board.h). */
static void
amb_board(struct ambassador *a, uint64_t now, int force)
{
    struct live_ctx x;
    struct board_snap *snap;
    cJSON *status = NULL;
    struct timespec wall;

    if (a->board == NULL ||
        (!force && now - a->last_board_ms < AMB_PROGRESS_MS))
        return;
    a->last_board_ms = now;
    clock_gettime(CLOCK_REALTIME, &wall); /* display only */
    memset(&x, 0, sizeof(x));
    x.mode = a->svc != NULL ? "service" : "job";
    x.actions = a->cfg->keyed ? "secret" : "loopback";
    x.generation = a->gen;
    x.job_state = a->done                         ? "done"
                  : a->cancelled                  ? "cancelled"
                  : amb_core_failed(a->core) != 0 ? "failed"
                                                  : "running";
    x.wall_ms = (uint64_t)wall.tv_sec * 1000 + (uint64_t)wall.tv_nsec / 1000000;
    if (a->svc != NULL && (status = service_status(a->svc, NULL)) != NULL)
        x.queue = cJSON_GetObjectItemCaseSensitive(status, "jobs");
    snap = live_snapshot(a->live, a->core, &x, now);
    cJSON_Delete(status);
    if (snap != NULL)
        board_publish(a->board, snap);
}

/* Tell the nodes that said hello that a job is over (a node started with
 * --once leaves then; the others wait for the next job). */
static void
amb_jobend_nodes(struct ambassador *a, const char *id, int ok)
{
    for (struct amb_conn *n = a->conns; n != NULL; n = n->next) {
        struct node_cmd *cmd;
        cJSON *m;
        if (!n->hello)
            continue;
        cmd = calloc(1, sizeof(*cmd));
        m = proto_msg_new(MSG_JOBEND);
        if (cmd == NULL || m == NULL ||
            cJSON_AddStringToObject(m, "job", id) == NULL ||
            cJSON_AddBoolToObject(m, "ok", ok) == NULL) {
            free(cmd);
            cJSON_Delete(m);
            continue;
        }
        cmd->type = CMD_SEND;
        cmd->msg = m;
        nodeconn_send(n->conn, cmd);
    }
}

static void amb_drain_journal(struct ambassador *a);

/* The running job is done or stopped: its journal is made durable and
 * closed, what nodes still hold of it is cancelled, the service told. */
static void
amb_job_over(struct ambassador *a)
{
    size_t n;
    const struct amb_act *acts;
    struct amb_act *copy = NULL;
    enum svc_state st = a->done        ? SVC_DONE
                        : a->cancelled ? SVC_CANCELLED
                                       : SVC_FAILED;
    char id[IDENT_MAX + 1];
    uint64_t frames = a->done ? a->job->frames->count : 0;

    amb_drain_journal(a);
    amb_job_summary(a);
    amb_sweep_job(a);
    snprintf(id, sizeof(id), "%s", a->job->id);
    service_job_ended(a->svc, id, st, a->done ? "" : amb_core_report(a->core),
                      frames);
    acts = amb_core_end_job(a->core, clock_now_ms(), &n);
    if (n > 0 && (copy = malloc(n * sizeof(*copy))) == NULL)
        amb_oom("actions");
    if (n > 0)
        memcpy(copy, acts, n * sizeof(*copy));
    for (size_t i = 0; i < n; i++)
        amb_act(a, &copy[i]);
    free(copy);
    amb_drain_journal(a);
    journaler_free(a->journaler);
    a->journaler = NULL;
    a->job = NULL;
    a->made_of = NULL; /* the next job's may have the same address */
    svc_start_free(a->cur);
    a->cur = NULL;
    a->done = a->cancelled = 0;
    amb_jobend_nodes(a, id, st == SVC_DONE);
    amb_publish(a, clock_now_ms(), 1);
    live_note(a->live, clock_now_ms(), "job", "job %s: %s", id,
              service_state_name(st));
    amb_board(a, clock_now_ms(), 1);
}

/* An action asked for over HTTP: noted, then decided by the core. */
static void
amb_request(struct ambassador *a, const struct amb_event *ev)
{
    if (ev->type == EV_DRAIN)
        live_note(a->live, clock_now_ms(), "request", "node %s: %s by request",
                  ev->name, ev->u.drain.on ? "drain" : "undrain");
    else
        live_note(a->live, clock_now_ms(), "request",
                  "job %s set %u: requeue by request", ev->name, ev->u.set.set);
    amb_step(a, ev);
}

static void
amb_handle(struct ambassador *a, struct amb_event *ev)
{
    switch (ev->type) {
    case EV_JOB:
        amb_job_begin(a, ev->u.job.start);
        ev->u.job.start = NULL;
        return;
    case EV_CANCEL:
        amb_job_cancel(a, ev->name);
        return;
    case EV_DRAIN:
    case EV_REQUEUE:
        amb_request(a, ev);
        return;
    case EV_JOURNALED:
        break;
    default: {
        struct amb_conn *c;
        if ((ev->type == EV_HELLO || ev->type == EV_CONTROL) &&
            (c = amb_conn_find(a, ev->session)) != NULL)
            c->hello = 1; /* authenticated: past the caps */
        if (ev->type == EV_HELLO)
            sharewatch_watch(a->watch, ev->name);
        amb_step(a, ev);
        return;
    }
    }
    a->inflight--;
    amb_run_deferred(a, ev->u.journaled.after);
    ev->u.journaled.after = NULL;
    if (ev->u.journaled.compact)
        amb_compact(a);
}

/* One turn of the loop: wait for a connection or an event (at most a
 * tick), take them, then the tick. 0, or -1 when poll fails. */
static int
amb_turn(struct ambassador *a, const struct amb_event *tick)
{
    uint64_t now = clock_now_ms();
    int paused = now < a->accept_paused_until;
    struct pollfd pfd[2] = {{.fd = paused ? -1 : a->lfd, .events = POLLIN},
                            {.fd = evq_fd(a->events), .events = POLLIN}};
    struct amb_event *ev;
    int timeout = paused && a->accept_paused_until - now < AMB_TICK_MS
                      ? (int)(a->accept_paused_until - now)
                      : AMB_TICK_MS;
    int r = poll(pfd, 2, timeout);
    if (r == -1 && errno != EINTR) {
        log_warn("poll");
        return -1;
    }
    if (pfd[0].revents & POLLIN)
        amb_accept(a);
    while ((ev = evq_pop(a->events)) != NULL) {
        amb_handle(a, ev);
        amb_event_free(ev);
    }
    amb_step(a, tick);
    return 0;
}

int
ambassador_run(struct ambassador *a)
{
    struct amb_event tick;

    memset(&tick, 0, sizeof(tick));
    tick.type = EV_TICK;
    log_info("job %s: %u sets ready; waiting for nodes", a->job->id,
             a->job->nsets);
    while (!a->done && amb_core_failed(a->core) == 0) {
        if (amb_turn(a, &tick) == -1)
            return -1;
        amb_progress(a, clock_now_ms(), a->done);
        amb_flush(a);
        amb_board(a, clock_now_ms(), 0);
    }
    amb_drain_journal(a);
    amb_progress(a, clock_now_ms(), 1);
    amb_board(a, clock_now_ms(), 1);
    amb_finish_nodes(a);
    amb_job_summary(a);
    amb_sweep_job(a);
    return a->done ? 0 : -1;
}

void
ambassador_serve(struct ambassador *a)
{
    struct amb_event tick;

    memset(&tick, 0, sizeof(tick));
    tick.type = EV_TICK;
    log_info("serving jobs; waiting for submissions and nodes");
    for (;;) {
        if (amb_turn(a, &tick) == -1)
            fatalx("the loop cannot poll");
        amb_flush(a);
        if (a->job != NULL && (a->done || amb_core_failed(a->core) != 0))
            amb_job_over(a);
        amb_publish(a, clock_now_ms(), 0);
        amb_board(a, clock_now_ms(), 0);
    }
}

void
ambassador_free(struct ambassador *a)
{
    if (a == NULL)
        return;
    while (a->conns != NULL) {
        struct amb_conn *n = a->conns;
        amb_conn_unlink(a, n);
        nodeconn_stop(n->conn);
        nodeconn_free(n->conn);
        free(n);
    }
    hmap_fini(&a->conn_by_session);
    sharewatch_free(a->watch);
    journaler_free(a->journaler);
    checker_free(a->checker);
    evq_free(a->events, amb_event_free);
    amb_deferred_free(a->after);
    svc_start_free(a->cur);
    nodenames_free(a->names);
    for (size_t i = 0; i < a->nbatch; i++)
        free(a->batch[i]);
    free(a->batch);
    amb_core_free(a->core);
    live_free(a->live);
    if (a->spare_fd != -1)
        close(a->spare_fd);
    free(a->made);
    free(a);
}
