/*
 * job.h - one job on the share: its frames (listed and validated from the
 * zip before anything is written), its split into sets of consecutive
 * frames, and its tree on the share (common/sharepath.h): the zip, unless
 * it already lives on the share, and the journal; one manifest per set
 * (epoch 0) and an out/ folder per set for the nodes' mini-videos, made
 * when the set is first dispatched (job_set_files).
 * Prepared by main before the loop starts; read-only afterwards.
 */
#ifndef FF_JOB_H
#define FF_JOB_H

#include <stdint.h>

#include "common/hash.h"
#include "common/manifest.h"
#include "coordinator/config.h"
#include "media/zipframes.h"

/* A service's job n takes epochs from n << JOB_EPOCH_SHIFT: disjoint
 * ranges (2^24 attempts a set), each below PROTO_MAX_EPOCH. */
#define JOB_EPOCH_SHIFT 24

struct job {
    char id[IDENT_MAX + 1];
    char output[FS_PATH_MAX]; /* the final video */
    uint64_t epoch_base;      /* no epoch of this job is below it */
    char share[FS_PATH_MAX];
    char zip_rel[FS_PATH_MAX]; /* relative to the share */
    struct zipf_listing *frames;
    uint32_t set_size;
    uint32_t tail_sets; /* the last set cut into this many (setplan.h) */
    uint32_t nsets;
    struct enc_params enc;
    char input_sha[HASH_HEX_LEN + 1]; /* zipf_fingerprint of the frames */
    int resumed; /* the job's tree and journal were already on the share */
};

/* List the zip, then create the job's tree (its folders, the zip, no
 * per-set file: job_set_files makes those on first dispatch). Nothing is
 * written when the zip is rejected (-1), or could not be read (-2: an
 * I/O error, the share's and not the input's; try again). When the job's tree
 * already holds a journal, the job is resumed instead: the zip placed on the
 * share the first time is listed again and nothing is rewritten. 0, or -1 with
 * err. */
int job_prepare(const struct coord_config *cfg, struct job **out, char *err,
                size_t errlen);
void job_free(struct job *j);
void job_set_range(const struct job *j, uint32_t set, uint64_t *first,
                   uint64_t *count);
/* The manifest of set at epoch; NULL on allocation failure. */
struct manifest *job_manifest(const struct job *j, uint32_t set,
                              uint64_t epoch);
/* The set's out/ folder, where nodes write its mini-videos, made when
 * the set is first dispatched rather than at preparation (a job of
 * 100,000 sets would make 100,000 folders and manifests before its first
 * render). Blocking I/O on the share: the journaler thread runs it before
 * the assign is sent. Any thread: it only reads j. 0, or -1 + errno. */
int job_set_files(const struct job *j, uint32_t set);
/* The set's audit manifest (epoch 0; nodes get theirs inside the assign):
 * its text (malloc'd; NULL on failure) and its path into path. */
char *job_set_manifest(const struct job *j, uint32_t set, char *path,
                       size_t pathlen);
/* Writes a manifest unless path exists (an earlier run wrote it): temp
 * file and rename, no fsync (it is for audit). 0, or -1 + errno. */
int job_write_manifest(const char *path, const char *text);
/* "<share>/jobs/<job>/journal" into out (sharepath_journal). 0, or -1. */
int job_journal_path(const struct job *j, char *out, size_t outlen);
/* "jobs/<job>/out/<set>/<epoch>-<node>.mp4", relative to the share, into
 * out (sharepath_result). 0, or -1 (also for a node name that is not an
 * ident). */
int job_result_rel(const struct job *j, uint32_t set, uint64_t epoch,
                   const char *node, char *out, size_t outlen);

#endif
