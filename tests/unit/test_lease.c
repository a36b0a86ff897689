/*
 * test_lease.c - a node's lease record (common/lease.h), which the
 * ambassador reads to tell a live node from a dead one: a record comes
 * back exactly, with its layout fixed on every host; a flipped bit, a torn
 * write or a short read is refused (and so counts as "no change"), never
 * read as another counter or another set; the held-set list has its
 * limits; lease_holds matches a set only at its epoch.
 */
#include "tests/unit/unit.h"

#include <inttypes.h>

#include "common/hash.h"
#include "common/lease.h"

#define BITS 8 /* per byte */
#define OFF_VERSION 4
#define OFF_NHELD 6
#define OFF_COUNTER 8
#define OFF_STATE 16
#define OFF_NODE 20
#define NODE_BYTES 64
#define OFF_HELD (OFF_NODE + NODE_BYTES)
#define HELD_BYTES 12
#define OFF_CRC (LEASE_RECORD_SIZE - 4)
#define CANARY 0xa5
#define LONGEST_NODE                                                           \
    "n123456789012345678901234567890123456789012345678901234567890-_"

static void
lease_fill(struct lease *l, const char *node, uint64_t counter,
           enum lease_state state, uint32_t nheld)
{
    memset(l, 0, sizeof(*l));
    snprintf(l->node, sizeof(l->node), "%s", node);
    l->counter = counter;
    l->state = state;
    l->nheld = nheld;
    for (uint32_t i = 0; i < nheld && i < LEASE_MAX_HELD; i++) {
        l->held[i].set = 1000 * i + 7;
        l->held[i].epoch = ((uint64_t)i << 33) + 3;
    }
}

static void
expect_same(const struct lease *want, const struct lease *got)
{
    if (strcmp(want->node, got->node) != 0 || want->counter != got->counter ||
        want->state != got->state || want->nheld != got->nheld)
        fail_msg("decoded node \"%s\" counter %" PRIu64 " state %d nheld %u; "
                 "want \"%s\" %" PRIu64 " %d %u",
                 got->node, got->counter, (int)got->state, got->nheld,
                 want->node, want->counter, (int)want->state, want->nheld);
    for (uint32_t i = 0; i < want->nheld; i++)
        if (want->held[i].set != got->held[i].set ||
            want->held[i].epoch != got->held[i].epoch)
            fail_msg("held[%u]: set %u epoch %" PRIu64 ", want %u %" PRIu64, i,
                     got->held[i].set, got->held[i].epoch, want->held[i].set,
                     want->held[i].epoch);
}

static void
decode_ok(const uint8_t *buf, struct lease *out)
{
    if (lease_decode(buf, LEASE_RECORD_SIZE, out) != 0)
        fail_msg("a record just encoded was refused");
}

/* Encode in, decode it into out: the same lease must come back. */
static void
round_trip(const struct lease *in, struct lease *out)
{
    uint8_t buf[LEASE_RECORD_SIZE];
    lease_encode(in, buf);
    decode_ok(buf, out);
    expect_same(in, out);
}

static void
decode_bad(const uint8_t *buf, size_t len, const char *what)
{
    struct lease l;
    if (lease_decode(buf, len, &l) != -1)
        fail_msg("%s: decoded as node \"%s\" counter %" PRIu64 ", want it "
                 "refused",
                 what, l.node, l.counter);
}

/* Rewrite the CRC after a deliberate change, as a foreign writer that
 * knows the format would: the record must then be refused on its fields,
 * not on its checksum. */
static void
reseal(uint8_t *buf)
{
    uint32_t crc = hash_crc32(buf, OFF_CRC);
    for (int i = 0; i < 4; i++)
        buf[OFF_CRC + i] = (uint8_t)(crc >> (BITS * i));
}

static uint64_t
get_le(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = v << BITS | p[i];
    return v;
}

static void
test_round_trip(void **state)
{
    struct lease in, out;
    (void)state;

    lease_fill(&in, "n1", 1, LEASE_RUNNING, 0);
    round_trip(&in, &out);

    lease_fill(&in, LONGEST_NODE, UINT64_MAX, LEASE_FENCED, LEASE_MAX_HELD);
    in.held[0].set = UINT32_MAX;
    in.held[1].epoch = UINT64_MAX;
    round_trip(&in, &out);
    assert_int_equal(strlen(out.node), IDENT_MAX);
}

/* The ambassador may run on another host than the node: the layout is
 * the one lease.c documents, little-endian, in exactly
 * LEASE_RECORD_SIZE bytes. */
