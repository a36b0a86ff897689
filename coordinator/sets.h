/*
 * sets.h - the set table: one entry per set with its status flag
 * (A Available, B Processing, C Failed, D Counted), its epoch and who holds
 * it. Pure: it takes decisions' inputs and returns their outcome; it never
 * reads a clock, a socket or a file. Owned by the ambassador's loop thread.
 *
 * Invariants: an epoch only grows; every assignment and every reclaim
 * bumps it; a result is accepted only for the current epoch of a set in B
 * whose check was begun for that epoch, and only once. D is left only by
 * set_table_lose (the counted file was lost), with the epoch bumped.
 *
 * Speculative backup (set_table_backup): a set in B may have a second
 * attempt on another node, at a newer epoch (alt_epoch). Both attempts are
 * valid until one is counted; only one is checked at a time. When one
 * attempt ends (failure, reclaim, unassign, rejected check) the other
 * carries on and the set stays in B; epoch then takes alt_epoch if the
 * backup is the one left. The first accepted moves the set to D once;
 * alt_epoch stays as the highest epoch handed out, so no later bump
 * repeats it.
 */
#ifndef FF_SETS_H
#define FF_SETS_H

#include <stddef.h>
#include <stdint.h>

#include "common/ident.h"

#define SETS_ERROR_MAX 160
#define SETS_MAX_FAILED_NODES 8

enum set_status {
    SET_AVAILABLE = 'A',
    SET_PROCESSING = 'B',
    SET_FAILED = 'C',
    SET_COUNTED = 'D',
};

/* A set's failure history: the table allocates it only for a set that
 * failed, was reclaimed or lost (most sets never are). */
struct set_history {
    char failed_on[SETS_MAX_FAILED_NODES][IDENT_MAX + 1]; /* distinct */
    char last_error[SETS_ERROR_MAX];
};

/* One set, as the table keeps it (about 100 bytes: names are the table's
 * interned copies, the history a pointer). Strings and history belong to
 * the table: they stay valid until set_table_free, their contents until
 * the set changes. A set_info given to set_table_restore may point
 * anywhere; the table copies what it points to. */
struct set_info {
    enum set_status status;
    int checking;            /* B: a done for this epoch is being validated */
    uint64_t epoch;          /* current epoch; 0 before the first assignment */
    uint64_t holder;         /* node session holding it in B; 0 otherwise */
    const char *holder_name; /* never NULL; "" when none */
    uint32_t attempts;       /* assignments made */
    uint32_t failures;       /* attempts that failed on their node */
    uint32_t reclaims;       /* attempts lost with their node's session */
    uint32_t losses;     /* counted results later found missing or changed */
    uint32_t nfailed_on; /* distinct nodes in hist->failed_on */
    int alt_checking;    /* B: a done for alt_epoch is checked */
    const struct set_history *hist; /* NULL: no failure, no last error */
    /* The backup attempt: live while alt_name is not "". alt_epoch is
     * also kept after it ends, as the highest epoch handed out. */
    uint64_t alt_epoch;
    uint64_t alt_holder;
    const char *alt_name; /* never NULL; "" when none */
};

/* The last error of s, "" when none. */
const char *set_info_error(const struct set_info *s);

struct set_table;

struct set_table *set_table_new(uint32_t nsets);
void set_table_free(struct set_table *t);
/* Tests: while on, every allocation of a name or a history fails (the
 * call that needs one returns -1 and changes nothing). */
void set_table_fail_allocs(struct set_table *t, int on);
uint32_t set_table_size(const struct set_table *t);
const struct set_info *set_table_get(const struct set_table *t, uint32_t set);
uint32_t set_table_count(const struct set_table *t, enum set_status s);
/* All sets Counted. */
int set_table_done(const struct set_table *t);

/* The next set to give node_name: A or C, lowest id first, preferring sets
 * that never failed on this node. -1 when none. */
int64_t set_table_pick(const struct set_table *t, const char *node_name);
/* A or C -> B held by (session, name), epoch bumped into *epoch. 0, or -1
 * when the set is not assignable (or the name could not be kept: out of
 * memory, as for every call below that takes a name or a reason). */
int set_table_assign(struct set_table *t, uint32_t set, uint64_t session,
                     const char *name, uint64_t *epoch);
/* B (current epoch, not checking) -> C, epoch bumped: the attempt failed
 * on its node (with a backup running, the other attempt keeps the set in
 * B: the same for reclaim, unassign and reject). *nodes_failed gets the number
 * of distinct nodes this set has failed on. 0, or -1 when stale (epoch not
 * current or not in B). */
int set_table_fail(struct set_table *t, uint32_t set, uint64_t epoch,
                   const char *reason, uint32_t *nodes_failed);
/* B (current epoch, not checking) -> C, epoch bumped: the holder's session
 * ended (disconnect, heartbeat timeout). Counted in reclaims, not against
 * the node in failed_on. 0, or -1 when stale. */
int set_table_reclaim(struct set_table *t, uint32_t set, uint64_t epoch,
                      const char *reason);
/* B at this epoch, held by a session that ended: hand it to the node's new
 * session (a reconnect that still has the set in hand). The epoch does
 * not change. 0, or -1 when stale or being checked. */
int set_table_reattach(struct set_table *t, uint32_t set, uint64_t epoch,
                       uint64_t session);
/* Snapshot replay: set the entry to info (as recorded); a set in B is held
 * by session. 0, or -1 when set is out of range or already Counted. */
int set_table_restore(struct set_table *t, uint32_t set,
                      const struct set_info *info, uint64_t session);
/* B -> A with the epoch bumped and no failure counted (the node declined
 * or the assignment was never delivered). 0, or -1 when stale. */
int set_table_unassign(struct set_table *t, uint32_t set, uint64_t epoch);
/* A done arrived: B at this epoch and not yet checking -> checking.
 * 0, or -1 when stale or duplicate. */
int set_table_begin_check(struct set_table *t, uint32_t set, uint64_t epoch);
/* The check passed: checking at this epoch -> D. 0, or -1. */
int set_table_accept(struct set_table *t, uint32_t set, uint64_t epoch);
/* D at this epoch -> C, epoch bumped: the counted result is missing or
 * was changed since (found at the concat or at a restart); the set must be
 * rendered again. Counted in losses. 0, or -1 when not D at that epoch. */
int set_table_lose(struct set_table *t, uint32_t set, uint64_t epoch,
                   const char *reason);
/* The check failed: checking at this epoch -> C, as set_table_fail. */
int set_table_reject(struct set_table *t, uint32_t set, uint64_t epoch,
                     const char *reason, uint32_t *nodes_failed);
/* Sets in B held by session and not being checked, into out (at most
 * max); returns how many there are in all. */
size_t set_table_held(const struct set_table *t, uint64_t session,
                      uint32_t *out, size_t max);
/* B with no backup and neither attempt checking, held by another node
 * name -> a second attempt held by (session, name) at a new epoch (into
 * *epoch). 0, or -1. */
int set_table_backup(struct set_table *t, uint32_t set, uint64_t session,
                     const char *name, uint64_t *epoch);
/* Does session hold set at epoch (the first attempt or the backup)? */
int set_table_holds(const struct set_table *t, uint32_t set, uint64_t session,
                    uint64_t epoch);
/* Raise every set's epoch to at least floor (a service's jobs take
 * disjoint epoch ranges, so a late result of one job never matches a set
 * of the next). */
void set_table_epoch_floor(struct set_table *t, uint64_t floor);
/* The highest epoch of any set. */
uint64_t set_table_max_epoch(const struct set_table *t);

#endif
