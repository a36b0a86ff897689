/*
 * checker.c - see checker.h. Tasks run in the order queued, one at a time.
 */
#include "coordinator/checker.h"

#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/hash.h"
#include "common/log.h"
#include "coordinator/events.h"
#include "coordinator/job.h"
#include "media/concat.h"
#include "media/vidinfo.h"

enum checker_task_type {
    TASK_CHECK,
    TASK_REMOVE,
    TASK_SWEEP,
    TASK_MANIFEST,
    TASK_CONCAT,
    TASK_STOP
};

struct checker_task {
    enum checker_task_type type;
    uint64_t session;
    struct ev_result r; /* TASK_CHECK: what the node said; echoed back */
    uint64_t frames;    /* TASK_CHECK: the set's; TASK_CONCAT: the job's */
    char path[FS_PATH_MAX];
    char keep[FS_PATH_MAX]; /* TASK_SWEEP: the one file name kept */
    struct enc_params enc;
    char **paths; /* TASK_CONCAT, owned */
    char **shas;  /* TASK_CONCAT, owned: each path's sha256 as counted, or
                     NULL when unknown */
    size_t npaths;
    char *text; /* TASK_MANIFEST, owned */
};

struct checker {
    struct evq *tasks;  /* owned: loop -> checker */
    struct evq *events; /* borrowed: checker -> loop */
    pthread_t thread;
};

static void
checker_task_free(void *p)
{
    struct checker_task *t = p;
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->npaths; i++) {
        free(t->paths[i]);
        if (t->shas != NULL)
            free(t->shas[i]);
    }
    free(t->paths);
    free(t->shas);
    free(t->text);
    free(t);
}

/* The counted mini-videos [from, to) that are no longer the ones counted
 * (their sha256, where the journal kept it; else at least there): the
 * first EV_CONCAT_BAD_MAX of them in bad[], how many in all in *nbad. */
struct checker_range {
    const struct checker_task *t;
    size_t from, to;
    uint32_t bad[EV_CONCAT_BAD_MAX];
    size_t nbad;
};

static void *
checker_check_range(void *arg)
{
    struct checker_range *r = arg;
    const struct checker_task *t = r->t;
    for (size_t i = r->from; i < r->to; i++) {
        char hex[HASH_HEX_LEN + 1];
        uint64_t size;
        struct stat st;
        int bad = t->shas != NULL && t->shas[i] != NULL
                      ? hash_sha256_file(t->paths[i], hex, &size) == -1 ||
                            strcmp(hex, t->shas[i]) != 0
                      : stat(t->paths[i], &st) == -1;
        if (!bad)
            continue;
        if (r->nbad < EV_CONCAT_BAD_MAX)
            r->bad[r->nbad] = (uint32_t)i;
        r->nbad++;
    }
    return NULL;
}

/* Is every counted mini-video still the one that was counted? The ones
 * that are not go into c->bad, named in c->text, in set order. Run after
 * a concat that failed (the concat hashes each input as it reads it, and
 * stops at the first that changed): it names every set to render again.
 * The second half is hashed on a thread of its own (or here, when no
 * thread can be started). */
static void
checker_verify_counted(const struct checker_task *t, struct ev_concated *c)
{
    struct checker_range half[2] = {
        {.t = t, .from = 0, .to = t->npaths / 2},
        {.t = t, .from = t->npaths / 2, .to = t->npaths},
    };
    pthread_t th;
    int threaded =
        pthread_create(&th, NULL, checker_check_range, &half[1]) == 0;
    size_t n = 0;

    checker_check_range(&half[0]);
    if (threaded)
        pthread_join(th, NULL);
    else
        checker_check_range(&half[1]);
    for (int h = 0; h < 2; h++) {
        size_t kept =
            half[h].nbad < EV_CONCAT_BAD_MAX ? half[h].nbad : EV_CONCAT_BAD_MAX;
        for (size_t j = 0; j < kept; j++) {
            uint32_t i = half[h].bad[j];
            if (c->nbad < EV_CONCAT_BAD_MAX)
                c->bad[c->nbad++] = i;
            if (n < sizeof(c->text)) {
                int w = snprintf(c->text + n, sizeof(c->text) - n, "%sset %u",
                                 n > 0 ? ", " : "", i);
                if (w > 0)
                    n += (size_t)w;
            }
        }
    }
}

