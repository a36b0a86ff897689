/*
 * leasekeeper.c - see leasekeeper.h.
 */
#include "gpu-node/leasekeeper.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/fsutil.h"
#include "common/log.h"
#include "common/netio.h"
#include "common/shareid.h"
#include "common/sharepath.h"

#define LEASEKEEPER_DIR_MODE 0755
#define LEASEKEEPER_FILE_MODE 0644
#define LEASEKEEPER_CURRENT_MAX 512

struct leasekeeper {
    char dir[FS_PATH_MAX];
    char path[FS_PATH_MAX];
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    /* Guarded by mu: */
    struct lease rec;
    uint64_t renew_ms;
    int stop;
    int wake; /* the period changed: renew now, then keep the new one */
    char cur_host[NET_HOST_MAX]; /* coord/current, when read */
    int cur_port;
    uint64_t cur_gen;
    /* Written by the keeper thread, read by anyone: */
    atomic_uint_fast64_t last_ok_ms;
    char current[FS_PATH_MAX]; /* path of coord/current */
    char share[FS_PATH_MAX];
    char share_id[SHAREID_HEX + 1]; /* "" when not checked */
    atomic_int share_lost;          /* the share's id is gone: fence at once */
    /* Keeper thread only: */
    int fd;
    int failing;
};

static int
leasekeeper_write(struct leasekeeper *k, const uint8_t *buf)
{
    ssize_t n;
    if (k->fd == -1) {
        /* Only the node's own folder is made here: nodes/ is the
         * ambassador's. A share that is not mounted has none, and the
         * lease then fails (and the node fences) instead of renewing on
         * the empty directory underneath. */
        if (mkdir(k->dir, LEASEKEEPER_DIR_MODE) == -1 && errno != EEXIST)
            return -1;
        k->fd =
            open(k->path, O_RDWR | O_CREAT | O_CLOEXEC, LEASEKEEPER_FILE_MODE);
        if (k->fd == -1)
            return -1;
    }
    do {
        n = pwrite(k->fd, buf, LEASE_RECORD_SIZE, 0);
    } while (n == -1 && errno == EINTR);
    if (n != LEASE_RECORD_SIZE || fsync(k->fd) == -1) {
        int saved = n == -1 ? errno : EIO;
        close(k->fd);
        k->fd = -1; /* reopen next time: the mount may have come back */
        errno = saved;
        return -1;
    }
    return 0;
}

/* Read coord/current: "HOST:PORT GENERATION". */
static void
leasekeeper_read_current(struct leasekeeper *k)
{
    char *text = NULL, host[NET_HOST_MAX], addr[NET_HOST_MAX + 8];
    unsigned long long gen;
    size_t len;
    int port;

    if (fs_read_max(k->current, LEASEKEEPER_CURRENT_MAX, &text, &len) == -1)
        return;
    if (sscanf(text, "%263s %llu", addr, &gen) == 2 &&
        net_parse_hostport(addr, host, sizeof(host), &port, 0) == 0 &&
        port > 0) {
        pthread_mutex_lock(&k->mu);
        if (gen >= k->cur_gen) {
            snprintf(k->cur_host, sizeof(k->cur_host), "%s", host);
            k->cur_port = port;
            k->cur_gen = gen;
        }
        pthread_mutex_unlock(&k->mu);
    }
    free(text);
}

int
leasekeeper_current(struct leasekeeper *k, char *host, size_t hostlen,
                    int *port, uint64_t *gen)
{
    int have;
    pthread_mutex_lock(&k->mu);
    have = k->cur_port > 0;
    if (have) {
        snprintf(host, hostlen, "%s", k->cur_host);
        *port = k->cur_port;
        *gen = k->cur_gen;
    }
    pthread_mutex_unlock(&k->mu);
    return have;
}

/* Before each renewal: is the share still the one the node joined? */
static int
leasekeeper_share_gone(struct leasekeeper *k)
{
    char id[SHAREID_HEX + 1], err[ERR_MAX];
    int gone;
    if (k->share_id[0] == '\0')
        return 0;
    if (shareid_read(k->share, id, err, sizeof(err)) == -1)
        /* A share that does not answer now (a soft mount reconnecting)
         * is sick, not gone: the renewal fails and fence_ms decides. */
        gone = !err_is_share_io(errno);
    else
        gone = strcmp(id, k->share_id) != 0;
    if (gone && !atomic_load(&k->share_lost))
        log_warnx("the share is gone from %s (%s): fencing now, writing "
                  "nothing there",
                  k->share, strcmp(err, "") != 0 ? err : "another share's id");
    else if (!gone && atomic_load(&k->share_lost))
        log_info("the share is back at %s", k->share);
    atomic_store(&k->share_lost, gone);
    return gone;
}

int
leasekeeper_share_lost(struct leasekeeper *k)
{
    return atomic_load(&k->share_lost);
}

