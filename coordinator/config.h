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
#include "coordinator/breaker.h"
#include "media/zipframes.h"

#define CONFIG_DEFAULT_SET_SIZE 24
#define CONFIG_MAX_SET_SIZE MANIFEST_MAX_FRAMES
#define CONFIG_DEFAULT_HB_MS 1000
#define CONFIG_DEFAULT_SUSPECT_MS 3000
#define CONFIG_DEFAULT_DEAD_MS 6000
#define CONFIG_DEFAULT_HELLO_MS 5000
#define CONFIG_DEFAULT_MAX_NODES_PER_SET 3
#define CONFIG_DEFAULT_MAX_FAILURES_PER_SET 6
#define CONFIG_MAX_SLOTS 16

struct coord_config {
    char share[FS_PATH_MAX];  /* share root */
    char input[FS_PATH_MAX];  /* the zip */
    char output[FS_PATH_MAX]; /* the final video */
    char job[IDENT_MAX + 1];
    char listen_host[NET_HOST_MAX];
    int listen_port;
    uint32_t set_size;
    struct enc_params enc; /* width/height filled from the frames */
    struct zipf_limits limits;
    struct net_timeouts tcp;
    struct breaker_config breaker;
    uint64_t hb_ms;                /* heartbeat interval, both ways */
    uint64_t suspect_ms;           /* no new work after this much silence */
    uint64_t dead_ms;              /* session dropped after this much silence */
    uint64_t hello_ms;             /* a new connection must say hello by then */
    uint32_t max_nodes_per_set;    /* distinct failing nodes before the job
                                      stops */
    uint32_t max_failures_per_set; /* failures, or reclaims, in all before
                                      the job stops (fewer nodes than
                                      max_nodes_per_set) */
    int progress;                  /* print progress lines on stdout */
    int keyed;                     /* nodes must authenticate */
    struct auth_secret secret;
};

void config_defaults(struct coord_config *c);
/* Divide every timing by scale (>= 1). */
void config_scale(struct coord_config *c, double scale);

#endif
