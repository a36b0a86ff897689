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
#include <unistd.h>

#include "common/clock.h"
#include "common/evq.h"
#include "common/fault.h"
#include "common/jsonutil.h"
#include "common/log.h"
#include "common/proto.h"
#include "coordinator/amb_core.h"
#include "coordinator/checker.h"
#include "coordinator/events.h"
#include "coordinator/journaler.h"
#include "coordinator/nodeconn.h"
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

/* A node's thread, by session. */
struct amb_conn {
    uint64_t session;
    struct nodeconn *conn;
    char host[EV_PEER_MAX]; /* the peer's address, without its port */
    int hello;              /* it said hello (authenticated, when keyed) */
    struct amb_conn *next;
};

/* An action that waits for the journal: a message to a node, the start of
 * the concat, the end of the job, a log line. */
enum amb_def_type { DEF_SEND, DEF_CONCAT, DEF_DONE, DEF_LOG };
struct amb_deferred {
    enum amb_def_type type;
    uint64_t session;
    int assign;           /* DEF_SEND: an assign (a crash point) */
    int accepted;         /* DEF_SEND: an accepting result (a crash point) */
    struct node_cmd *cmd; /* DEF_SEND, owned */
    char **paths;         /* DEF_CONCAT, owned */
    char **shas;          /* DEF_CONCAT, owned: each path's sha256 */
    size_t npaths;
    char *text; /* DEF_LOG, owned */
    struct amb_deferred *next;
};

struct ambassador {
    const struct coord_config *cfg;
    const struct job *job;
    int lfd;
    struct evq *events;
    struct amb_core *core;
    struct checker *checker;
    struct sharewatch *watch;
    struct journaler *journaler;
    struct amb_conn *conns;
    char **batch; /* records of this loop turn, for the journaler */
    size_t nbatch, capbatch;
    struct amb_deferred *after, **after_tail; /* this turn's actions */
    uint64_t inflight; /* batches handed to the journaler, not yet back */
    uint64_t next_session;
    size_t max_conns; /* what the descriptor limit allows */
    int spare_fd;     /* given up to accept-and-close when out of fds */
    uint64_t refused; /* connections turned away since the last log */
    uint64_t refuse_log_ms;
    int done; /* ACT_DONE ran: the final video is written and journaled */
    uint64_t last_progress_ms;
    char last_progress[AMB_PROGRESS_LINE_MAX];
};

static void amb_step(struct ambassador *a, const struct amb_event *ev);

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
    if (rl.rlim_cur == RLIM_INFINITY)
        return SIZE_MAX / AMB_FDS_PER_CONN;
    return rl.rlim_cur > AMB_FD_RESERVE
               ? (size_t)(rl.rlim_cur - AMB_FD_RESERVE) / AMB_FDS_PER_CONN
               : 0;
}

struct ambassador *
ambassador_new(const struct coord_config *cfg, const struct job *job, int lfd,
               struct jrec_state *restored, struct journal *jr, uint64_t gen)
{
    struct ambassador *a = calloc(1, sizeof(*a));
    if (a == NULL) {
        journal_close(jr);
        return NULL;
    }
    a->cfg = cfg;
    a->job = job;
    a->lfd = lfd;
    a->next_session = 1;
    a->after_tail = &a->after;
    a->max_conns = amb_max_conns();
    a->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    a->events = evq_new();
    a->core = amb_core_new(cfg, job, restored, clock_now_ms());
    if (a->events == NULL || a->core == NULL) {
        journal_close(jr);
        ambassador_free(a);
        return NULL;
    }
    a->checker = checker_start(a->events);
    a->watch = sharewatch_start(job->share, cfg->share_poll_ms,
                                cfg->share_min_free_bytes, a->events);
    a->journaler = journaler_start(jr, job->share, gen, a->events);
    if (a->journaler != NULL)
        journaler_set_compact_bytes(a->journaler, cfg->journal_compact_bytes);
    if (a->checker == NULL || a->watch == NULL || a->journaler == NULL) {
        if (a->journaler == NULL)
            journal_close(jr);
        ambassador_free(a);
        return NULL;
    }
    return a;
}

const struct amb_stats *
ambassador_stats(const struct ambassador *a)
{
    return amb_core_stats(a->core);
}

static struct amb_conn *
amb_conn_find(struct ambassador *a, uint64_t session)
{
    for (struct amb_conn *n = a->conns; n != NULL; n = n->next)
        if (n->session == session)
            return n;
    return NULL;
}

static void
amb_conn_forget(struct ambassador *a, uint64_t session)
{
    for (struct amb_conn **p = &a->conns; *p != NULL; p = &(*p)->next) {
        struct amb_conn *n = *p;
        if (n->session == session) {
            *p = n->next;
            nodeconn_free(n->conn);
            free(n);
            return;
        }
    }
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
    journaler_write(a->journaler, a->batch, a->nbatch, a->after);
    a->batch = NULL;
    a->nbatch = a->capbatch = 0;
    a->after = NULL;
    a->after_tail = &a->after;
    a->inflight++;
}

/* The journal grew past its limit: hand the journaler the core's snapshot
 * of the state after everything already queued (this turn's records go
 * first), which replaces the file. */