/* 0 when the file is the result the node described and the manifest
 * asked for; else -1 with err. */
static int
checker_validate(const struct checker_task *t, struct vidinfo *vi, char *err,
                 size_t errlen)
{
    char hex[HASH_HEX_LEN + 1];
    uint64_t size = 0;

    if (hash_sha256_file(t->path, hex, &size) == -1) {
        errf(err, errlen, "cannot read the result: %s", strerror(errno));
        return -1;
    }
    if (size != t->r.bytes) {
        errf(err, errlen, "result is %llu bytes, the node said %llu",
             (unsigned long long)size, (unsigned long long)t->r.bytes);
        return -1;
    }
    if (strcmp(hex, t->r.sha256) != 0) {
        errf(err, errlen, "result sha256 %.12s..., the node said %.12s...", hex,
             t->r.sha256);
        return -1;
    }
    if (vidinfo_probe(t->path, vi, err, errlen) == -1)
        return -1;
    if (vi->frames != t->frames) {
        errf(err, errlen, "result has %llu frames, the set has %llu",
             (unsigned long long)vi->frames, (unsigned long long)t->frames);
        return -1;
    }
    if (vi->width != t->enc.width || vi->height != t->enc.height) {
        errf(err, errlen, "result is %dx%d, the job is %dx%d", vi->width,
             vi->height, t->enc.width, t->enc.height);
        return -1;
    }
    if (strcmp(vi->codec, t->enc.codec) != 0) {
        errf(err, errlen, "result codec is %s, the job wants %s", vi->codec,
             t->enc.codec);
        return -1;
    }
    if (!vi->first_is_key) {
        errf(err, errlen, "result does not start with a key frame");
        return -1;
    }
    return 0;
}

static void
checker_emit(struct checker *k, struct amb_event *ev)
{
    if (ev == NULL || evq_push(k->events, ev) == -1) {
        log_warn("checker: cannot reach the loop");
        free(ev);
    }
}

/* Remove every file in dir but keep (a name; "" keeps none): the results
 * of a set's epochs that were not counted, and .part files of renders
 * that will never be published. */
static void
checker_sweep_dir(const char *dir, const char *keep)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    unsigned n = 0;
    if (d == NULL)
        return; /* gone already (a cancelled job), or the share is sick */
    while ((de = readdir(d)) != NULL) {
        char path[FS_PATH_MAX];
        if (de->d_name[0] == '.' || strcmp(de->d_name, keep) == 0 ||
            fs_join(path, sizeof(path), dir, de->d_name) == -1)
            continue;
        if (unlink(path) == 0)
            n++;
        else if (errno != ENOENT)
            log_warn("checker: remove %s", path);
    }
    closedir(d);
    if (n > 0)
        log_debug("checker: swept %u uncounted file(s) from %s", n, dir);
}

static void
checker_run(struct checker *k, struct checker_task *t)
{
    struct amb_event *ev = calloc(1, sizeof(*ev));
    uint64_t frames = 0;

    if (ev == NULL && t->type != TASK_REMOVE && t->type != TASK_SWEEP)
        return;
    switch (t->type) {
    case TASK_CHECK:
        ev->type = EV_CHECKED;
        ev->session = t->session;
        ev->u.checked.r = t->r;
        ev->u.checked.ok =
            checker_validate(t, &ev->u.checked.info, ev->u.checked.text,
                             sizeof(ev->u.checked.text)) == 0;
        if (!ev->u.checked.ok && unlink(t->path) == -1 && errno != ENOENT)
            log_warn("checker: remove %s", t->path);
        checker_emit(k, ev);
        return;
    case TASK_CONCAT:
        ev->type = EV_CONCATED;
        /* The output is published only once every input hashed as
         * counted (concat_videos checks each as it copies it). Should it
         * fail, the sets that changed, if any, are the answer, and not
         * its error: they are rendered again. */
        ev->u.concated.ok =
            concat_videos((const char *const *)t->paths,
                          (const char *const *)t->shas, t->npaths, t->path,
                          &t->enc, t->frames, &frames, ev->u.concated.text,
                          sizeof(ev->u.concated.text)) == 0;
        if (!ev->u.concated.ok) {
            checker_verify_counted(t, &ev->u.concated);
            if (ev->u.concated.nbad > 0) {
                checker_emit(k, ev);
                return;
            }
        }
        ev->u.concated.frames = frames;
        ev->u.concated.transient =
            !ev->u.concated.ok && err_is_resource(ev->u.concated.text);
        checker_emit(k, ev);
        return;
    case TASK_REMOVE:
        if (unlink(t->path) == -1 && errno != ENOENT)
            log_warn("checker: remove %s", t->path);
        break;
    case TASK_SWEEP:
        checker_sweep_dir(t->path, t->keep);
        break;
    case TASK_MANIFEST:
        /* For audit only: a failure costs the file, never the set. */
        if (job_write_manifest(t->path, t->text) == -1)
            log_warn("checker: manifest %s", t->path);
        break;
    case TASK_STOP:
        break;
    }
    free(ev);
}

