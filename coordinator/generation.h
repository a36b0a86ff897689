/*
 * generation.h - which ambassador a share obeys. The rules:
 *
 * - Each ambassador start claims a generation G above every one claimed on
 *   the share (coord/gen.<G>) and every one its job's journal recorded, by
 *   creating coord/gen.<G> exclusively: two ambassadors starting at once
 *   never hold the same generation. It is journaled (JREC_GEN) before the
 *   ambassador acts.
 * - It then publishes coord/current ("HOST:PORT G"). Nodes connect to the
 *   newest generation they have read there and refuse orders from an older
 *   one.
 * - An ambassador that sees a generation above its own on the share has
 *   been replaced: it exits at once with GENERATION_EXIT_REPLACED, writing
 *   nothing more. Its journaler checks before every write, its share
 *   watcher every poll (the loop then exits). So an old ambassador that
 *   wakes up from a stop or a partition can never overwrite its
 *   successor's decisions.
 * - An ambassador started while another is live on the share refuses to
 *   start (generation_live). With --standby it waits instead, then takes
 *   over (its new generation fences the other): it watches the active one's
 * share probe counter (coord/probe) and takes over only when the counter has
 * not moved for reclaim_ms on its own monotonic clock and the job has a journal
 * to resume from.
 *
 * generation_replaced is pure. The others touch the share: the claim,
 * publication and standby wait run on the main thread at start-up;
 * generation_newest and generation_fence on the threads that may touch the
 * share (journaler, share watcher), never on the loop.
 */
#ifndef FF_GENERATION_H
#define FF_GENERATION_H

#include <stddef.h>
#include <stdint.h>

#include "coordinator/config.h"

#define GENERATION_EXIT_REPLACED 3

/* 1 when an ambassador of generation mine has been replaced, newest being
 * the highest generation claimed on the share. */
int generation_replaced(uint64_t mine, uint64_t newest);
/* The highest generation claimed on the share (0 when none, or when
 * coord/ cannot be read). */
uint64_t generation_newest(const char *share);
/* When a generation above mine is claimed on the share: say so and exit
 * with GENERATION_EXIT_REPLACED. */
void generation_fence(const char *share, uint64_t mine);
/* Claim the next generation above floor (the journal's) and every one
 * claimed on the share. 0 with *gen, or -1 + errno. */
int generation_claim(const char *share, uint64_t floor, uint64_t *gen);
/* Write coord/current so nodes find this ambassador: advertise (HOST or
 * HOST:PORT; NULL or "" for none), else this host's name when listening on
 * every address, else the listen host; port is the one bound. 0, or -1
 * with err. */
int generation_publish(const struct coord_config *c, const char *advertise,
                       int port, uint64_t gen, char *err, size_t errlen);
/* Is an ambassador live on c's share: the one coord/current names answers
 * on the network, or the share's probe counter moves (watched for two
 * share polls)? 1 with desc (its address, generation and since when), or
 * 0. A second ambassador on a share refuses to start while one is live
 * (only --standby waits to take over). */
int generation_live(const struct coord_config *c, char *desc, size_t desclen);
/* --standby: return once the active ambassador has been silent on the
 * share for reclaim_ms and c's job has a journal. 0, or -1 with err. */
int generation_await_takeover(const struct coord_config *c, char *err,
                              size_t errlen);

#endif
