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

struct checker;

struct checker *checker_start(struct evq *events);
/* Validate the file at abs_path (relative path rel echoed back) for
 * (set, epoch) of session against what the node said and the manifest.
 * The node's encoder, preset and fallback reason are echoed back too. */
void checker_check(struct checker *k, uint64_t session, uint32_t set,
                   uint64_t epoch, const char *abs_path, const char *rel,
                   uint64_t bytes, const char *sha256, uint64_t frames,
                   const struct enc_params *enc, const char *encoder,
                   const char *preset, const char *fallback);
/* Remove a stale or rejected result file. */
void checker_remove(struct checker *k, const char *abs_path);
/* Concatenate paths (taken, with the array) in order into out;
 * sets that cannot be stream-copied are re-encoded with enc. */
void checker_concat(struct checker *k, char **paths, size_t n, const char *out,
                    uint64_t expect_frames, const struct enc_params *enc);
/* Finish queued work, stop the thread, free. NULL ok. */
void checker_free(struct checker *k);

#endif