static void *
checker_main(void *arg)
{
    struct checker *k = arg;
    for (;;) {
        struct pollfd pfd = {.fd = evq_fd(k->tasks), .events = POLLIN};
        struct checker_task *t;
        while ((t = evq_pop(k->tasks)) != NULL) {
            int stop = t->type == TASK_STOP;
            checker_run(k, t);
            checker_task_free(t);
            if (stop)
                return NULL;
        }
        if (poll(&pfd, 1, -1) == -1 && errno != EINTR)
            return NULL;
    }
}

struct checker *
checker_start(struct evq *events)
{
    struct checker *k = calloc(1, sizeof(*k));
    if (k == NULL)
        return NULL;
    k->events = events;
    k->tasks = evq_new();
    if (k->tasks == NULL ||
        pthread_create(&k->thread, NULL, checker_main, k) != 0) {
        evq_free(k->tasks, NULL);
        free(k);
        return NULL;
    }
    return k;
}

static void
checker_push(struct checker *k, struct checker_task *t)
{
    if (evq_push(k->tasks, t) == -1) {
        log_warn("checker: cannot queue a task");
        checker_task_free(t);
    }
}

void
checker_check(struct checker *k, uint64_t session, const struct ev_result *r,
              const char *abs_path, uint64_t frames,
              const struct enc_params *enc)
{
    struct checker_task *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return;
    t->type = TASK_CHECK;
    t->session = session;
    t->r = *r;
    t->frames = frames;
    t->enc = *enc;
    snprintf(t->path, sizeof(t->path), "%s", abs_path);
    checker_push(k, t);
}

void
checker_sweep(struct checker *k, const char *abs_dir, const char *keep)
{
    struct checker_task *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return;
    t->type = TASK_SWEEP;
    snprintf(t->path, sizeof(t->path), "%s", abs_dir);
    snprintf(t->keep, sizeof(t->keep), "%s", keep != NULL ? keep : "");
    checker_push(k, t);
}

void
checker_manifest(struct checker *k, const char *abs_path, char *text)
{
    struct checker_task *t = calloc(1, sizeof(*t));
    if (t == NULL) {
        free(text);
        return;
    }
    t->type = TASK_MANIFEST;
    t->text = text;
    snprintf(t->path, sizeof(t->path), "%s", abs_path);
    checker_push(k, t);
}

void
checker_remove(struct checker *k, const char *abs_path)
{
    struct checker_task *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return;
    t->type = TASK_REMOVE;
    snprintf(t->path, sizeof(t->path), "%s", abs_path);
    checker_push(k, t);
}

void
checker_concat(struct checker *k, char **paths, char **shas, size_t n,
               const char *out, uint64_t expect_frames,
               const struct enc_params *enc)
{
    struct checker_task *t = calloc(1, sizeof(*t));
    if (t == NULL) {
        for (size_t i = 0; i < n; i++) {
            free(paths[i]);
            free(shas[i]);
        }
        free(paths);
        free(shas);
        return;
    }
    t->type = TASK_CONCAT;
    t->paths = paths;
    t->shas = shas;
    t->npaths = n;
    t->frames = expect_frames;
    t->enc = *enc;
    snprintf(t->path, sizeof(t->path), "%s", out);
    checker_push(k, t);
}

void
checker_free(struct checker *k)
{
    struct checker_task *t;
    if (k == NULL)
        return;
    t = calloc(1, sizeof(*t));
    if (t != NULL) {
        t->type = TASK_STOP;
        checker_push(k, t);
        pthread_join(k->thread, NULL);
    }
    evq_free(k->tasks, checker_task_free);
    free(k);
}
