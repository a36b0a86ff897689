/*
 * fuzz_jrec.c - libFuzzer harness for the ambassador's journal records
 * (coordinator/jrec.h) and their replay. The input is records separated
 * by newlines, as journal_scan hands them to the replay one by one (the
 * file framing, with its CRCs, has its own harness: fuzz_journal.c).
 * Properties: a refusal says why; an accepted record encodes to text that
 * decodes and encodes to the same text; replaying the accepted records in
 * order never leaves a Counted set without its result path, nor a path
 * on a set that is not Counted.
 */
#include "tests/fuzz/fuzz.h"

#include <string.h>

#include "common/err.h"
#include "coordinator/jrec.h"

/* A job record may size the table at MANIFEST_MAX_SETS sets (about
 * 0.8 GB of set table, allocated per input): the harness replays only jobs
 * this small (at 4096 sets it ran a third as many inputs per second).
 * Larger job records are still decoded and round-tripped. */
#define FUZZ_JREC_MAX_SETS 64u

static void
fuzz_jrec_roundtrip(const struct jrec *r)
{
    struct jrec again;
    char *text = jrec_encode(r), *again_text = NULL;
    char err[ERR_MAX] = "";

    FUZZ_CHECK(text != NULL, "jrec_encode");
    FUZZ_CHECK(jrec_decode((const uint8_t *)text, strlen(text), &again, err,
                           sizeof(err)) == 0,
               err);
    FUZZ_CHECK(again.type == r->type, text);
    again_text = jrec_encode(&again);
    FUZZ_CHECK(again_text != NULL && strcmp(again_text, text) == 0, text);
    free(again_text);
    free(text);
}

static void
fuzz_jrec_check_state(const struct jrec_state *st)
{
    for (uint32_t i = 0; i < st->nsets; i++) {
        const struct set_info *info = set_table_get(st->sets, i);
        FUZZ_CHECK((info->status == SET_COUNTED) == (st->accepted[i] != NULL),
                   "a Counted set and its result path disagree");
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct jrec_state st;
    size_t pos = 0;

    memset(&st, 0, sizeof(st));
    while (pos < size) {
        const uint8_t *nl = memchr(data + pos, '\n', size - pos);
        size_t n = nl != NULL ? (size_t)(nl - (data + pos)) : size - pos;
        struct jrec r;
        char err[ERR_MAX] = "";

        if (jrec_decode(data + pos, n, &r, err, sizeof(err)) == -1) {
            FUZZ_CHECK(err[0] != '\0', "refused without a reason");
        } else {
            fuzz_jrec_roundtrip(&r);
            if (r.type != JREC_JOB || r.sets <= FUZZ_JREC_MAX_SETS)
                (void)jrec_apply(&st, &r, err, sizeof(err));
        }
        pos += n + 1;
    }
    fuzz_jrec_check_state(&st);
    jrec_state_fini(&st);
    return 0;
}
