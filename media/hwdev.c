/*
 * hwdev.c - see hwdev.h. A small table under one mutex, never held across
 * a libav call: the first thread to ask for a device marks its slot
 * CREATING and creates it unlocked; others asking for the same device
 * meanwhile wait on the condition variable for the outcome (up to
 * HWDEV_WAIT_MS: a creator stuck in a driver must not hang them too), so a
 * device is created once even when several render threads start
 * together.
 */
#include "media/hwdev.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "common/clock.h"
#include "common/err.h"
#include "media/avlog.h"

#define HWDEV_MAX 8
#define HWDEV_PATH_MAX 256
#define HWDEV_WAIT_MS 30000 /* for another thread's creation */

enum hwdev_state { HWDEV_FREE, HWDEV_CREATING, HWDEV_READY };

static struct hwdev_slot {
    enum hwdev_state state;
    enum AVHWDeviceType type;
    char path[HWDEV_PATH_MAX]; /* "" = libav's default */
    AVBufferRef *dev;          /* READY only */
} hwdev_slots[HWDEV_MAX];
static unsigned hwdev_count;
static pthread_mutex_t hwdev_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t hwdev_cv; /* CLOCK_MONOTONIC waits: hwdev_init_once */
static pthread_once_t hwdev_once = PTHREAD_ONCE_INIT;

static void
hwdev_init_once(void)
{
    clock_cond_init(&hwdev_cv);
}

/* Under hwdev_mu. */
static struct hwdev_slot *
hwdev_find(enum AVHWDeviceType type, const char *path)
{
    for (size_t i = 0; i < HWDEV_MAX; i++)
        if (hwdev_slots[i].state != HWDEV_FREE && hwdev_slots[i].type == type &&
            strcmp(hwdev_slots[i].path, path) == 0)
            return &hwdev_slots[i];
    return NULL;
}

int
hwdev_get(enum AVHWDeviceType type, const char *path, AVBufferRef **out,
          char *err, size_t errlen)
{
    struct avlog_capture cap;
    struct timespec deadline;
    struct hwdev_slot *s;
    const char *key = path != NULL ? path : "";
    const char *tname = av_hwdevice_get_type_name(type);
    AVBufferRef *dev = NULL;
    int ret, rc = -1;

    *out = NULL;
    pthread_once(&hwdev_once, hwdev_init_once);
    if (type == AV_HWDEVICE_TYPE_NONE || tname == NULL) {
        errf(err, errlen, "not a hardware device type");
        errno = EINVAL;
        return -1;
    }
    if (strlen(key) >= HWDEV_PATH_MAX) {
        errf(err, errlen, "%s device path too long", tname);
        errno = ENAMETOOLONG;
        return -1;
    }
    clock_deadline(&deadline, HWDEV_WAIT_MS);
    pthread_mutex_lock(&hwdev_mu);
    while ((s = hwdev_find(type, key)) != NULL && s->state == HWDEV_CREATING) {
        if (pthread_cond_timedwait(&hwdev_cv, &hwdev_mu, &deadline) ==
            ETIMEDOUT) {
            /* The creator is stuck in the driver (the probes abandon such
             * threads): fail rather than hang with it. */
            errf(err, errlen,
                 "the %s device is still being opened by another thread "
                 "after %d s (its driver may hang)",
                 tname, HWDEV_WAIT_MS / 1000);
            errno = ETIMEDOUT;
            goto out;
        }
    }
    if (s == NULL) {
        for (size_t i = 0; s == NULL && i < HWDEV_MAX; i++)
            if (hwdev_slots[i].state == HWDEV_FREE)
                s = &hwdev_slots[i];
        if (s == NULL) {
            errf(err, errlen, "too many hardware devices (%d)", HWDEV_MAX);
            errno = ENOSPC;
            goto out;
        }
        s->state = HWDEV_CREATING;
        s->type = type;
        snprintf(s->path, sizeof(s->path), "%s", key);
        pthread_mutex_unlock(&hwdev_mu);
        avlog_capture_begin(&cap);
        ret = av_hwdevice_ctx_create(&dev, type, path, NULL, 0);
        avlog_capture_end(&cap);
        if (ret < 0)
            avlog_fail(err, errlen, &cap, ret, "cannot open the %s device %s",
                       tname, path != NULL ? path : "(default)");
        pthread_mutex_lock(&hwdev_mu);
        pthread_cond_broadcast(&hwdev_cv);
        if (ret < 0) {
            s->state = HWDEV_FREE; /* the next ask tries again */
            errno = avlog_errno(ret);
            goto out;
        }
        s->dev = dev;
        s->state = HWDEV_READY;
        hwdev_count++;
    }
    *out = av_buffer_ref(s->dev);
    if (*out == NULL) {
        errf(err, errlen, "out of memory");
        errno = ENOMEM;
        goto out;
    }
    rc = 0;
out:
    pthread_mutex_unlock(&hwdev_mu);
    return rc;
}

unsigned
hwdev_created(void)
{
    unsigned n;
    pthread_mutex_lock(&hwdev_mu);
    n = hwdev_count;
    pthread_mutex_unlock(&hwdev_mu);
    return n;
}
