/*
 * concatread.c - see concatread.h. Input i lives in slot i %
 * CONCATREAD_SLOTS from the moment a reader claims it until the writer
 * gives it back; a reader claims input i only once input i -
 * CONCATREAD_SLOTS is given back, so a slot has one owner at a time. The
 * lock guards the counters and the ready flags, never a read, a hash or
 * a libav call.
 */
#include "media/concatread.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "common/fdio.h"
#include "common/fsutil.h"
#include "common/hash.h"
#include "media/viddec.h"
#include "media/vidinfo.h"

/* Two readers keep both cores of a small machine busy beside the writer
 * (reading, hashing and opening an MP4 cost about twice what copying its
 * packets does). Up to eight inputs in flight: with three, the threads
 * handed small inputs (1,000 sets of ~18 KB) over one by one and waited
 * on each other (~17 % of the cycles in futex waits and wakes). */
#define CONCATREAD_READERS 2
#define CONCATREAD_SLOTS 8
/* An input read whole may be this large; a larger one sends the concat
 * down its general path. */
#define CONCATREAD_MEM_MAX ((size_t)128 << 20)
#define CONCATREAD_MEM_MIN ((size_t)1 << 16)
/* Bytes of inputs read and not yet copied: past this, no reader starts
 * another while one is in flight. So memory stays near this plus one
 * input per reader, not eight inputs, when inputs are large. */
#define CONCATREAD_HELD_MAX ((size_t)32 << 20)
/* A slot's buffer is kept for the next input up to this size. */
#define CONCATREAD_KEEP_MAX ((size_t)4 << 20)

/* One input on its way from a reader to the writer. */
struct concatread_slot {
    uint8_t *data; /* the file, read whole; kept from input to input */
    size_t len, cap;
    size_t held; /* under the lock: len, counted in held when ready */
    struct viddec vd;
    int ready; /* under the lock: rc, err, vd and the input's vi are set */
    int rc;    /* concatread_next's answer */
    char err[ERR_MAX];
};

struct concatread {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    const char *const *inputs;
    const char *const *shas;
    size_t n;
    struct vidinfo *vi;
    size_t next; /* the first input no one has claimed */
    size_t done; /* inputs the writer has given back */
    size_t held; /* bytes of inputs ready and not given back */
    size_t held_max;
    int stop;
    struct concatread_slot slot[CONCATREAD_SLOTS];
    pthread_t th[CONCATREAD_READERS];
    int nth;
};

int
concatread_same_sha(const char *const *inputs, size_t i, const char *got,
                    const char *want, char *err, size_t errlen)
{
    if (want == NULL || strcmp(got, want) == 0)
        return 0;
    errf(err, errlen,
         "input %zu (%s): sha256 %.12s..., counted as %.12s...: changed "
         "since it was counted",
         i, inputs[i], got, want);
    return -1;
}

/* Read the regular file at path whole into s (fs_open_regular). 0; 1
 * when it holds more than CONCATREAD_MEM_MAX bytes; -1 with errno. */
static int
concatread_whole(const char *path, struct concatread_slot *s)
{
    struct stat st;
    int fd, rc = -1, saved;

    s->len = 0;
    fd = fs_open_regular(path, &st);
    if (fd == -1)
        return -1;
    if ((uint64_t)st.st_size > CONCATREAD_MEM_MAX) {
        rc = 1;
        goto out;
    }
    for (;;) {
        ssize_t got;
        if (s->len == s->cap) {
            /* room for the size it had, and one byte more to see EOF */
            size_t cap = s->cap * 2 > (size_t)st.st_size + 1
                             ? s->cap * 2
                             : (size_t)st.st_size + 1;
            uint8_t *p;
            if (s->len > CONCATREAD_MEM_MAX) {
                rc = 1; /* it grew while read */
                goto out;
            }
            if (cap < CONCATREAD_MEM_MIN)
                cap = CONCATREAD_MEM_MIN;
            if (cap > CONCATREAD_MEM_MAX + 1)
                cap = CONCATREAD_MEM_MAX + 1;
            p = realloc(s->data, cap);
            if (p == NULL)
                goto out;
            s->data = p;
            s->cap = cap;
        }
        got = fdio_read_some(fd, s->data + s->len, s->cap - s->len);
        if (got == -1)
            goto out;
        if (got == 0)
            break;
        s->len += (size_t)got;
    }
    rc = 0;
out:
    saved = errno;
    close(fd);
    errno = saved;
    return rc;
}

