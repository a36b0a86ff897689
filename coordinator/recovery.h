/*
 * recovery.h - a job's start: prepared afresh, or resumed from its journal.
 *
 * recovery_open lists the zip and prepares the job's tree (job.c), opens
 * the journal and replays it into a set table with the loop's own pure
 * functions. A job that was started before resumes only when its journal
 * describes this zip (its fingerprint, as many sets and frames); counted
 * sets stay counted and are named in the log, except those whose
 * mini-video is gone or no longer has the set's frames: they are lost
 * (journaled before anything else) and rendered again. A job whose concat was
 * journaled as done and whose output verifies is done already. A journal
 * without a single durable record (the first start died at once) starts the job
 * afresh on the tree it left.
 *
 * Once the ambassador holds its generation, recovery_begin journals the
 * job's first record (a new job) and the generation, before anything else
 * is done. Main thread, at start-up.
 */
#ifndef FF_RECOVERY_H
#define FF_RECOVERY_H

#include <stddef.h>
#include <stdint.h>

#include "coordinator/config.h"
#include "coordinator/job.h"
#include "coordinator/journal.h"
#include "coordinator/jrec.h"
#include "media/vidinfo.h"

enum recovery_status {
    RECOVERY_RUN,       /* ready: run the ambassador */
    RECOVERY_DONE,      /* already done: output describes the video */
    RECOVERY_BAD_INPUT, /* the zip or the job's tree is unusable */
    RECOVERY_FAILED,    /* the journal or a counted mini-video is */
};

struct recovery {
    struct job *job;
    struct jrec *lost; /* JREC_LOST records recovery_begin journals: counted
                          sets whose mini-video is gone or damaged */
    size_t nlost;
    struct journal *jr;    /* open and replayed; whoever takes it sets NULL */
    struct jrec_state st;  /* the replayed state (empty for a new job) */
    struct vidinfo output; /* RECOVERY_DONE only */
};

/* Fill r (zeroed first; recovery_close it whatever the status). Every
 * status but RECOVERY_RUN and RECOVERY_DONE comes with err. */
enum recovery_status recovery_open(struct recovery *r,
                                   const struct coord_config *cfg, char *err,
                                   size_t errlen);
/* Journal the job record (a new job) and generation gen. 0, or -1 with
 * err. */
int recovery_begin(struct recovery *r, uint64_t gen, char *err, size_t errlen);
/* Free what r holds (the journal too, unless it was taken). */
void recovery_close(struct recovery *r);

#endif
