/*
 * config.h - everything the ambassador is told at start-up: paths, the
 * job's encode parameters, and every timing (scaled by time_scale so tests
 * can run the same logic faster). Filled by main, read-only afterwards and
 * shared by every thread.
 */
#ifndef FF_CONFIG_H
#define FF_CONFIG_H

#include <stdint.h>

#include "common/auth.h"
#include "common/encparams.h"
#include "common/fsutil.h"
#include "common/ident.h"
#include "common/netio.h"
#include "common/shareid.h"
#include "common/breaker.h"
#include "media/zipframes.h"

#define CONFIG_DEFAULT_SET_SIZE 24
#define CONFIG_MAX_SET_SIZE MANIFEST_MAX_FRAMES
#define CONFIG_DEFAULT_HB_MS 1000
#define CONFIG_DEFAULT_SUSPECT_MS 3000
#define CONFIG_DEFAULT_DEAD_MS 6000
#define CONFIG_DEFAULT_HELLO_MS 5000
#define CONFIG_DEFAULT_MAX_NODES_PER_SET 3
#define CONFIG_DEFAULT_MAX_FAILURES_PER_SET 6
/* A set lost with its node (a cable, a crash) says little about the set:
 * it may be lost three times as often as a render may fail. */
#define CONFIG_DEFAULT_MAX_RECLAIMS_PER_SET 18
#define CONFIG_DEFAULT_BACKUPS 1
#define CONFIG_MAX_SLOTS 16
#define CONFIG_DEFAULT_LEASE_RENEW_MS 2000
/* Derived from NFS's own timeouts (docs/operations.md, "Timings"): with
 * the mount options framefarm asks for (hard,timeo=100,retrans=2) one
 * lost RPC stalls a lease write for timeo, 10 s, and a second one 20 s;
 * a node fences only after two of them plus a renewal period, so a share
 * hiccup does not throw away every render in flight. reclaim_ms adds the
 * ambassador's lag in seeing a lease (a renewal and a poll) and a margin,
 * so a silent node has always stopped before its sets are reclaimed. */
#define CONFIG_DEFAULT_FENCE_MS 25000
#define CONFIG_DEFAULT_RECLAIM_MS 30000
#define CONFIG_DEFAULT_GRACE_MS 60000
#define CONFIG_DEFAULT_SHARE_POLL_MS 1000
#define CONFIG_DEFAULT_SHARE_SUSPECT_MS 5000
#define CONFIG_DEFAULT_JOURNAL_COMPACT_BYTES (1u << 20)
/* zip_max_entries may be raised this far (libzip counts in 64 bits; the
 * listing takes about 100 bytes an entry). */
#define CONFIG_MAX_ZIP_ENTRIES (100ull * 1000 * 1000)
#define CONFIG_DEFAULT_SHARE_MIN_FREE_BYTES (256ull << 20)

struct coord_config {
    char share[FS_PATH_MAX];  /* share root */
    char input[FS_PATH_MAX];  /* the zip */
    char output[FS_PATH_MAX]; /* the final video */
    char job[IDENT_MAX + 1];
    char listen_host[NET_HOST_MAX];
    int listen_port;
    uint32_t set_size;
    uint32_t tail_sets;    /* the last set is cut into this many (0: not cut;
                              media/setplan.h) */
    struct enc_params enc; /* width/height filled from the frames */
    struct enc_size size;  /* --size: {0, 0} for the frames' own */
    struct zipf_limits limits;
    struct net_timeouts tcp;
    struct breaker_config breaker;
    uint64_t hb_ms;          /* heartbeat interval, both ways */
    uint64_t suspect_ms;     /* no new work after this much silence */
    uint64_t dead_ms;        /* session dropped after this much silence */
    uint64_t hello_ms;       /* a new connection must say hello by then */
    uint64_t lease_renew_ms; /* nodes renew their lease this often */
    uint64_t fence_ms;       /* a node stops when it could not renew for this */
    uint64_t reclaim_ms;     /* a silent node's sets come back this long after
                                its lease last advanced (> fence_ms) */
    uint64_t grace_ms;       /* a node keeps working this long unconnected */
    uint64_t share_poll_ms;  /* share probe and lease reads */
    uint64_t share_suspect_ms;     /* no probe answer for this: share sick */
    uint32_t max_nodes_per_set;    /* distinct failing nodes before the job
                                      stops */
    uint32_t max_failures_per_set; /* failures in all before the job stops
                                      (fewer nodes than max_nodes_per_set) */
    uint32_t max_reclaims_per_set; /* losses with a node (network, crash)
                                      before the job stops */
    int progress;                  /* print progress lines on stdout */
    int keyed;                     /* nodes must authenticate */
    int force; /* a job of this name made from another input is removed and
                  started anew (otherwise refused) */
    uint64_t journal_compact_bytes; /* compact the journal past this */
    uint32_t max_sets;              /* a job with more sets is refused
                                       (at most MANIFEST_MAX_SETS) */
    uint64_t share_min_free_bytes;  /* below this the share is full: no new
                                       work until there is space again */
    uint64_t gen; /* this ambassador's generation (set by main) */
    char share_id[SHAREID_HEX + 1]; /* coord/share-id (set by main) */
    uint64_t job_seq; /* the job's number in the service's queue (0: a
                         one-shot job); its epochs start at job_seq <<
                         JOB_EPOCH_SHIFT */
    struct auth_secret secret;
    /* Speculative backups a set may get at the end of a job (amb_core.h);
     * 0: none. */
    uint32_t backups;
};

void config_defaults(struct coord_config *c);
/* Read timings and limits from a JSON file (keys as in docs/operations.md;
 * an unknown key or a bad value is an error, so a typo never passes
 * silently). 0, or -1 with err. */
int config_load(struct coord_config *c, const char *path, double *scale,
                char *err, size_t errlen);
/* Set one timing or limit by its config key from a decimal string (the
 * flags use the same keys). 0, or -1 with err. */
int config_set(struct coord_config *c, const char *key, const char *value,
               char *err, size_t errlen);
/* Divide every timing by scale (>= 1). */
void config_scale(struct coord_config *c, double scale);

#endif
