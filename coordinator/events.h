/*
 * events.h - what the node threads, the checker, the share watcher and the
 * journaler tell the ambassador's loop (struct amb_event, through the
 * loop's evq), and what the loop tells a node thread (struct node_cmd,
 * through that node's outbox). Events are plain values, a tagged union:
 * the loop never reads another thread's state directly. Every event but
 * EV_JOURNALED is handed on to the ambassador core (amb_core.h), which
 * decides; the loop carries out what it decides.
 */
#ifndef FF_EVENTS_H
#define FF_EVENTS_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include "common/encparams.h"
#include "common/err.h"
#include "common/fsutil.h"
#include "common/hash.h"
#include "common/ident.h"
#include "common/lease.h"
#include "media/vidinfo.h"

#define EV_DECODER_MAX 16
#define EV_ENCODERS_MAX 256
#define EV_ENCODER_LIST_MAX 32
#define EV_ENCODER_MAX 32
#define EV_PEER_MAX 64

enum amb_event_type {
    EV_ACCEPTED,    /* loop: a connection was accepted (u.accepted) */
    EV_HELLO,       /* node thread: handshake done (u.hello) */
    EV_SUSPECT,     /* node thread: silent past suspect_ms, or heard again
                       (u.suspect) */
    EV_PROGRESS,    /* node thread: frames done on a set (u.set) */
    EV_DONE,        /* node thread: the node says a set is rendered
                       (u.result) */
    EV_FAIL,        /* node thread: the node says a set failed (u.set) */
    EV_GONE,        /* node thread: exiting (u.gone) */
    EV_UNDELIVERED, /* loop: an assign could not be built (u.set) */
    EV_CHECKED,     /* checker: a result was validated, or not (u.checked) */
    EV_CONCATED,    /* checker: the final video is written, or not
                       (u.concated) */
    EV_SHARE,       /* sharewatch: the share probe answered, or not
                       (u.share) */
    EV_LEASE,       /* sharewatch: a node's lease record as read (u.lease) */
    EV_TICK,        /* loop: time passed; the timed rules and dispatch run */
    EV_JOURNALED,   /* journaler: a batch is durable (u.journaled); the
                       loop's own, never handed to the core */
    EV_JOB,         /* service runner: run this job next (u.job); the
                       loop's own */
    EV_CANCEL,      /* control thread: cancel the job named in name; the
                       loop's own */
    EV_CONTROL,     /* node thread: the connection is a control client,
                       authenticated; the loop's own */
    EV_DRAIN,       /* HTTP: give the node named in name no new work
                       (u.drain.on), or again (off) */
    EV_REQUEUE,     /* HTTP: set u.set.set of the job named in name goes
                       back to the queue now (taken from its node, or its
                       failures forgiven) */
};

struct ev_accepted {
    char peer[EV_PEER_MAX];
};

struct ev_hello {
    int slots;
    char peer[EV_PEER_MAX];
    char encoders[EV_ENCODERS_MAX];
    char decoder[EV_DECODER_MAX]; /* where it decodes JPEGs */
    uint32_t nheld;               /* sets still in its hands */
    struct lease_held held[LEASE_MAX_HELD];
};

struct ev_suspect {
    int on; /* 1: turned silent; 0: heard again */
    uint64_t silent_ms;
};

/* EV_PROGRESS, EV_FAIL, EV_UNDELIVERED */
struct ev_set {
    uint32_t set;
    uint64_t epoch;
    uint64_t frames;    /* EV_PROGRESS */
    int nospace;        /* EV_FAIL: refused for want of space on the share
                           (the environment's fault, not the set's) */
    int decline;        /* EV_FAIL: the node declined it for its own
                           environment (no free slot, fenced, its share
                           gone): not the set's fault, nor its render's */
    int share_io;       /* EV_FAIL: the share failed under the render
                           (EIO, ESTALE...): counted as a loss with a node,
                           not a failure of the set */
    char text[ERR_MAX]; /* EV_FAIL: the node's error */
};

/* What a node reports of a rendered set, and what the checker checks. */
struct ev_result {
    uint32_t set;
    uint64_t epoch;
    uint64_t frames;
    uint64_t bytes;
    char sha256[HASH_HEX_LEN + 1];
    char encoder[EV_ENCODER_MAX];
    char preset[ENC_NAME_MAX];
    char fallback[ERR_MAX]; /* why not the encoder asked for ("" when it
                               was) */
    uint64_t damaged;       /* frames decoded with a corruption warning */
    char path[FS_PATH_MAX]; /* relative to the share */
};

struct ev_checked {
    struct ev_result r;
    int ok;
    char text[ERR_MAX]; /* why not */
    struct vidinfo info;
};

struct ev_gone {
    int died; /* closed without detach: the node's process is gone */
    int trip; /* it lost liveness (heartbeat timeout, protocol error) */
    char text[ERR_MAX];
};

#define EV_CONCAT_BAD_MAX 64

struct ev_concated {
    int ok;
    uint32_t nbad; /* counted results missing or changed since they were
                      counted (the first EV_CONCAT_BAD_MAX; nothing was
                      written) */
    uint32_t bad[EV_CONCAT_BAD_MAX];
    int transient; /* it failed for want of a resource (descriptors,
                      memory, space): try again later */
    uint64_t frames;
    char text[ERR_MAX];
};

struct ev_share {
    int ok;
    int full;            /* answered, but out of space (or below the
                            configured minimum free) */
    uint64_t free_bytes; /* what statvfs says is free to us */
    uint64_t gen; /* highest ambassador generation claimed on the share */
    char text[ERR_MAX];
};

struct ev_journaled {
    int compact; /* the journal grew past its limit */
    void *after; /* the loop's deferred actions */
};

struct ev_job {
    void *start; /* struct svc_start (service.h), owned */
};

struct ev_drain {
    int on;
};

struct amb_event {
    enum amb_event_type type;
    uint64_t session; /* node session (node-thread and loop events) */
    char name[IDENT_MAX + 1];
    union {
        struct ev_accepted accepted;
        struct ev_hello hello;
        struct ev_suspect suspect;
        struct ev_set set;
        struct ev_result result;
        struct ev_checked checked;
        struct ev_gone gone;
        struct ev_concated concated;
        struct ev_share share;
        struct lease lease;
        struct ev_journaled journaled;
        struct ev_job job;
        struct ev_drain drain;
    } u;
};

enum node_cmd_type {
    CMD_SEND,   /* send msg to the node */
    CMD_FINISH, /* send msg (when not NULL), then close */
};

struct node_cmd {
    enum node_cmd_type type;
    cJSON *msg; /* owned */
};

void node_cmd_free(void *cmd); /* evq free_item; NULL ok */

#endif
