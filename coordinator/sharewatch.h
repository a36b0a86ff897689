/*
 * sharewatch.h - the ambassador's eyes on the share, on a thread of its
 * own: every poll_ms it probes the share (write, fsync and read back
 * coord/probe) and, when it answered, reads the lease record of every node
 * it was told to watch (nodes/<node>/lease opened by name, open + read +
 * close; a torn or foreign record is skipped), then reports EV_LEASE for
 * each and EV_SHARE last, so the loop hears the share is healthy only
 * after a whole pass over the leases. When the share hangs, this
 * thread hangs with it and the loop, which keeps time, notices the silence
 * and pauses dispatch and lease-based reclaim instead of declaring every
 * node dead at once. It also says when the share is full: a probe refused
 * for want of space, or less than min_free bytes free (statvfs).
 */
#ifndef FF_SHAREWATCH_H
#define FF_SHAREWATCH_H

#include <stdint.h>

#include "common/evq.h"

struct sharewatch;

struct sharewatch *sharewatch_start(const char *share, uint64_t poll_ms,
                                    uint64_t min_free, struct evq *events);
/* Stop and free. Waits for a probe in progress (bounded by the mount's own
 * behaviour). NULL ok. */
void sharewatch_free(struct sharewatch *w);
/* Read node's lease from now on (any thread): every node that said hello,
 * and every holder of a set in a replayed journal. */
void sharewatch_watch(struct sharewatch *w, const char *node);

#endif
