/*
 * sets.c - see sets.h. A flat array of small entries; set_table_pick keeps
 * a hint to the lowest set that may be assignable so a large job does not
 * rescan its counted prefix. Node names are interned (a job has few
 * nodes and many sets); a set's failure history is allocated the first
 * time it is needed and kept in a map by set.
 */
#include "coordinator/sets.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/hmap.h"

struct set_table {
    uint32_t n;
    uint32_t counted;
    uint32_t low; /* no set below this is A or C */
    int fail_allocs;
    struct set_info *sets;
    struct hmap names; /* name -> its copy, the key itself */
    struct hmap hists; /* set + 1 -> its struct set_history */
};

const char *
set_info_error(const struct set_info *s)
{
    return s->hist != NULL ? s->hist->last_error : "";
}

void
set_table_fail_allocs(struct set_table *t, int on)
{
    t->fail_allocs = on;
}

/* The table's copy of name; NULL when out of memory. */
static const char *
set_table_name(struct set_table *t, const char *name)
{
    char *copy;
    if (name == NULL || name[0] == '\0')
        return "";
    copy = hmap_get_str(&t->names, name);
    if (copy != NULL)
        return copy;
    if (t->fail_allocs || (copy = strdup(name)) == NULL)
        return NULL;
    if (hmap_put_str(&t->names, copy, copy) == -1) {
        free(copy);
        return NULL;
    }
    return copy;
}

/* set's history, allocated (empty) when it has none; NULL when out of
 * memory. */
static struct set_history *
set_table_hist(struct set_table *t, uint32_t set)
{
    struct set_history *h = hmap_get_u64(&t->hists, (uint64_t)set + 1);
    if (h != NULL)
        return h;
    if (t->fail_allocs || (h = calloc(1, sizeof(*h))) == NULL)
        return NULL;
    if (hmap_put_u64(&t->hists, (uint64_t)set + 1, h) == -1) {
        free(h);
        return NULL;
    }
    return h;
}

static void
hmap_free_values(struct hmap *m)
{
    for (size_t i = 0; i < m->cap; i++)
        free(m->slots[i].val);
    hmap_fini(m);
}

struct set_table *
set_table_new(uint32_t nsets)
{
    struct set_table *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return NULL;
    t->sets = calloc(nsets > 0 ? nsets : 1, sizeof(*t->sets));
    if (t->sets == NULL) {
        free(t);
        return NULL;
    }
    t->n = nsets;
    hmap_init(&t->names);
    hmap_init(&t->hists);
    for (uint32_t i = 0; i < nsets; i++) {
        t->sets[i].status = SET_AVAILABLE;
        t->sets[i].holder_name = t->sets[i].alt_name = "";
    }
    return t;
}

void
set_table_free(struct set_table *t)
{
    if (t == NULL)
        return;
    hmap_free_values(&t->names);
    hmap_free_values(&t->hists);
    free(t->sets);
    free(t);
}

uint32_t
set_table_size(const struct set_table *t)
{
    return t->n;
}

const struct set_info *
set_table_get(const struct set_table *t, uint32_t set)
{
    return set < t->n ? &t->sets[set] : NULL;
}

uint32_t
set_table_count(const struct set_table *t, enum set_status s)
{
    uint32_t c = 0;
    if (s == SET_COUNTED)
        return t->counted;
    for (uint32_t i = 0; i < t->n; i++)
        c += t->sets[i].status == s;
    return c;
}

int
set_table_done(const struct set_table *t)
{
    return t->counted == t->n;
}

static int
set_failed_on(const struct set_info *s, const char *name)
{
    for (uint32_t i = 0; i < s->nfailed_on; i++)
        if (strcmp(s->hist->failed_on[i], name) == 0)
            return 1;
    return 0;
}

int64_t
set_table_pick(const struct set_table *t, const char *node_name)
{
    int64_t fallback = -1;
    for (uint32_t i = t->low; i < t->n; i++) {
        const struct set_info *s = &t->sets[i];
        if (s->status != SET_AVAILABLE && s->status != SET_FAILED)
            continue;
        if (!set_failed_on(s, node_name))
            return i;
        if (fallback == -1)
            fallback = i;
    }
    return fallback;
}

