/*
 * fuzz_lease.c - libFuzzer harness for lease records (common/lease.h): the
 * input is a lease file as the ambassador reads it from the share. The
 * input is decoded as it is, then (cut or zero-padded to a record) with
 * its CRC made valid, so the fuzzer reaches the checks behind the CRC.
 * Properties: only a whole record can decode; a decoded lease is within
 * its bounds, holds each of its pairs, and encodes to a record that
 * decodes to the same lease.
 */
#include "tests/fuzz/fuzz.h"

#include <string.h>

#include "common/hash.h"
#include "common/lease.h"

/* lease.c's layout: the record ends with the CRC-32 of the bytes before
 * it, little-endian. */
#define FUZZ_LEASE_CRC_AT (LEASE_RECORD_SIZE - 4)

static void
fuzz_lease_same(const struct lease *a, const struct lease *b)
{
    FUZZ_CHECK(strcmp(a->node, b->node) == 0, b->node);
    FUZZ_CHECK(a->counter == b->counter && a->state == b->state &&
                   a->nheld == b->nheld,
               a->node);
    for (uint32_t i = 0; i < a->nheld; i++)
        FUZZ_CHECK(a->held[i].set == b->held[i].set &&
                       a->held[i].epoch == b->held[i].epoch,
                   a->node);
}

static void
fuzz_lease_decoded(const struct lease *l)
{
    uint8_t buf[LEASE_RECORD_SIZE];
    struct lease again;

    FUZZ_CHECK(ident_is_valid(l->node), l->node);
    FUZZ_CHECK(l->nheld <= LEASE_MAX_HELD, l->node);
    FUZZ_CHECK(l->state == LEASE_RUNNING || l->state == LEASE_FENCED, l->node);
    for (uint32_t i = 0; i < l->nheld; i++)
        FUZZ_CHECK(lease_holds(l, l->held[i].set, l->held[i].epoch), l->node);
    lease_encode(l, buf);
    FUZZ_CHECK(lease_decode(buf, sizeof(buf), &again) == 0, l->node);
    fuzz_lease_same(l, &again);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t rec[LEASE_RECORD_SIZE] = {0};
    struct lease l;
    uint32_t crc;

    if (lease_decode(data, size, &l) == 0) {
        FUZZ_CHECK(size == LEASE_RECORD_SIZE, "a partial record decoded");
        fuzz_lease_decoded(&l);
    }
    memcpy(rec, data, size < sizeof(rec) ? size : sizeof(rec));
    crc = hash_crc32(rec, FUZZ_LEASE_CRC_AT);
    for (int i = 0; i < 4; i++)
        rec[FUZZ_LEASE_CRC_AT + i] = (uint8_t)(crc >> (8 * i));
    if (lease_decode(rec, sizeof(rec), &l) == 0)
        fuzz_lease_decoded(&l);
    return 0;
}
