/*
 * sharewatch.c - see sharewatch.h.
 */
#include "coordinator/sharewatch.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "common/fdio.h"
#include "common/clock.h"
#include "common/fsutil.h"
#include "common/lease.h"
#include "common/log.h"
#include "common/sharepath.h"
#include "coordinator/events.h"
#include "coordinator/generation.h"
#include "coordinator/metrics.h"

#define SHAREWATCH_DIR_MODE 0755
#define SHAREWATCH_FILE_MODE 0644
#define SHAREWATCH_NAMES_MIN 16

struct sharewatch {
    char share[FS_PATH_MAX];
    uint64_t poll_ms;
    uint64_t min_free;  /* bytes: below this the share counts as full */
    struct evq *events; /* borrowed */
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop;                     /* guarded by mu */
    char (*names)[IDENT_MAX + 1]; /* whose leases to read; guarded by mu */
    uint64_t *sent; /* names[i]'s lease counter last sent, or 0; by mu */
    size_t nnames, capnames;
    uint64_t probe_counter;
};

static void
sharewatch_emit(struct sharewatch *w, struct amb_event *ev)
{
    if (evq_push(w->events, ev) == -1)
        free(ev);
}

/* Write, fsync and read back a counter: the share is answering. */
static int
sharewatch_probe(struct sharewatch *w, char *err, size_t errlen)
{
    char path[FS_PATH_MAX], dir[FS_PATH_MAX];
    uint8_t out[sizeof(uint64_t)], in[sizeof(uint64_t)];
    int fd, rc = -1;
    ssize_t n;

    if (sharepath_probe(w->share, path, sizeof(path)) == -1 ||
        sharepath_coord_dir(w->share, dir, sizeof(dir)) == -1) {
        errf(err, errlen, "share path too long");
        return -1;
    }
    if (fs_mkdir_p(dir, SHAREWATCH_DIR_MODE) == -1) {
        errf(err, errlen, "%s: %s", dir, strerror(errno));
        return -1;
    }
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, SHAREWATCH_FILE_MODE);
    if (fd == -1) {
        errf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    w->probe_counter++;
    memcpy(out, &w->probe_counter, sizeof(out));
    do {
        n = pwrite(fd, out, sizeof(out), 0);
    } while (n == -1 && errno == EINTR);
    if (n != (ssize_t)sizeof(out) || fsync(fd) == -1) {
        errf(err, errlen, "%s: write: %s", path, strerror(errno));
        goto out;
    }
    do {
        n = pread(fd, in, sizeof(in), 0);
    } while (n == -1 && errno == EINTR);
    if (n != (ssize_t)sizeof(in) || memcmp(in, out, sizeof(in)) != 0) {
        errf(err, errlen, "%s: read back something else", path);
        goto out;
    }
    rc = 0;
out:
    close(fd);
    return rc;
}

/* Read names[i]'s lease (node), and tell the loop when it has changed
 * since last told: a lease that did not move is no news, and at 1,000
 * nodes sending every read was 1,000 events a poll. */
static void
sharewatch_read_lease(struct sharewatch *w, int dfd, size_t i, const char *node)
{
    int news;
    char path[FS_PATH_MAX];
    uint8_t buf[LEASE_RECORD_SIZE];
    struct amb_event *ev;
    struct stat st;
    int fd, r;

    /* Relative to the share's root. */
    if (sharepath_lease(NULL, node, path, sizeof(path)) == -1)
        return;
    fd = openat(dfd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd == -1)
        return;
    r = fstat(fd, &st) == 0 && S_ISREG(st.st_mode)
            ? fdio_read_full(fd, buf, sizeof(buf))
            : -1;
    close(fd);
    if (r == -1)
        return;
    ev = calloc(1, sizeof(*ev));
    if (ev == NULL)
        return;
    /* A torn read or a record for another name counts as no change. */
    if (lease_decode(buf, sizeof(buf), &ev->u.lease) == -1 ||
        strcmp(ev->u.lease.node, node) != 0) {
        free(ev);
        return;
    }
    pthread_mutex_lock(&w->mu);
    news = w->sent[i] != ev->u.lease.counter;
    w->sent[i] = ev->u.lease.counter;
    pthread_mutex_unlock(&w->mu);
    if (!news) {
        free(ev);
        return;
    }
    ev->type = EV_LEASE;
    memcpy(ev->name, ev->u.lease.node, sizeof(ev->name));
    sharewatch_emit(w, ev);
}

/* Every watched node's lease, opened by its name: a listing of nodes/
 * can be a cached one (NFS keeps directory contents up to acdirmax) that
 * lacks a node that joined a minute ago. Each is opened (and so
 * revalidated, close-to-open) relative to the share's root, opened once a
 * pass: a walk of the whole share path per lease was most of the watch's
 * cost at 1,000 nodes. No descriptor on the share outlives the pass. */
