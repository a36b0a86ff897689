/*
 * journaler.h - the thread that owns the ambassador's journal file. The
 * loop hands it a batch of records and the actions that must wait for
 * them (an assign sent, an accept acknowledged, the concat started); it
 * appends the batch, fsyncs once, and hands the actions back to the loop
 * as EV_JOURNALED. So nothing another process can see ever runs ahead of
 * the journal, and the loop, which keeps time, never blocks on the share.
 *
 * Before each batch it checks that no newer ambassador generation has
 * claimed the share; if one has, this ambassador has been replaced: it
 * exits at once, writing nothing more (generation_fence, generation.h).
 */
#ifndef FF_JOURNALER_H
#define FF_JOURNALER_H

#include <stddef.h>
#include <stdint.h>

#include "common/evq.h"
#include "coordinator/generation.h"
#include "coordinator/journal.h"

/* The exit status of a replaced ambassador (the loop exits with it too). */
#define JOURNALER_EXIT_REPLACED GENERATION_EXIT_REPLACED
#define JOURNALER_MAX_BATCH 256
/* A compaction is asked for when the journal holds more than this many
 * times the bytes its last compaction left, plus the configured floor
 * (journal_compact_bytes): each compaction then rewrites at most about
 * 1/RATIO of the bytes appended since the one before, so the bytes
 * written stay linear in the records however large the set table is. */
#define JOURNALER_COMPACT_RATIO 2

struct journaler;

/* Takes j. gen is this ambassador's generation. */
struct journaler *journaler_start(struct journal *j, const char *share,
                                  uint64_t gen, struct evq *events);
/* Queue records (malloc'd strings, taken with the array) and an opaque
 * list of actions (taken; returned in EV_JOURNALED's ptr). */
void journaler_write(struct journaler *w, char **recs, size_t n, void *after);
/* Replace the journal with these records (a snapshot of the state after
 * everything queued before; taken). */
void journaler_compact(struct journaler *w, char **recs, size_t n);
/* After each batch, EV_JOURNALED's compact is 1 when
 * journaler_compact_due says so, with bytes as its floor (the loop
 * answers with journaler_compact). 0: never. */
void journaler_set_compact_bytes(struct journaler *w, uint64_t bytes);
/* Pure: 1 when a journal of size bytes, whose last compaction left
 * snapshot bytes (0 before the first), is due for compaction: size >
 * floor + JOURNALER_COMPACT_RATIO * snapshot. Never when floor is 0. */
int journaler_compact_due(uint64_t size, uint64_t snapshot, uint64_t floor);
/* prepare runs on the journaler thread with each batch's actions once
 * its records are durable, before they go back to the loop: blocking
 * I/O those actions need first (a set's folder before its assign is
 * sent), kept off the loop. NULL: none. Set before the first batch. */
void journaler_set_prepare(struct journaler *w, void (*prepare)(void *after));
/* Write what is queued, stop, close the journal. NULL ok. */
void journaler_free(struct journaler *w);

#endif
