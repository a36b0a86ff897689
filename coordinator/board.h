/*
 * board.h - what the ambassador shows, published by the loop for the
 * HTTP threads: an immutable snapshot (struct board_snap, the documents
 * already rendered as text) that the loop replaces at most four times a
 * second, and that readers hold by reference while they send it.
 *
 * Threads: the loop publishes (board_publish); any number of HTTP threads
 * take the current snapshot (board_get), or wait for a newer one
 * (board_wait, for /events), and give it back (board_put). The board's
 * mutex is held only to swap or take a pointer and to count references;
 * nothing is rendered or sent under it, so a slow client never holds up
 * the loop. A snapshot is never changed once published.
 */
#ifndef FF_BOARD_H
#define FF_BOARD_H

#include <stddef.h>
#include <stdint.h>

struct board_job {
    char *id;
    char *doc; /* /api/jobs/ID */
};

struct board_snap {
    uint64_t version; /* set by board_publish: 1, 2, ... */
    char *state;      /* /api/status and each /events message */
    char *jobs;       /* /api/jobs */
    char *nodes;      /* /api/nodes */
    char *metrics;    /* the loop's part of /metrics */
    struct board_job *job;
    size_t njobs;
    char **node_names; /* the nodes the snapshot shows (actions check) */
    size_t nnodes;
    int refs; /* the board's mutex guards it */
};

struct board;

struct board *board_new(void);
/* Wakes every waiter first (board_close); call once no thread uses it. */
void board_free(struct board *b);

/* A snapshot to fill (every pointer NULL); NULL when out of memory.
 * board_snap_free frees one never published. */
struct board_snap *board_snap_new(void);
void board_snap_free(struct board_snap *s);
/* The document of job id in s, or NULL. */
const char *board_snap_job(const struct board_snap *s, const char *id);
/* 1 when s shows a node of that name. */
int board_snap_has_node(const struct board_snap *s, const char *name);

/* The loop: s becomes the current snapshot (the board takes it). */
void board_publish(struct board *b, struct board_snap *s);
/* The current snapshot, held until board_put; NULL before the first. */
struct board_snap *board_get(struct board *b);
void board_put(struct board *b, struct board_snap *s); /* NULL ok */
/* A snapshot newer than version, waiting up to ms for one: held, or NULL
 * when none came in time or the board is closing. */
struct board_snap *board_wait(struct board *b, uint64_t version, uint64_t ms);
/* Wake every waiter; board_wait returns NULL from now on. */
void board_close(struct board *b);

#endif