static void
sharewatch_read_leases(struct sharewatch *w)
{
    int dfd = open(w->share, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd == -1)
        return; /* the probe that just answered says why */
    for (size_t i = 0;; i++) {
        char name[IDENT_MAX + 1];
        pthread_mutex_lock(&w->mu);
        if (i >= w->nnames) {
            pthread_mutex_unlock(&w->mu);
            break;
        }
        memcpy(name, w->names[i], sizeof(name));
        pthread_mutex_unlock(&w->mu);
        sharewatch_read_lease(w, dfd, i, name);
    }
    close(dfd);
}

void
sharewatch_watch(struct sharewatch *w, const char *node)
{
    pthread_mutex_lock(&w->mu);
    for (size_t i = 0; i < w->nnames; i++) {
        if (strcmp(w->names[i], node) == 0) {
            pthread_mutex_unlock(&w->mu);
            return;
        }
    }
    if (w->nnames == w->capnames) {
        size_t cap = w->capnames ? 2 * w->capnames : SHAREWATCH_NAMES_MIN;
        char(*nn)[IDENT_MAX + 1] = realloc(w->names, cap * sizeof(*nn));
        uint64_t *ns = nn != NULL ? realloc(w->sent, cap * sizeof(*ns)) : NULL;
        if (nn != NULL)
            w->names = nn;
        if (ns == NULL) {
            pthread_mutex_unlock(&w->mu);
            log_warnx("sharewatch: out of memory watching node %s", node);
            return;
        }
        w->sent = ns;
        w->capnames = cap;
    }
    w->sent[w->nnames] = 0;
    snprintf(w->names[w->nnames++], IDENT_MAX + 1, "%s", node);
    pthread_mutex_unlock(&w->mu);
}

/* Is the share full? A probe refused for want of space is an answer (the
 * share works; it is full), and so is statvfs below min_free. */
static void
sharewatch_space(const struct sharewatch *w, struct ev_share *sh)
{
    struct statvfs sv;
    if (!sh->ok && err_is_nospace(sh->text)) {
        sh->ok = 1;
        sh->full = 1;
    }
    if (statvfs(w->share, &sv) == 0) {
        sh->free_bytes = (uint64_t)sv.f_bavail * sv.f_frsize;
        if (sh->free_bytes < w->min_free)
            sh->full = 1;
    }
}

static void *
sharewatch_main(void *arg)
{
    struct sharewatch *w = arg;

    pthread_mutex_lock(&w->mu);
    while (!w->stop) {
        struct amb_event *ev = calloc(1, sizeof(*ev));
        struct timespec ts;
        uint64_t period = w->poll_ms;
        pthread_mutex_unlock(&w->mu);

        if (ev != NULL) {
            uint64_t t0 = clock_now_us();
            ev->type = EV_SHARE;
            ev->u.share.ok = sharewatch_probe(w, ev->u.share.text,
                                              sizeof(ev->u.share.text)) == 0;
            if (ev->u.share.ok)
                metrics_observe_us(METRICS_SHARE_PROBE, clock_now_us() - t0);
            /* The leases of this pass go before the probe's answer: the
             * loop learns the share is healthy again only once it has
             * read every lease after the outage, so no lease is judged
             * by what it showed before. */
            if (ev->u.share.ok)
                sharewatch_read_leases(w);
            sharewatch_space(w, &ev->u.share);
            /* The newest generation claimed: a stopped ambassador that
             * wakes up learns here that it was replaced. */
            ev->u.share.gen = generation_newest(w->share);
            sharewatch_emit(w, ev);
        }

        clock_deadline(&ts, period);
        pthread_mutex_lock(&w->mu);
        while (!w->stop &&
               pthread_cond_timedwait(&w->cv, &w->mu, &ts) != ETIMEDOUT)
            ;
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

struct sharewatch *
sharewatch_start(const char *share, uint64_t poll_ms, uint64_t min_free,
                 struct evq *events)
{
    struct sharewatch *w = calloc(1, sizeof(*w));

    if (w == NULL)
        return NULL;
    snprintf(w->share, sizeof(w->share), "%s", share);
    w->poll_ms = poll_ms;
    w->min_free = min_free;
    w->events = events;
    pthread_mutex_init(&w->mu, NULL);
    clock_cond_init(&w->cv);
    if (pthread_create(&w->thread, NULL, sharewatch_main, w) != 0) {
        pthread_cond_destroy(&w->cv);
        pthread_mutex_destroy(&w->mu);
        free(w);
        return NULL;
    }
    return w;
}

void
sharewatch_free(struct sharewatch *w)
{
    if (w == NULL)
        return;
    pthread_mutex_lock(&w->mu);
    w->stop = 1;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    free(w->names);
    free(w->sent);
    free(w);
}