/* The next epoch: above any handed out, the backup's included. */
static void
set_bump(struct set_info *s)
{
    if (s->alt_epoch > s->epoch)
        s->epoch = s->alt_epoch;
    s->epoch++;
    s->alt_epoch = 0;
}

static int
set_has_backup(const struct set_info *s)
{
    return s->alt_name[0] != '\0';
}

/* The set in B with an attempt at epoch, either one; *alt says which. */
static struct set_info *
set_table_attempt(struct set_table *t, uint32_t set, uint64_t epoch, int *alt)
{
    struct set_info *s;
    if (set >= t->n)
        return NULL;
    s = &t->sets[set];
    if (s->status != SET_PROCESSING)
        return NULL;
    *alt = set_has_backup(s) && s->alt_epoch == epoch;
    if (!*alt && s->epoch != epoch)
        return NULL;
    return s;
}

/* One of two attempts ended: the other one keeps the set in B. The backup
 * left alone becomes the attempt, at its (newer) epoch. */
static void
set_end_attempt(struct set_info *s, int alt)
{
    if (!alt) {
        s->epoch = s->alt_epoch;
        s->holder = s->alt_holder;
        s->holder_name = s->alt_name;
        s->checking = s->alt_checking;
        s->alt_epoch = 0;
    }
    s->alt_holder = 0;
    s->alt_name = "";
    s->alt_checking = 0;
}

/* reason becomes the set's last error (h: its history). */
static void
set_note_error(struct set_info *s, struct set_history *h, const char *reason)
{
    snprintf(h->last_error, sizeof(h->last_error), "%s", reason);
    s->hist = h;
}

static void
set_note_failure(struct set_info *s, struct set_history *h, const char *name,
                 const char *reason, uint32_t *nodes_failed)
{
    set_note_error(s, h, reason);
    if (!set_failed_on(s, name) && s->nfailed_on < SETS_MAX_FAILED_NODES)
        snprintf(h->failed_on[s->nfailed_on++], sizeof(h->failed_on[0]), "%s",
                 name);
    s->failures++;
    if (nodes_failed != NULL)
        *nodes_failed = s->nfailed_on;
}

static void
set_table_lower_hint(struct set_table *t, uint32_t set)
{
    if (set < t->low)
        t->low = set;
}

static void
set_table_raise_hint(struct set_table *t)
{
    while (t->low < t->n && t->sets[t->low].status != SET_AVAILABLE &&
           t->sets[t->low].status != SET_FAILED)
        t->low++;
}

int
set_table_assign(struct set_table *t, uint32_t set, uint64_t session,
                 const char *name, uint64_t *epoch)
{
    struct set_info *s;
    const char *copy;
    if (set >= t->n || session == 0)
        return -1;
    s = &t->sets[set];
    if (s->status != SET_AVAILABLE && s->status != SET_FAILED)
        return -1;
    if ((copy = set_table_name(t, name)) == NULL)
        return -1;
    s->status = SET_PROCESSING;
    set_bump(s);
    s->holder = session;
    s->holder_name = copy;
    s->checking = 0;
    s->attempts++;
    *epoch = s->epoch;
    set_table_raise_hint(t);
    return 0;
}

static struct set_info *
set_table_current(struct set_table *t, uint32_t set, uint64_t epoch)
{
    struct set_info *s;
    if (set >= t->n)
        return NULL;
    s = &t->sets[set];
    if (s->status != SET_PROCESSING || s->epoch != epoch)
        return NULL;
    return s;
}

/* B -> C for the attempt at the current epoch. */
static void
set_table_to_failed(struct set_table *t, uint32_t set, struct set_info *s,
                    struct set_history *h, const char *reason,
                    uint32_t *nodes_failed)
{
    set_note_failure(s, h, s->holder_name, reason, nodes_failed);
    s->status = SET_FAILED;
    set_bump(s);
    s->holder = 0;
    s->checking = 0;
    set_table_lower_hint(t, set);
}

