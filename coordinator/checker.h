/*
 * checker.h - the ambassador's share worker: the one thread that opens
 * files on the share once the job is running, so the loop (which keeps
 * time) never blocks on a slow or hung mount. It validates a reported
 * mini-video (size, sha256, frame count, stream parameters), removes
 * rejected or stale files, and runs the final concat. Results come back to
 * the loop as EV_CHECKED and EV_CONCATED events.
 */
#ifndef FF_CHECKER_H
#define FF_CHECKER_H

#include <stddef.h>
#include <stdint.h>

#include "common/encparams.h"
#include "common/evq.h"
#include "coordinator/events.h"

struct checker;

struct checker *checker_start(struct evq *events);
/* Validate the file at abs_path for session against what the node said
 * of it (r: set, epoch, bytes, sha256; echoed back whole in EV_CHECKED)
 * and the manifest (frames, enc). */
void checker_check(struct checker *k, uint64_t session,
                   const struct ev_result *r, const char *abs_path,
                   uint64_t frames, const struct enc_params *enc);
/* Remove a stale or rejected result file. */
void checker_remove(struct checker *k, const char *abs_path);
/* Remove every file in abs_dir but the one named keep (NULL or "": none):
 * a set's uncounted epochs' results, once one is counted or its job is
 * over. */
void checker_sweep(struct checker *k, const char *abs_dir, const char *keep);
/* Write a set's audit manifest (text, taken) at abs_path unless a file is
 * there (job_write_manifest); a failure is logged, nothing more. */
void checker_manifest(struct checker *k, const char *abs_path, char *text);
/* Concatenate paths (taken, with the array) in order into out; sets that
 * cannot be stream-copied are re-encoded with enc. First every path must
 * still hash to its sha256 as counted (shas, taken; an entry may be NULL:
 * then it must exist): otherwise nothing is written and EV_CONCATED names
 * the sets that are not. */
void checker_concat(struct checker *k, char **paths, char **shas, size_t n,
                    const char *out, uint64_t expect_frames,
                    const struct enc_params *enc);
/* Finish queued work, stop the thread, free. NULL ok. */
void checker_free(struct checker *k);

#endif
