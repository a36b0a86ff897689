/*
 * session.h - a render node's life with the ambassador: connect (retrying
 * with backoff and full jitter until it answers), authenticate, say hello
 * with the encoders that passed their probe and the sets still in hand,
 * then serve: take assigns, render them on the worker slots, report done
 * or fail, and exchange heartbeats with progress. A lost connection does
 * not stop the work in hand: it goes on for a grace period and is reported
 * after reconnecting, unless the node fences itself first because its
 * lease could not be renewed. Runs on the node's main thread; it never
 * touches the share (the lease keeper and the workers do).
 */
#ifndef FF_SESSION_H
#define FF_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "common/auth.h"
#include "common/fsutil.h"
#include "common/ident.h"
#include "common/netio.h"
#include "common/shareid.h"
#include "gpu-node/encsel.h"
#include "media/decprobe.h"
#include "media/encprobe.h"

#define NODE_DEFAULT_RETRY_S 300
#define NODE_MAX_SLOTS 16
/* Until the ambassador's welcome says otherwise (reliability.md §3.4). */
#define NODE_DEFAULT_LEASE_RENEW_MS 2000
#define NODE_DEFAULT_FENCE_MS 25000 /* until welcome says (config.h) */
#define NODE_DEFAULT_GRACE_MS 60000

struct node_config {
    char host[NET_HOST_MAX];
    int port;
    char share[FS_PATH_MAX];
    char name[IDENT_MAX + 1];
    char encoder[ENC_NAME_MAX]; /* node policy: auto, cpu, nvenc, ... */
    int threads;                /* decode threads per render; 0 = CPUs */
    int slots;
    uint64_t retry_ms; /* give up when the ambassador is unreachable */
    int once;          /* exit when a service's job ends (jobend) */
    char share_id[SHAREID_HEX + 1]; /* its share's coord/share-id */
    int keyed;
    struct auth_secret secret;
    struct net_timeouts tcp;
    struct encprobe_entry enc[ENCPROBE_MAX];
    size_t nenc;
    struct encsel *sel; /* chooses each set's encoder (owns its breakers) */
    /* Where JPEGs are decoded: "cpu", "nvdec", "vaapi" (decprobe's
     * choice at start-up). */
    char decoder[DECPROBE_NAME_MAX];
    const char *fault_decoder; /* test hook fault_decoder(), or NULL */
};

/* 0 when the ambassador said the job is finished (ok), 1 when it
 * finished with a failure, -1 when it could not be reached or refused us
 * (logged). */
int session_run(const struct node_config *cfg);

#endif
