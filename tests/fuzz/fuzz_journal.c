/*
 * fuzz_journal.c - libFuzzer harness for the journal file's framing
 * (journal_scan in coordinator/journal.h): the input is a journal file as
 * the ambassador reads it at start-up. Payloads are not interpreted here
 * (fuzz_jrec.c does that). Properties: every record handed out lies inside
 * the valid part, has a length in range and its CRC; the valid part ends
 * inside the input; scanning just the valid part again finds the same
 * records and no tail; a refusal says why.
 */
#include "tests/fuzz/fuzz.h"

#include <string.h>

#include "common/err.h"
#include "common/hash.h"
#include "coordinator/journal.h"

struct fuzz_journal {
    const uint8_t *buf;
    size_t len;
    size_t records;
};

static uint32_t
fuzz_journal_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static int
fuzz_journal_each(void *ctx, const uint8_t *rec, size_t n)
{
    struct fuzz_journal *fj = ctx;

    FUZZ_CHECK(n >= 1 && n <= JOURNAL_MAX_RECORD, "record length");
    FUZZ_CHECK(rec >= fj->buf + JOURNAL_HEADER_LEN + JOURNAL_REC_HEADER_LEN &&
                   rec + n <= fj->buf + fj->len,
               "record outside the input");
    FUZZ_CHECK(fuzz_journal_le32(rec - JOURNAL_REC_HEADER_LEN) == n &&
                   fuzz_journal_le32(rec - JOURNAL_REC_HEADER_LEN +
                                     JOURNAL_REC_CRC_AT) == hash_crc32(rec, n),
               "record header does not frame it");
    fj->records++;
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_journal all = {data, size, 0}, valid = {data, size, 0};
    size_t good_end = 0, valid_end = 0;
    char err[ERR_MAX] = "";

    if (journal_scan(data, size, fuzz_journal_each, &all, &good_end, err,
                     sizeof(err)) == -1) {
        FUZZ_CHECK(err[0] != '\0', "refused without a reason");
        return 0;
    }
    FUZZ_CHECK(good_end <= size, "valid part past the input");
    FUZZ_CHECK(good_end == 0 || good_end >= JOURNAL_HEADER_LEN, "good_end");
    FUZZ_CHECK(journal_scan(data, good_end, fuzz_journal_each, &valid,
                            &valid_end, err, sizeof(err)) == 0,
               err);
    FUZZ_CHECK(valid_end == good_end && valid.records == all.records,
               "the valid part scans differently on its own");
    return 0;
}
