/*
 * lease.h - a node's lease file on the share, nodes/<node>/lease: one
 * fixed-size record, written in place by its node only (pwrite + fsync at
 * offset 0), read by the ambassador with open + read + close. The record
 * carries a counter that the node bumps at every renewal and the sets it
 * holds with their epochs; a CRC-32 over the record lets a reader discard
 * a torn or partial read (it then counts as "no change"). Little-endian on
 * every host. Pure encode/decode.
 */
#ifndef FF_LEASE_H
#define FF_LEASE_H

#include <stddef.h>
#include <stdint.h>

#include "common/ident.h"

#define LEASE_RECORD_SIZE 512
#define LEASE_MAX_HELD 16

enum lease_state {
    LEASE_RUNNING = 1, /* renewing, working */
    LEASE_FENCED = 2,  /* stopped: could not renew in time */
};

struct lease_held {
    uint32_t set;
    uint64_t epoch;
};

struct lease {
    char node[IDENT_MAX + 1];
    uint64_t counter;
    enum lease_state state;
    uint32_t nheld;
    struct lease_held held[LEASE_MAX_HELD];
};

/* Encode into exactly LEASE_RECORD_SIZE bytes. */
void lease_encode(const struct lease *l, uint8_t *buf);
/* 0 when buf holds a whole valid record (magic, version, CRC, bounds);
 * -1 otherwise (a torn read, a foreign file). */
int lease_decode(const uint8_t *buf, size_t len, struct lease *l);
/* 1 when the lease lists (set, epoch). */
int lease_holds(const struct lease *l, uint32_t set, uint64_t epoch);

#endif
