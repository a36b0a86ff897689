/*
 * config.c - see config.h.
 */
#include "coordinator/config.h"

#include <stdio.h>
#include <string.h>

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
    c->max_failures_per_set = CONFIG_DEFAULT_MAX_FAILURES_PER_SET;
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
    c->breaker.cooldown_ms = config_div(c->breaker.cooldown_ms, scale);
    c->breaker.cooldown_max_ms = config_div(c->breaker.cooldown_max_ms, scale);
}
