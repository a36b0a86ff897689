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

/* Threads for each of nodes nodes sharing cores: cores / nodes, at least
 * 1 (nodes x threads <= cores when nodes <= cores). */
int setplan_threads(long cores, int nodes);

#endif
