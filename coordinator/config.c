/*
 * config.c - see config.h.
 */
#include "coordinator/config.h"

#include <stdio.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/jsonutil.h"
#include "common/manifest.h"

void
config_defaults(struct coord_config *c)
{
    memset(c, 0, sizeof(*c));
    snprintf(c->listen_host, sizeof(c->listen_host), "0.0.0.0");
    c->listen_port = NET_DEFAULT_PORT;
    c->set_size = CONFIG_DEFAULT_SET_SIZE;
    encparams_init(&c->enc);
    zipf_limits_init(&c->limits);
    net_timeouts_default(&c->tcp);
    breaker_config_default(&c->breaker);
    c->hb_ms = CONFIG_DEFAULT_HB_MS;
    c->suspect_ms = CONFIG_DEFAULT_SUSPECT_MS;
    c->dead_ms = CONFIG_DEFAULT_DEAD_MS;
    c->hello_ms = CONFIG_DEFAULT_HELLO_MS;
    c->max_nodes_per_set = CONFIG_DEFAULT_MAX_NODES_PER_SET;
    c->lease_renew_ms = CONFIG_DEFAULT_LEASE_RENEW_MS;
    c->fence_ms = CONFIG_DEFAULT_FENCE_MS;
    c->reclaim_ms = CONFIG_DEFAULT_RECLAIM_MS;
    c->grace_ms = CONFIG_DEFAULT_GRACE_MS;
    c->share_poll_ms = CONFIG_DEFAULT_SHARE_POLL_MS;
    c->share_suspect_ms = CONFIG_DEFAULT_SHARE_SUSPECT_MS;
    c->journal_compact_bytes = CONFIG_DEFAULT_JOURNAL_COMPACT_BYTES;
    c->max_sets = MANIFEST_MAX_SETS;
    c->share_min_free_bytes = CONFIG_DEFAULT_SHARE_MIN_FREE_BYTES;
    c->max_failures_per_set = CONFIG_DEFAULT_MAX_FAILURES_PER_SET;
    c->max_reclaims_per_set = CONFIG_DEFAULT_MAX_RECLAIMS_PER_SET;
    c->backups = CONFIG_DEFAULT_BACKUPS;
}

static uint64_t
config_div(uint64_t v, double scale)
{
    uint64_t r = (uint64_t)((double)v / scale);
    return r > 0 ? r : 1;
}

void
config_scale(struct coord_config *c, double scale)
{
    if (scale <= 1.0)
        return;
    c->hb_ms = config_div(c->hb_ms, scale);
    c->suspect_ms = config_div(c->suspect_ms, scale);
    c->dead_ms = config_div(c->dead_ms, scale);
    c->hello_ms = config_div(c->hello_ms, scale);
    c->lease_renew_ms = config_div(c->lease_renew_ms, scale);
    c->fence_ms = config_div(c->fence_ms, scale);
    c->reclaim_ms = config_div(c->reclaim_ms, scale);
    c->grace_ms = config_div(c->grace_ms, scale);
    c->share_poll_ms = config_div(c->share_poll_ms, scale);
    c->share_suspect_ms = config_div(c->share_suspect_ms, scale);
    c->breaker.cooldown_ms = config_div(c->breaker.cooldown_ms, scale);
    c->breaker.cooldown_max_ms = config_div(c->breaker.cooldown_max_ms, scale);
}

#define CONFIG_FILE_MAX (64u << 10)
#define CONFIG_MAX_MS 86400000ull
#define CONFIG_MAX_COUNT 1000ull
#define CONFIG_MAX_SCALE 1000.0

/* Every tunable, by the key used in the config file and on the command
 * line (--KEY with '_' written as '-'). */
