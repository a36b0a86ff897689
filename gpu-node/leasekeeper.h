/*
 * leasekeeper.h - a node's lease on the share: a dedicated thread renews
 * nodes/<node>/lease every renew_ms (pwrite of a fixed-size record at
 * offset 0, then fsync), listing the sets the node holds. It is the only
 * node thread besides the workers that touches the share, so a hung mount
 * stalls it and nothing else; the session thread reads when the last
 * successful renewal started and fences itself when that is too old.
 */
#ifndef FF_LEASEKEEPER_H
#define FF_LEASEKEEPER_H

#include <stdint.h>

#include "common/lease.h"

struct leasekeeper;

struct leasekeeper *leasekeeper_start(const char *share, const char *share_id,
                                      const char *node, uint64_t renew_ms);
/* Any thread: what the next renewal writes. */
void leasekeeper_set(struct leasekeeper *k, const struct lease_held *held,
                     uint32_t n, enum lease_state state);
void leasekeeper_set_period(struct leasekeeper *k, uint64_t renew_ms);
/* Monotonic ms at which the last successful renewal started (the start
 * time, so a slow write never stretches the lease). */
uint64_t leasekeeper_last_ok(struct leasekeeper *k);
/* The ambassador the share names as current (coord/current, read at each
 * renewal): 1 with host, port and generation, 0 when none was read. */
int leasekeeper_current(struct leasekeeper *k, char *host, size_t hostlen,
                        int *port, uint64_t *gen);
/* Stop the thread (waits for a renewal in progress) and free. NULL ok. */
void leasekeeper_free(struct leasekeeper *k);
/* 1 when the last renewal found the share's id gone or changed (share_id
 * given at start): the node fences at once. Any thread. */
int leasekeeper_share_lost(struct leasekeeper *k);

#endif