int
set_table_fail(struct set_table *t, uint32_t set, uint64_t epoch,
               const char *reason, uint32_t *nodes_failed)
{
    int alt;
    struct set_info *s = set_table_attempt(t, set, epoch, &alt);
    struct set_history *h;
    if (s == NULL || (alt ? s->alt_checking : s->checking))
        return -1;
    if ((h = set_table_hist(t, set)) == NULL)
        return -1;
    if (set_has_backup(s)) {
        set_note_failure(s, h, alt ? s->alt_name : s->holder_name, reason,
                         nodes_failed);
        set_end_attempt(s, alt);
        return 0;
    }
    set_table_to_failed(t, set, s, h, reason, nodes_failed);
    return 0;
}

int
set_table_reclaim(struct set_table *t, uint32_t set, uint64_t epoch,
                  const char *reason)
{
    int alt;
    struct set_info *s = set_table_attempt(t, set, epoch, &alt);
    struct set_history *h;
    if (s == NULL || (alt ? s->alt_checking : s->checking))
        return -1;
    if ((h = set_table_hist(t, set)) == NULL)
        return -1;
    set_note_error(s, h, reason);
    if (set_has_backup(s)) {
        s->reclaims++;
        set_end_attempt(s, alt);
        return 0;
    }
    s->status = SET_FAILED;
    set_bump(s);
    s->holder = 0;
    s->reclaims++;
    set_table_lower_hint(t, set);
    return 0;
}

int
set_table_reattach(struct set_table *t, uint32_t set, uint64_t epoch,
                   uint64_t session)
{
    struct set_info *s = set_table_current(t, set, epoch);
    if (s == NULL || s->checking || session == 0)
        return -1;
    s->holder = session;
    return 0;
}

int
set_table_restore(struct set_table *t, uint32_t set,
                  const struct set_info *info, uint64_t session)
{
    struct set_info *s;
    struct set_history *h = NULL;
    const char *name, *alt_name;
    if (set >= t->n || t->sets[set].status == SET_COUNTED)
        return -1;
    s = &t->sets[set];
    name = set_table_name(t, info->holder_name);
    alt_name =
        set_table_name(t, info->status == SET_PROCESSING ? info->alt_name : "");
    if (name == NULL || alt_name == NULL ||
        (info->hist != NULL && (h = set_table_hist(t, set)) == NULL))
        return -1;
    if (h != NULL && h != info->hist)
        *h = *info->hist;
    *s = *info;
    s->holder_name = name;
    s->alt_name = alt_name;
    s->hist = h;
    if (h == NULL || s->nfailed_on > SETS_MAX_FAILED_NODES)
        s->nfailed_on = h == NULL ? 0 : SETS_MAX_FAILED_NODES;
    s->checking = 0;
    s->holder = s->status == SET_PROCESSING ? session : 0;
    s->alt_checking = 0;
    s->alt_holder = set_has_backup(s) ? session : 0;
    if (s->status == SET_COUNTED)
        t->counted++;
    if (s->status == SET_AVAILABLE || s->status == SET_FAILED)
        set_table_lower_hint(t, set);
    return 0;
}

int
set_table_unassign(struct set_table *t, uint32_t set, uint64_t epoch)
{
    int alt;
    struct set_info *s = set_table_attempt(t, set, epoch, &alt);
    if (s == NULL || (alt ? s->alt_checking : s->checking))
        return -1;
    if (set_has_backup(s)) {
        s->attempts--;
        set_end_attempt(s, alt);
        return 0;
    }
    s->status = SET_AVAILABLE;
    set_bump(s);
    s->holder = 0;
    s->attempts--;
    set_table_lower_hint(t, set);
    return 0;
}

int
set_table_begin_check(struct set_table *t, uint32_t set, uint64_t epoch)
{
    int alt;
    struct set_info *s = set_table_attempt(t, set, epoch, &alt);
    if (s == NULL || s->checking || s->alt_checking)
        return -1;
    if (alt)
        s->alt_checking = 1;
    else
        s->checking = 1;
    return 0;
}

