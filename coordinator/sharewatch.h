/*
 * sharewatch.h - the ambassador's eyes on the share, on a thread of its
 * own: every poll_ms it probes the share (write, fsync and read back
 * coord/probe) and reads every node's lease record (nodes/<node>/lease,
 * open + read + close; a torn or foreign record is skipped). It reports
 * EV_SHARE and EV_LEASE events to the loop. When the share hangs, this
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

#endif