/* Read, hash and probe input i into its slot (which the caller owns). */
static void
concatread_prepare(struct concatread *r, size_t i)
{
    struct concatread_slot *s = &r->slot[i % CONCATREAD_SLOTS];
    char hex[HASH_HEX_LEN + 1];
    const char *want = r->shas != NULL ? r->shas[i] : NULL;

    s->rc = 1;
    if (concatread_whole(r->inputs[i], s) != 0)
        return;
    if (want != NULL) {
        hash_sha256_buf(s->data, s->len, hex);
        if (concatread_same_sha(r->inputs, i, hex, want, s->err,
                                sizeof(s->err)) == -1) {
            s->rc = -1;
            return;
        }
    }
    if (vidinfo_probe_mem(r->inputs[i], s->data, s->len, &r->vi[i], &s->vd,
                          s->err, sizeof(s->err)) == 0 &&
        s->vd.fmt != NULL)
        s->rc = 0;
}

/* Claim input i (the caller holds the lock; i == r->next), prepare it
 * without the lock, and mark it ready. */
static void
concatread_claim(struct concatread *r, size_t i)
{
    r->next++;
    pthread_mutex_unlock(&r->mu);
    concatread_prepare(r, i);
    pthread_mutex_lock(&r->mu);
    r->slot[i % CONCATREAD_SLOTS].ready = 1;
    r->slot[i % CONCATREAD_SLOTS].held = r->slot[i % CONCATREAD_SLOTS].len;
    r->held += r->slot[i % CONCATREAD_SLOTS].held;
    pthread_cond_broadcast(&r->cv);
}

static void *
concatread_main(void *arg)
{
    struct concatread *r = arg;

    pthread_mutex_lock(&r->mu);
    for (;;) {
        while (!r->stop && r->next < r->n &&
               (r->next >= r->done + CONCATREAD_SLOTS ||
                (r->held >= r->held_max && r->next > r->done)))
            pthread_cond_wait(&r->cv, &r->mu);
        if (r->stop || r->next >= r->n)
            break;
        concatread_claim(r, r->next);
    }
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

struct concatread *
concatread_start(const char *const *inputs, const char *const *shas, size_t n,
                 struct vidinfo *vi)
{
    return concatread_start_held(inputs, shas, n, vi, CONCATREAD_HELD_MAX);
}

struct concatread *
concatread_start_held(const char *const *inputs, const char *const *shas,
                      size_t n, struct vidinfo *vi, size_t held_max)
{
    struct concatread *r = calloc(1, sizeof(*r));

    if (r == NULL)
        return NULL;
    r->held_max = held_max;
    r->inputs = inputs;
    r->shas = shas;
    r->n = n;
    r->vi = vi;
    if (pthread_mutex_init(&r->mu, NULL) != 0) {
        free(r);
        return NULL;
    }
    if (pthread_cond_init(&r->cv, NULL) != 0) {
        pthread_mutex_destroy(&r->mu);
        free(r);
        return NULL;
    }
    /* Fewer readers (none) only make it slower: the writer reads what
     * no reader has claimed. */
    while (r->nth < CONCATREAD_READERS && (size_t)r->nth + 1 < n &&
           pthread_create(&r->th[r->nth], NULL, concatread_main, r) == 0)
        r->nth++;
    return r;
}

int
concatread_next(struct concatread *r, size_t i, struct viddec **vd, char *err,
                size_t errlen)
{
    struct concatread_slot *s = &r->slot[i % CONCATREAD_SLOTS];

    pthread_mutex_lock(&r->mu);
    while (!s->ready) {
        if (r->next == i)
            concatread_claim(r, i); /* no reader got to it yet */
        else
            pthread_cond_wait(&r->cv, &r->mu);
    }
    pthread_mutex_unlock(&r->mu);
    if (s->rc == -1)
        errf(err, errlen, "%s", s->err);
    *vd = &s->vd;
    return s->rc;
}

void
concatread_done(struct concatread *r, size_t i)
{
    struct concatread_slot *s = &r->slot[i % CONCATREAD_SLOTS];

    viddec_close(&s->vd);
    if (s->cap > CONCATREAD_KEEP_MAX) {
        free(s->data);
        s->data = NULL;
        s->cap = 0;
    }
    pthread_mutex_lock(&r->mu);
    s->ready = 0;
    r->held -= s->held;
    s->held = 0;
    r->done++;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

void
concatread_free(struct concatread *r)
{
    if (r == NULL)
        return;
    pthread_mutex_lock(&r->mu);
    r->stop = 1;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    for (int t = 0; t < r->nth; t++)
        pthread_join(r->th[t], NULL);
    for (int k = 0; k < CONCATREAD_SLOTS; k++) {
        viddec_close(&r->slot[k].vd);
        free(r->slot[k].data);
    }
    pthread_cond_destroy(&r->cv);
    pthread_mutex_destroy(&r->mu);
    free(r);
}