int
set_table_accept(struct set_table *t, uint32_t set, uint64_t epoch)
{
    int alt;
    struct set_info *s = set_table_attempt(t, set, epoch, &alt);
    if (s == NULL || !(alt ? s->alt_checking : s->checking))
        return -1;
    if (alt) {
        /* The backup won: the set is counted at its (newer) epoch. */
        s->epoch = s->alt_epoch;
        s->holder_name = s->alt_name;
        s->alt_epoch = 0;
    }
    s->alt_holder = 0;
    s->alt_name = "";
    s->alt_checking = 0;
    s->status = SET_COUNTED;
    s->checking = 0;
    s->holder = 0;
    t->counted++;
    return 0;
}

int
set_table_lose(struct set_table *t, uint32_t set, uint64_t epoch,
               const char *reason)
{
    struct set_info *s;
    struct set_history *h;
    if (set >= t->n || t->sets[set].status != SET_COUNTED ||
        t->sets[set].epoch != epoch)
        return -1;
    if ((h = set_table_hist(t, set)) == NULL)
        return -1;
    s = &t->sets[set];
    s->status = SET_FAILED;
    set_bump(s);
    s->holder = 0;
    s->checking = 0;
    s->losses++;
    set_note_error(s, h, reason);
    t->counted--;
    set_table_lower_hint(t, set);
    return 0;
}

int
set_table_reject(struct set_table *t, uint32_t set, uint64_t epoch,
                 const char *reason, uint32_t *nodes_failed)
{
    int alt;
    struct set_info *s = set_table_attempt(t, set, epoch, &alt);
    struct set_history *h;
    if (s == NULL || !(alt ? s->alt_checking : s->checking))
        return -1;
    if ((h = set_table_hist(t, set)) == NULL)
        return -1;
    if (set_has_backup(s)) {
        set_note_failure(s, h, alt ? s->alt_name : s->holder_name, reason,
                         nodes_failed);
        set_end_attempt(s, alt);
        return 0;
    }
    set_table_to_failed(t, set, s, h, reason, nodes_failed);
    return 0;
}

size_t
set_table_held(const struct set_table *t, uint64_t session, uint32_t *out,
               size_t max)
{
    size_t n = 0;
    for (uint32_t i = 0; i < t->n; i++) {
        const struct set_info *s = &t->sets[i];
        if (s->status == SET_PROCESSING && s->holder == session &&
            !s->checking) {
            if (n < max)
                out[n] = i;
            n++;
        }
    }
    return n;
}

void
set_table_epoch_floor(struct set_table *t, uint64_t floor)
{
    for (uint32_t i = 0; i < t->n; i++)
        if (t->sets[i].epoch < floor)
            t->sets[i].epoch = floor;
}

uint64_t
set_table_max_epoch(const struct set_table *t)
{
    uint64_t max = 0;
    for (uint32_t i = 0; i < t->n; i++) {
        if (t->sets[i].epoch > max)
            max = t->sets[i].epoch;
        if (t->sets[i].alt_epoch > max)
            max = t->sets[i].alt_epoch;
    }
    return max;
}

int
set_table_backup(struct set_table *t, uint32_t set, uint64_t session,
                 const char *name, uint64_t *epoch)
{
    struct set_info *s;
    const char *copy;
    if (set >= t->n || session == 0)
        return -1;
    s = &t->sets[set];
    if (s->status != SET_PROCESSING || s->checking || set_has_backup(s) ||
        strcmp(s->holder_name, name) == 0)
        return -1;
    if ((copy = set_table_name(t, name)) == NULL)
        return -1;
    s->alt_epoch = (s->alt_epoch > s->epoch ? s->alt_epoch : s->epoch) + 1;
    s->alt_holder = session;
    s->alt_name = copy;
    s->alt_checking = 0;
    s->attempts++;
    *epoch = s->alt_epoch;
    return 0;
}

int
set_table_holds(const struct set_table *t, uint32_t set, uint64_t session,
                uint64_t epoch)
{
    const struct set_info *s = set_table_get(t, set);
    if (s == NULL || s->status != SET_PROCESSING)
        return 0;
    if (s->holder == session && s->epoch == epoch)
        return 1;
    return set_has_backup(s) && s->alt_holder == session &&
           s->alt_epoch == epoch;
}