static void
test_layout_fixed(void **state)
{
    struct lease in;
    uint8_t buf[LEASE_RECORD_SIZE + 1];
    (void)state;

    lease_fill(&in, "gpu-07", 0x0102030405060708ull, LEASE_FENCED, 2);
    buf[LEASE_RECORD_SIZE] = CANARY;
    lease_encode(&in, buf);
    assert_int_equal(buf[LEASE_RECORD_SIZE], CANARY);
    assert_memory_equal(buf, "FFLS", 4);
    assert_int_equal(get_le(buf + OFF_VERSION, 2), 1);
    assert_int_equal(get_le(buf + OFF_NHELD, 2), 2);
    assert_int_equal(get_le(buf + OFF_COUNTER, 8), 0x0102030405060708ull);
    assert_int_equal(get_le(buf + OFF_STATE, 4), LEASE_FENCED);
    assert_string_equal((const char *)buf + OFF_NODE, "gpu-07");
    assert_int_equal(get_le(buf + OFF_HELD + HELD_BYTES, 4), in.held[1].set);
    assert_int_equal(get_le(buf + OFF_HELD + HELD_BYTES + 4, 8),
                     in.held[1].epoch);
    for (size_t i = OFF_HELD + 2 * HELD_BYTES; i < OFF_CRC; i++)
        if (buf[i] != 0)
            fail_msg("byte %zu past the held list is 0x%02x, want 0", i,
                     buf[i]);
    assert_int_equal(get_le(buf + OFF_CRC, 4), hash_crc32(buf, OFF_CRC));
}

/* Every single-bit flip anywhere in the record, the CRC included, is
 * refused: a damaged record never reads as another counter or set. */
static void
test_every_bit_flip_refused(void **state)
{
    struct lease in;
    uint8_t buf[LEASE_RECORD_SIZE];
    char what[64];
    (void)state;

    lease_fill(&in, "n1", 41, LEASE_RUNNING, 3);
    lease_encode(&in, buf);
    for (size_t byte = 0; byte < LEASE_RECORD_SIZE; byte++) {
        for (int bit = 0; bit < BITS; bit++) {
            buf[byte] ^= (uint8_t)(1u << bit);
            snprintf(what, sizeof(what), "bit %d of byte %zu flipped", bit,
                     byte);
            decode_bad(buf, sizeof(buf), what);
            buf[byte] ^= (uint8_t)(1u << bit);
        }
    }
    decode_ok(buf, &in); /* and the flips were all undone */
}

/* A read that raced the node's in-place write: the new record's head on
 * the old one's tail, at every cut. And reads of the wrong length. */
static void
test_torn_and_short_refused(void **state)
{
    struct lease old, next, got;
    uint8_t a[LEASE_RECORD_SIZE], b[LEASE_RECORD_SIZE], torn[LEASE_RECORD_SIZE],
        *heap;
    char what[64];
    (void)state;

    lease_fill(&old, "n1", 41, LEASE_RUNNING, 2);
    lease_fill(&next, "n1", 42, LEASE_RUNNING, 3);
    lease_encode(&old, a);
    lease_encode(&next, b);
    for (size_t cut = 1; cut < LEASE_RECORD_SIZE; cut++) {
        memcpy(torn, b, cut);
        memcpy(torn + cut, a + cut, sizeof(torn) - cut);
        if (memcmp(torn, a, sizeof(torn)) == 0 ||
            memcmp(torn, b, sizeof(torn)) == 0)
            continue; /* the cut fell where the records agree */
        snprintf(what, sizeof(what), "torn at byte %zu", cut);
        decode_bad(torn, sizeof(torn), what);
    }

    /* Short reads, in a buffer of exactly their length (ASan sees any
     * read past it), and a read longer than a record. */
    for (size_t len = 0; len < LEASE_RECORD_SIZE; len++) {
        heap = malloc(len > 0 ? len : 1);
        assert_non_null(heap);
        memcpy(heap, b, len);
        snprintf(what, sizeof(what), "a read of %zu bytes", len);
        decode_bad(heap, len, what);
        free(heap);
    }
    heap = calloc(1, LEASE_RECORD_SIZE + 1);
    assert_non_null(heap);
    memcpy(heap, b, LEASE_RECORD_SIZE);
    decode_bad(heap, LEASE_RECORD_SIZE + 1, "a read of one byte more");
    free(heap);
    memset(torn, 0, sizeof(torn));
    decode_bad(torn, sizeof(torn), "a file of zeros");
    decode_ok(b, &got);
    expect_same(&next, &got);
}

/* Records whose CRC is right but whose fields are not: another version,
 * another magic, a held list past the limit, an unknown state, a node
 * name that is not a name. */
