/*
 * lease.c - see lease.h. Layout (little-endian):
 *   0  u32 magic "FFLS"     4  u16 version   6  u16 nheld
 *   8  u64 counter          16 u32 state     20 char node[64]
 *   84 held[16] x { u32 set, u64 epoch } (12 bytes each, to 276)
 *   ... zero ...            508 u32 crc32 of bytes 0..507
 */
#include "common/lease.h"

#include <string.h>

#include "common/hash.h"

#define LEASE_MAGIC 0x534c4646u /* "FFLS" */
#define LEASE_VERSION 1
#define LEASE_OFF_VERSION 4
#define LEASE_OFF_NHELD 6
#define LEASE_OFF_COUNTER 8
#define LEASE_OFF_STATE 16
#define LEASE_OFF_NODE 20
#define LEASE_NODE_BYTES 64
#define LEASE_OFF_HELD (LEASE_OFF_NODE + LEASE_NODE_BYTES)
#define LEASE_HELD_BYTES 12
#define LEASE_OFF_CRC (LEASE_RECORD_SIZE - 4)

static void
put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void
put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void
put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint16_t
get16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t
get32(const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static uint64_t
get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

void
lease_encode(const struct lease *l, uint8_t *buf)
{
    uint32_t n = l->nheld > LEASE_MAX_HELD ? LEASE_MAX_HELD : l->nheld;

    memset(buf, 0, LEASE_RECORD_SIZE);
    put32(buf, LEASE_MAGIC);
    put16(buf + LEASE_OFF_VERSION, LEASE_VERSION);
    put16(buf + LEASE_OFF_NHELD, (uint16_t)n);
    put64(buf + LEASE_OFF_COUNTER, l->counter);
    put32(buf + LEASE_OFF_STATE, (uint32_t)l->state);
    memcpy(buf + LEASE_OFF_NODE, l->node,
           strnlen(l->node, LEASE_NODE_BYTES - 1));
    for (uint32_t i = 0; i < n; i++) {
        uint8_t *h = buf + LEASE_OFF_HELD + i * LEASE_HELD_BYTES;
        put32(h, l->held[i].set);
        put64(h + 4, l->held[i].epoch);
    }
    put32(buf + LEASE_OFF_CRC, hash_crc32(buf, LEASE_OFF_CRC));
}

int
lease_decode(const uint8_t *buf, size_t len, struct lease *l)
{
    uint32_t state;

    if (len != LEASE_RECORD_SIZE || get32(buf) != LEASE_MAGIC ||
        get16(buf + LEASE_OFF_VERSION) != LEASE_VERSION ||
        get32(buf + LEASE_OFF_CRC) != hash_crc32(buf, LEASE_OFF_CRC))
        return -1;
    memset(l, 0, sizeof(*l));
    l->nheld = get16(buf + LEASE_OFF_NHELD);
    state = get32(buf + LEASE_OFF_STATE);
    if (l->nheld > LEASE_MAX_HELD ||
        (state != LEASE_RUNNING && state != LEASE_FENCED) ||
        buf[LEASE_OFF_NODE + LEASE_NODE_BYTES - 1] != '\0')
        return -1;
    l->state = (enum lease_state)state;
    l->counter = get64(buf + LEASE_OFF_COUNTER);
    memcpy(l->node, buf + LEASE_OFF_NODE, IDENT_MAX);
    l->node[IDENT_MAX] = '\0';
    if (!ident_is_valid(l->node))
        return -1;
    for (uint32_t i = 0; i < l->nheld; i++) {
        const uint8_t *h = buf + LEASE_OFF_HELD + i * LEASE_HELD_BYTES;
        l->held[i].set = get32(h);
        l->held[i].epoch = get64(h + 4);
    }
    return 0;
}

int
lease_holds(const struct lease *l, uint32_t set, uint64_t epoch)
{
    for (uint32_t i = 0; i < l->nheld; i++)
        if (l->held[i].set == set && l->held[i].epoch == epoch)
            return 1;
    return 0;
}