static void
amb_compact(struct ambassador *a)
{
    size_t n;
    const struct jrec *snap;
    char **recs;

    amb_flush(a);
    snap = amb_core_snapshot(a->core, &n);
    if (snap == NULL || (recs = calloc(n, sizeof(*recs))) == NULL)
        return;
    for (size_t i = 0; i < n; i++) {
        if ((recs[i] = jrec_encode(&snap[i])) == NULL) {
            for (size_t k = 0; k < i; k++)
                free(recs[k]);
            free(recs);
            return;
        }
    }
    journaler_compact(a->journaler, recs, n);
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
    free(ev);
}

/* ---- carrying out the core's actions ---- */

static cJSON *
amb_msg_new(const char *type)
{
    cJSON *m = cJSON_CreateObject();
    if (m == NULL || cJSON_AddStringToObject(m, "type", type) == NULL) {
        cJSON_Delete(m);
        return NULL;
    }
    return m;
}

static cJSON *
amb_msg_set(const char *type, uint32_t set, uint64_t epoch)
{
    cJSON *m = amb_msg_new(type);
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
        m = amb_msg_new(MSG_ERROR);
        if (m != NULL &&
            cJSON_AddStringToObject(m, "msg", act->u.send.text) == NULL) {
            cJSON_Delete(m);
            return NULL;
        }
        return m;
    }
    return NULL;
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

    switch (act->type) {
    case ACT_SEND:
        amb_act_send(a, act);
        break;
    case ACT_RECORD:
        amb_record(a, &act->u.rec.r);
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
                           a->cfg->output, a->job->frames->count, &a->job->enc);
            d->paths = d->shas = NULL; /* the checker took them */
            d->npaths = 0;
            break;
        case DEF_DONE:
            a->done = 1;
            break;
        case DEF_LOG:
            log_info("%s", d->text);
            break;
        }
        d->next = NULL;
        amb_deferred_free(d);
        d = next;
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

    if (!a->cfg->progress ||
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
            amb_accept_shed(a);
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
    c->conn = nodeconn_start(fd, peer, c->session, a->cfg, a->events);
    if (c->conn == NULL) {
        log_warn("connection from %s: cannot start its thread", peer);
        free(c);
        return;
    }
    c->next = a->conns;
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
        cJSON *m = amb_msg_new(MSG_FINISH);
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
        a->conns = n->next;
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

static void
amb_handle(struct ambassador *a, struct amb_event *ev)
{
    if (ev->type != EV_JOURNALED) {
        struct amb_conn *c;
        if (ev->type == EV_HELLO && (c = amb_conn_find(a, ev->session)) != NULL)
            c->hello = 1;
        amb_step(a, ev);
        return;
    }
    a->inflight--;
    amb_run_deferred(a, ev->u.journaled.after);
    ev->u.journaled.after = NULL;
    if (ev->u.journaled.compact)
        amb_compact(a);
}

int
ambassador_run(struct ambassador *a)
{
    const struct amb_stats *st = amb_core_stats(a->core);
    struct amb_event tick;

    memset(&tick, 0, sizeof(tick));
    tick.type = EV_TICK;
    log_info("job %s: %u sets ready; waiting for nodes", a->job->id,
             a->job->nsets);
    while (!a->done && amb_core_failed(a->core) == 0) {
        struct pollfd pfd[2] = {{.fd = a->lfd, .events = POLLIN},
                                {.fd = evq_fd(a->events), .events = POLLIN}};
        struct amb_event *ev;
        int r = poll(pfd, 2, AMB_TICK_MS);
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
        amb_step(a, &tick);
        amb_progress(a, clock_now_ms(), a->done);
        amb_flush(a);
    }
    amb_drain_journal(a);
    amb_progress(a, clock_now_ms(), 1);
    amb_finish_nodes(a);
    log_info("job %s: %s; assigned %llu, counted %llu, failures %llu "
             "(reclaimed %llu), results rejected %llu, stale %llu, "
             "duplicates %llu",
             a->job->id, a->done ? "done" : "FAILED",
             (unsigned long long)st->assigned, (unsigned long long)st->counted,
             (unsigned long long)st->failures,
             (unsigned long long)st->reclaimed,
             (unsigned long long)st->rejected_results,
             (unsigned long long)st->stale_results,
             (unsigned long long)st->duplicates);
    return a->done ? 0 : -1;
}

void
ambassador_free(struct ambassador *a)
{
    if (a == NULL)
        return;
    while (a->conns != NULL) {
        struct amb_conn *n = a->conns;
        a->conns = n->next;
        nodeconn_stop(n->conn);
        nodeconn_free(n->conn);
        free(n);
    }
    sharewatch_free(a->watch);
    journaler_free(a->journaler);
    checker_free(a->checker);
    evq_free(a->events, amb_event_free);
    amb_deferred_free(a->after);
    for (size_t i = 0; i < a->nbatch; i++)
        free(a->batch[i]);
    free(a->batch);
    amb_core_free(a->core);
    if (a->spare_fd != -1)
        close(a->spare_fd);
    free(a);
}