static const struct config_key {
    const char *key;
    size_t off;
    int is_u32; /* else uint64_t */
    uint64_t min, max;
} config_keys[] = {
    {"heartbeat_ms", offsetof(struct coord_config, hb_ms), 0, 1, CONFIG_MAX_MS},
    {"suspect_ms", offsetof(struct coord_config, suspect_ms), 0, 1,
     CONFIG_MAX_MS},
    {"dead_ms", offsetof(struct coord_config, dead_ms), 0, 1, CONFIG_MAX_MS},
    {"hello_ms", offsetof(struct coord_config, hello_ms), 0, 1, CONFIG_MAX_MS},
    {"lease_renew_ms", offsetof(struct coord_config, lease_renew_ms), 0, 1,
     CONFIG_MAX_MS},
    {"fence_ms", offsetof(struct coord_config, fence_ms), 0, 1, CONFIG_MAX_MS},
    {"reclaim_ms", offsetof(struct coord_config, reclaim_ms), 0, 1,
     CONFIG_MAX_MS},
    {"grace_ms", offsetof(struct coord_config, grace_ms), 0, 1, CONFIG_MAX_MS},
    {"share_poll_ms", offsetof(struct coord_config, share_poll_ms), 0, 1,
     CONFIG_MAX_MS},
    {"share_suspect_ms", offsetof(struct coord_config, share_suspect_ms), 0, 1,
     CONFIG_MAX_MS},
    {"breaker_cooldown_ms",
     offsetof(struct coord_config, breaker) +
         offsetof(struct breaker_config, cooldown_ms),
     0, 1, CONFIG_MAX_MS},
    {"breaker_cooldown_max_ms",
     offsetof(struct coord_config, breaker) +
         offsetof(struct breaker_config, cooldown_max_ms),
     0, 1, CONFIG_MAX_MS},
    {"breaker_consecutive",
     offsetof(struct coord_config, breaker) +
         offsetof(struct breaker_config, consecutive),
     1, 1, CONFIG_MAX_COUNT},
    {"breaker_window",
     offsetof(struct coord_config, breaker) +
         offsetof(struct breaker_config, window),
     1, 1, BREAKER_WINDOW_MAX},
    {"journal_compact_bytes",
     offsetof(struct coord_config, journal_compact_bytes), 0, 1024, 1ull << 30},
    {"zip_max_entries",
     offsetof(struct coord_config, limits) +
         offsetof(struct zipf_limits, max_entries),
     0, 1, CONFIG_MAX_ZIP_ENTRIES},
    {"max_sets", offsetof(struct coord_config, max_sets), 1, 1,
     MANIFEST_MAX_SETS},
    {"share_min_free_bytes",
     offsetof(struct coord_config, share_min_free_bytes), 0, 0, 1ull << 50},
    {"max_nodes_per_set", offsetof(struct coord_config, max_nodes_per_set), 1,
     1, CONFIG_MAX_COUNT},
    {"max_failures_per_set",
     offsetof(struct coord_config, max_failures_per_set), 1, 1,
     CONFIG_MAX_COUNT},
    {"max_reclaims_per_set",
     offsetof(struct coord_config, max_reclaims_per_set), 1, 1,
     CONFIG_MAX_COUNT},
    {"backups", offsetof(struct coord_config, backups), 1, 0, CONFIG_MAX_COUNT},
};

static const struct config_key *
config_find(const char *key)
{
    for (size_t i = 0; i < sizeof(config_keys) / sizeof(config_keys[0]); i++)
        if (strcmp(config_keys[i].key, key) == 0)
            return &config_keys[i];
    return NULL;
}

static int
config_put(struct coord_config *c, const struct config_key *k, uint64_t v,
           char *err, size_t errlen)
{
    if (v < k->min || v > k->max) {
        errf(err, errlen, "%s: %llu is outside %llu..%llu", k->key,
             (unsigned long long)v, (unsigned long long)k->min,
             (unsigned long long)k->max);
        return -1;
    }
    if (k->is_u32)
        *(uint32_t *)(void *)((char *)c + k->off) = (uint32_t)v;
    else
        *(uint64_t *)(void *)((char *)c + k->off) = v;
    return 0;
}

int
config_set(struct coord_config *c, const char *key, const char *value,
           char *err, size_t errlen)
{
    const struct config_key *k = config_find(key);
    unsigned long long v;
    char *end;

    if (k == NULL) {
        errf(err, errlen, "unknown setting \"%s\"", key);
        return -1;
    }
    errno = 0;
    v = strtoull(value, &end, 10);
    if (*value == '\0' || *end != '\0' || errno != 0 || value[0] == '-') {
        errf(err, errlen, "%s: \"%s\" is not a whole number", key, value);
        return -1;
    }
    return config_put(c, k, v, err, errlen);
}

int
config_load(struct coord_config *c, const char *path, double *scale, char *err,
            size_t errlen)
{
    char *text = NULL;
    size_t len = 0;
    cJSON *root = NULL;
    const cJSON *item;
    int rc = -1;

    if (fs_read_max(path, CONFIG_FILE_MAX, &text, &len) == -1) {
        errf(err, errlen, "%s: %s", path, strerror(errno));
        goto out;
    }
    root = cJSON_ParseWithLength(text, len);
    if (!cJSON_IsObject(root)) {
        errf(err, errlen, "%s: not a JSON object", path);
        goto out;
    }
    cJSON_ArrayForEach(item, root)
    {
        const struct config_key *k;
        uint64_t v;
        if (strcmp(item->string, "time_scale") == 0) {
            if (!cJSON_IsNumber(item) || item->valuedouble < 1.0 ||
                item->valuedouble > CONFIG_MAX_SCALE) {
                errf(err, errlen, "%s: time_scale must be in 1..%g", path,
                     CONFIG_MAX_SCALE);
                goto out;
            }
            *scale = item->valuedouble;
            continue;
        }
        k = config_find(item->string);
        if (k == NULL) {
            errf(err, errlen, "%s: unknown setting \"%s\"", path, item->string);
            goto out;
        }
        if (json_u64(root, item->string, k->max, &v) == -1) {
            errf(err, errlen, "%s: %s must be a whole number up to %llu", path,
                 item->string, (unsigned long long)k->max);
            goto out;
        }
        if (config_put(c, k, v, err, errlen) == -1)
            goto out;
    }
    rc = 0;
out:
    cJSON_Delete(root);
    free(text);
    return rc;
}
