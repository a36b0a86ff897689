/*
 * setplan.h - how `framefarm render` shares one machine out: the frames
 * per set when the user gave no --set-size, and each node's threads. Pure
 * functions (unit-tested); cli/render.c applies them.
 */
#ifndef FF_SETPLAN_H
#define FF_SETPLAN_H

#include <stdint.h>

/* No set smaller than this by default: one GOP at the default 12 fps
 * (the seed's fixed default). */
#define SETPLAN_MIN_SIZE 24
/* No set larger than this by default: ~50 s of video at 12 fps, a few
 * seconds of work for a node; a failed set costs no more than that. */
#define SETPLAN_MAX_SIZE 600

/* Frames per set for frames over nodes render nodes: every node gets the
 * same share in one set (each set costs an encoder start, an IDR, a
 * check and a concat entry, and on one machine the nodes are alike), or,
 * for a long job, sets of at most SETPLAN_MAX_SIZE in a number that is a
 * multiple of nodes, so that no node idles at the end. Never under
 * SETPLAN_MIN_SIZE. nodes < 1 counts as 1. */
uint32_t setplan_size(uint64_t frames, int nodes);

/* The tail (see setplan_split): about 1/SETPLAN_TAIL_SHARE of the frames,
 * in sets of about SETPLAN_TAIL_SIZE frames (a third of a second of
 * work for a node sharing this machine), at most SETPLAN_TAIL_MAX_SETS
 * per node, in a number that is a multiple of the nodes; none unless
 * every node gets a tail set of SETPLAN_TAIL_SIZE. */
#define SETPLAN_TAIL_SHARE 8
#define SETPLAN_TAIL_SIZE 6
#define SETPLAN_TAIL_MAX_SETS 4

/* framefarm render's plan: frames per set (*size, for --set-size) and
 * how many sets the job's last set is cut into (*tail_sets, for the
 * ambassador's --tail-sets; 0: not cut). The sets of setplan_size, over
 * all but about an eighth of the frames; that eighth, the job's last
 * frames, in small sets that the nodes take as they come free: a node
 * that finished its big set early (the nodes share the cores, and not
 * always evenly) takes more of them, so that the nodes end together, at
 * most one small set apart, instead of up to a whole set's skew apart
 * with one core idle. */
void setplan_split(uint64_t frames, int nodes, uint32_t *size,
                   uint32_t *tail_sets);

/* The job's split into sets, as the ambassador makes it: sets of size
 * frames, the last of which is cut into tail_sets sets (0 or 1: not cut)
 * of sizes that differ by at most one frame, the larger first (never one
 * of no frame: at most as many as it has frames). setplan_sets: how many
 * sets; setplan_range: set's first frame and frame count (set <
 * setplan_sets). size >= 1. */
uint64_t setplan_sets(uint64_t frames, uint32_t size, uint32_t tail_sets);
void setplan_range(uint64_t frames, uint32_t size, uint32_t tail_sets,
                   uint64_t set, uint64_t *first, uint64_t *count);

/* Threads for each of nodes nodes sharing cores: cores / nodes, at least
 * 1 (nodes x threads <= cores when nodes <= cores). */
int setplan_threads(long cores, int nodes);

#endif