/* The counter of the record this node's last process left, or 0. */
static uint64_t
leasekeeper_last_counter(const struct leasekeeper *k)
{
    uint8_t buf[LEASE_RECORD_SIZE];
    struct lease l;
    ssize_t n;
    int fd = open(k->path, O_RDONLY | O_CLOEXEC);
    if (fd == -1)
        return 0;
    n = read(fd, buf, sizeof(buf));
    close(fd);
    if (n != (ssize_t)sizeof(buf) || lease_decode(buf, sizeof(buf), &l) == -1 ||
        strcmp(l.node, k->rec.node) != 0)
        return 0;
    return l.counter;
}

static void *
leasekeeper_main(void *arg)
{
    struct leasekeeper *k = arg;
    uint8_t buf[LEASE_RECORD_SIZE];

    pthread_mutex_lock(&k->mu);
    while (!k->stop) {
        uint64_t start = clock_now_ms(), period;
        struct timespec ts;

        k->rec.counter++;
        lease_encode(&k->rec, buf);
        period = k->renew_ms;
        pthread_mutex_unlock(&k->mu);

        leasekeeper_read_current(k);
        if (leasekeeper_share_gone(k)) {
            /* Not the share we joined (unmounted: the directory
             * underneath): write nothing there, and fence now. */
        } else if (leasekeeper_write(k, buf) == 0) {
            atomic_store(&k->last_ok_ms, start);
            if (k->failing)
                log_info("lease %s renewed again", k->path);
            k->failing = 0;
        } else if (!k->failing) {
            log_warn("lease %s: renewal failed", k->path);
            k->failing = 1;
        }

        clock_deadline(&ts, period);
        pthread_mutex_lock(&k->mu);
        while (!k->stop && !k->wake &&
               pthread_cond_timedwait(&k->cv, &k->mu, &ts) != ETIMEDOUT)
            ;
        k->wake = 0;
    }
    pthread_mutex_unlock(&k->mu);
    if (k->fd != -1)
        close(k->fd);
    return NULL;
}

struct leasekeeper *
leasekeeper_start(const char *share, const char *share_id, const char *node,
                  uint64_t renew_ms)
{
    struct leasekeeper *k = calloc(1, sizeof(*k));

    if (k == NULL)
        return NULL;
    if (sharepath_node_dir(share, node, k->dir, sizeof(k->dir)) == -1 ||
        sharepath_lease(share, node, k->path, sizeof(k->path)) == -1 ||
        sharepath_current(share, k->current, sizeof(k->current)) == -1) {
        free(k);
        return NULL;
    }
    k->fd = -1;
    k->renew_ms = renew_ms;
    snprintf(k->share, sizeof(k->share), "%s", share);
    snprintf(k->share_id, sizeof(k->share_id), "%s",
             share_id != NULL ? share_id : "");
    snprintf(k->rec.node, sizeof(k->rec.node), "%s", node);
    k->rec.state = LEASE_RUNNING;
    {
        /* Counters only grow across restarts of this node (a reader takes
         * a lower one for a stale read): from the wall clock, and above
         * the record the last process left, whatever the clock did. */
        struct timespec now;
        uint64_t last = leasekeeper_last_counter(k);
        clock_gettime(CLOCK_REALTIME, &now);
        k->rec.counter =
            (uint64_t)now.tv_sec * 1000u + (uint64_t)now.tv_nsec / 1000000u;
        if (k->rec.counter <= last)
            k->rec.counter = last + 1;
    }
    /* Until the first renewal, the lease counts from start-up. */
    atomic_init(&k->last_ok_ms, clock_now_ms());
    pthread_mutex_init(&k->mu, NULL);
    clock_cond_init(&k->cv);
    if (pthread_create(&k->thread, NULL, leasekeeper_main, k) != 0) {
        pthread_cond_destroy(&k->cv);
        pthread_mutex_destroy(&k->mu);
        free(k);
        return NULL;
    }
    return k;
}

void
leasekeeper_set(struct leasekeeper *k, const struct lease_held *held,
                uint32_t n, enum lease_state state)
{
    if (n > LEASE_MAX_HELD)
        n = LEASE_MAX_HELD;
    pthread_mutex_lock(&k->mu);
    memcpy(k->rec.held, held, n * sizeof(*held));
    k->rec.nheld = n;
    k->rec.state = state;
    pthread_mutex_unlock(&k->mu);
}

void
leasekeeper_set_period(struct leasekeeper *k, uint64_t renew_ms)
{
    pthread_mutex_lock(&k->mu);
    /* A wait begun with the old period must not outlast the new one: the
     * welcome's fence_ms is scaled with it, so sleeping out the default
     * period fenced a node that had done nothing wrong. */
    if (renew_ms != k->renew_ms) {
        k->wake = 1;
        pthread_cond_signal(&k->cv);
    }
    k->renew_ms = renew_ms;
    pthread_mutex_unlock(&k->mu);
}

uint64_t
leasekeeper_last_ok(struct leasekeeper *k)
{
    return atomic_load(&k->last_ok_ms);
}

void
leasekeeper_free(struct leasekeeper *k)
{
    if (k == NULL)
        return;
    pthread_mutex_lock(&k->mu);
    k->stop = 1;
    pthread_cond_signal(&k->cv);
    pthread_mutex_unlock(&k->mu);
    pthread_join(k->thread, NULL);
    pthread_cond_destroy(&k->cv);
    pthread_mutex_destroy(&k->mu);
    free(k);
}
