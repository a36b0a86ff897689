/*
 * events.h - what the node threads and the checker tell the ambassador's
 * loop (struct amb_event, through the loop's evq), and what the loop tells a
 * node thread (struct node_cmd, through that node's outbox). Events are
 * plain values: the loop never reads a node thread's state directly.
 */
#ifndef FF_EVENTS_H
#define FF_EVENTS_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include "common/encparams.h"
#include "common/breaker.h"
#include "common/err.h"
#include "common/fsutil.h"
#include "common/hash.h"
#include "common/ident.h"
#include "common/lease.h"
#include "media/vidinfo.h"

#define EV_DECODER_MAX 16
#define EV_ENCODERS_MAX 256
#define EV_ENCODER_LIST_MAX 32

enum amb_event_type {
    EV_HELLO,     /* node thread: handshake done (name, encoders, slots) */
    EV_WANT,      /* node thread: a slot is free and the breaker allows */
    EV_UNWANT,    /* node thread: breaker opened or node suspect */
    EV_DECLINE,   /* node thread: an assign came after EV_UNWANT */
    EV_PROGRESS,  /* node thread: frames done on a set */
    EV_DONE,      /* node thread: the node says a set is rendered */
    EV_FAIL,      /* node thread: the node says a set failed */
    EV_BREAKER,   /* node thread: its breaker changed state */
    EV_GONE,      /* node thread: exiting; text = why */
    EV_CHECKED,   /* checker: a result was validated (ok) or not */
    EV_CONCATED,  /* checker: the final video is written (ok) or not */
    EV_SHARE,     /* sharewatch: the share probe answered (ok) or not */
    EV_LEASE,     /* sharewatch: a node's lease record as read */
    EV_JOURNALED, /* journaler: a batch is durable; ptr = its actions */
};

struct amb_event {
    enum amb_event_type type;
    uint64_t session; /* node session (not for checker events) */
    uint32_t set;
    uint64_t epoch;
    uint64_t frames;
    uint64_t bytes;
    int ok;
    int slots;
    char name[IDENT_MAX + 1];
    char sha256[HASH_HEX_LEN + 1];
    char encoder[32];
    char preset[ENC_NAME_MAX]; /* EV_DONE, EV_CHECKED: the preset used */
    char fallback[ERR_MAX];    /* EV_DONE, EV_CHECKED: why not the encoder
                                  asked for ("" when it was) */
    char encoders[EV_ENCODERS_MAX];
    char decoder[EV_DECODER_MAX]; /* EV_HELLO: where it decodes JPEGs */
    char path[FS_PATH_MAX];       /* relative to the share */
    char text[ERR_MAX];           /* reason, error or state */
    struct vidinfo info;          /* EV_CHECKED */
    int died;                     /* EV_GONE: closed without detach */
    struct breaker br;  /* EV_GONE: the session's breaker at its end */
    int admitted;       /* EV_GONE: it had applied CMD_ADMIT */
    void *ptr;          /* EV_JOURNALED: the loop's deferred actions */
    struct lease lease; /* EV_LEASE; EV_HELLO: held sets in .held */
};

enum node_cmd_type {
    CMD_ASSIGN, /* msg is the assign; set/epoch say which */
    CMD_RESULT, /* msg is the result; ok says accepted */
    CMD_FINISH, /* msg is the finish; then close */
    CMD_CANCEL, /* msg is the cancel; the node drops (set, epoch) */
    CMD_LEASE,  /* ok = 0: the node's lease stopped advancing (trip the
                   breaker, ask for nothing); ok = 1: it advances again */
    CMD_ADMIT,  /* the loop took the hello: the thread may ask for work;
                   ok: br is the breaker this node name had in its last
                   session, to apply first */
};

struct node_cmd {
    enum node_cmd_type type;
    uint32_t set;
    uint64_t epoch;
    int ok;
    cJSON *msg; /* owned; NULL for CMD_ADMIT */
    struct breaker br;
};

void node_cmd_free(void *cmd); /* evq free_item; NULL ok */

#endif
