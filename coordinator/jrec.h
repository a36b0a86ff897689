/*
 * jrec.h - the ambassador's journal records: one JSON object per state
 * change of the set table, and the replay that rebuilds the table from
 * them with the same pure functions the loop uses (so epochs come out
 * exactly as they were). Pure: encode, decode and apply take data, never
 * a clock or a file. Loop thread.
 */
#ifndef FF_JREC_H
#define FF_JREC_H

#include <stddef.h>
#include <stdint.h>

#include "common/fsutil.h"
#include "common/hash.h"
#include "common/ident.h"
#include "coordinator/sets.h"

#define JREC_TEXT_MAX 160

enum jrec_type {
    JREC_JOB,      /* the job: sets, frames, generation that created it */
    JREC_GEN,      /* an ambassador generation started on this journal */
    JREC_ASSIGN,   /* set -> node at epoch */
    JREC_FAIL,     /* the attempt at epoch failed on its node (C) */
    JREC_RECLAIM,  /* the attempt at epoch was lost with its node (C) */
    JREC_UNASSIGN, /* the assign at epoch was never taken (A) */
    JREC_ACCEPT,   /* the result of epoch is Counted (D) */
    JREC_REJECT,   /* the result of epoch failed its check (C) */
    JREC_CONCAT,   /* the final concat began (done = 0) or ended (done = 1) */
    JREC_SET,      /* snapshot of one set (compaction): info, path and
                      sha256 if D */
    JREC_LOST,     /* the counted result of epoch is missing or changed:
                      the set is C again and rendered anew */
};

struct jrec {
    enum jrec_type type;
    uint32_t set;
    uint64_t epoch; /* JREC_JOB: the job's epoch base (job.h) */
    uint64_t gen;
    uint32_t sets;   /* JREC_JOB */
    uint64_t frames; /* JREC_JOB: input frames; JREC_CONCAT: frames out */
    int done;        /* JREC_CONCAT */
    uint64_t bytes;  /* JREC_ACCEPT */
    char node[IDENT_MAX + 1];
    char job[IDENT_MAX + 1];
    char path[FS_PATH_MAX];        /* JREC_ACCEPT, relative to the share */
    char sha256[HASH_HEX_LEN + 1]; /* JREC_ACCEPT */
    char input[HASH_HEX_LEN + 1];  /* JREC_JOB: the input's fingerprint
                                      (zipf_fingerprint); "" in journals
                                      written before it was recorded */
    char text[JREC_TEXT_MAX];      /* reason */
    struct set_info info;          /* JREC_SET; decoded, its names and
                                      history point into this record
                                      (node, alt_node, hist): decode in
                                      place, do not copy it */
    char alt_node[IDENT_MAX + 1];  /* JREC_SET, decoded */
    struct set_history hist;       /* JREC_SET, decoded */
};

/* Serialise to a malloc'd JSON string (NULL on allocation failure). */
char *jrec_encode(const struct jrec *r);
/* Parse one record. 0, or -1 with err (unknown type, missing field). */
int jrec_decode(const uint8_t *buf, size_t len, struct jrec *r, char *err,
                size_t errlen);

/* What replay rebuilds besides the set table. */
struct jrec_state {
    struct set_table *sets; /* sized by the JREC_JOB record */
    char **accepted;        /* per set: counted result path, or NULL */
    char **accepted_sha;    /* per set: its sha256 (hex), or NULL when the
                               journal did not record it */
    uint32_t nsets;
    uint64_t frames;
    uint64_t gen;                 /* highest generation seen */
    char input[HASH_HEX_LEN + 1]; /* the job record's input fingerprint */
    int concat_begun, concat_done;
    uint64_t records;
    char job[IDENT_MAX + 1];
};

/* Apply one record to st (creating the table at JREC_JOB). Sessions of
 * replayed assignments are JREC_SESSION, which no live node ever has, so
 * every replayed Processing set waits for its node to reattach. 0, or -1
 * with err when the record contradicts the state (a corrupt journal). */
#define JREC_SESSION UINT64_MAX
int jrec_apply(struct jrec_state *st, const struct jrec *r, char *err,
               size_t errlen);
void jrec_state_fini(struct jrec_state *st);

#endif