static void
test_bad_fields_refused(void **state)
{
    struct lease in;
    uint8_t good[LEASE_RECORD_SIZE], buf[LEASE_RECORD_SIZE];
    (void)state;

    lease_fill(&in, "n1", 9, LEASE_RUNNING, 1);
    lease_encode(&in, good);

    memcpy(buf, good, sizeof(buf));
    buf[OFF_VERSION] = 2;
    reseal(buf);
    decode_bad(buf, sizeof(buf), "version 2");

    memcpy(buf, good, sizeof(buf));
    buf[0] = 'X';
    reseal(buf);
    decode_bad(buf, sizeof(buf), "another magic");

    memcpy(buf, good, sizeof(buf));
    buf[OFF_NHELD] = LEASE_MAX_HELD + 1;
    reseal(buf);
    decode_bad(buf, sizeof(buf), "nheld 17");
    buf[OFF_NHELD] = LEASE_MAX_HELD;
    reseal(buf);
    decode_ok(buf, &in); /* 16 is the limit, not past it */
    assert_int_equal(in.nheld, LEASE_MAX_HELD);

    for (uint8_t st = 0; st < 4; st++) {
        if (st == LEASE_RUNNING || st == LEASE_FENCED)
            continue;
        memcpy(buf, good, sizeof(buf));
        buf[OFF_STATE] = st;
        reseal(buf);
        decode_bad(buf, sizeof(buf), "an unknown state");
    }
    memcpy(buf, good, sizeof(buf));
    buf[OFF_STATE + 3] = 1; /* running, but in the high byte too */
    reseal(buf);
    decode_bad(buf, sizeof(buf), "state 0x01000001");

    memcpy(buf, good, sizeof(buf));
    memset(buf + OFF_NODE, 'n', NODE_BYTES);
    reseal(buf);
    decode_bad(buf, sizeof(buf), "a node name without its NUL");

    memcpy(buf, good, sizeof(buf));
    buf[OFF_NODE] = '\0';
    reseal(buf);
    decode_bad(buf, sizeof(buf), "an empty node name");

    memcpy(buf, good, sizeof(buf));
    memcpy(buf + OFF_NODE, "../x", 5);
    reseal(buf);
    decode_bad(buf, sizeof(buf), "node name ../x");

    memcpy(buf, good, sizeof(buf));
    memcpy(buf + OFF_NODE, ".n", 3);
    reseal(buf);
    decode_bad(buf, sizeof(buf), "node name .n");
}

/* The node never holds more than LEASE_MAX_HELD sets in its lease: the
 * encoder writes at most that many, and what it writes decodes. */
static void
test_held_list_capped(void **state)
{
    struct lease in, out;
    uint8_t buf[LEASE_RECORD_SIZE];
    (void)state;

    lease_fill(&in, "n1", 5, LEASE_RUNNING, LEASE_MAX_HELD);
    in.nheld = LEASE_MAX_HELD + 5;
    lease_encode(&in, buf);
    decode_ok(buf, &out);
    assert_int_equal(out.nheld, LEASE_MAX_HELD);
    for (uint32_t i = 0; i < LEASE_MAX_HELD; i++)
        assert_true(lease_holds(&out, in.held[i].set, in.held[i].epoch));
}

static void
test_holds_matches_set_and_epoch(void **state)
{
    struct lease l;
    (void)state;

    lease_fill(&l, "n1", 1, LEASE_RUNNING, 0);
    assert_false(lease_holds(&l, 0, 0));

    l.nheld = 2;
    l.held[0] = (struct lease_held){.set = 3, .epoch = 5};
    l.held[1] = (struct lease_held){.set = 8, .epoch = 1};
    l.held[2] = (struct lease_held){.set = 9, .epoch = 9}; /* not listed */
    assert_true(lease_holds(&l, 3, 5));
    assert_true(lease_holds(&l, 8, 1));
    assert_false(lease_holds(&l, 3, 4)); /* an older attempt at set 3 */
    assert_false(lease_holds(&l, 3, 6)); /* a newer one */
    assert_false(lease_holds(&l, 5, 3)); /* set and epoch swapped */
    assert_false(lease_holds(&l, 8, 5)); /* set 8, set 3's epoch */
    assert_false(lease_holds(&l, 9, 9));
}

/* A fenced node says so in its lease, with the counter it stopped at:
 * the ambassador can reclaim its sets at once instead of waiting. */
static void
test_fenced_state(void **state)
{
    struct lease in, out;
    (void)state;

    lease_fill(&in, "n1", 77, LEASE_RUNNING, 2);
    round_trip(&in, &out);
    assert_int_equal(out.state, LEASE_RUNNING);

    in.state = LEASE_FENCED;
    in.counter++;
    round_trip(&in, &out);
    assert_int_equal(out.state, LEASE_FENCED);
    assert_int_equal(out.counter, 78);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_layout_fixed),
        cmocka_unit_test(test_every_bit_flip_refused),
        cmocka_unit_test(test_torn_and_short_refused),
        cmocka_unit_test(test_bad_fields_refused),
        cmocka_unit_test(test_held_list_capped),
        cmocka_unit_test(test_holds_matches_set_and_epoch),
        cmocka_unit_test(test_fenced_state),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
