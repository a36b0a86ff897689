/*
 * service.c - see service.h.
 */
#include "coordinator/service.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"
#include "common/frameorder.h"
#include "common/fsutil.h"
#include "common/ident.h"
#include "common/jsonutil.h"
#include "common/log.h"
#include "common/proto.h"
#include "common/sharepath.h"
#include "coordinator/events.h"
#include "coordinator/generation.h"
#include "coordinator/job.h"
#include "coordinator/jobq.h"
#include "coordinator/recovery.h"
#include "media/container.h"
#include "media/encchoice.h"

#define SVC_RECORD_MAX (64 * 1024)
#define SVC_DIR_MODE 0775
#define SVC_CANCEL_WAIT_MS 10000
#define SVC_REPORT_MAX (2 * ERR_MAX)
/* A record's file: queue/<seq, 10 digits>.json */
#define SVC_SEQ_DIGITS 10

struct svc_job {
    uint64_t seq;
    char id[IDENT_MAX + 1];
    int priority;
    enum svc_state state;
    int preparing;            /* being checked by its submit: not listed */
    char input[FS_PATH_MAX];  /* the zip the job runs from (on the share) */
    char output[FS_PATH_MAX]; /* the final video */
    cJSON *flags;             /* the job's flags as submitted (owned) */
    int64_t submitted, started, ended; /* Unix seconds; 0: not yet */
    char report[SVC_REPORT_MAX];
    uint64_t frames; /* the final video's, when done */
    uint32_t nsets;
    uint64_t nframes;
    struct svc_job *next; /* by seq */
};

struct service {
    const struct coord_config *base;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct svc_job *jobs;
    uint64_t next_seq;
    struct svc_job *running; /* handed to the loop, or being prepared */
    int ended;               /* the loop said the running job ended */
    struct evq *events;
    pthread_t runner;
    int started, stop;
    cJSON *live;
    int nodes;             /* nodes connected, as the loop last said */
    int resume_pending;    /* a job that was running awaits its hand-over */
    char dir[FS_PATH_MAX]; /* <share>/queue */
};

static const char *const svc_state_names[] = {
    [SVC_QUEUED] = "queued", [SVC_RUNNING] = "running",     [SVC_DONE] = "done",
    [SVC_FAILED] = "failed", [SVC_CANCELLED] = "cancelled",
};

const char *
service_state_name(enum svc_state st)
{
    return st <= SVC_CANCELLED ? svc_state_names[st] : "?";
}

static int
svc_state_parse(const char *s, enum svc_state *st)
{
    for (int i = 0; i <= SVC_CANCELLED; i++) {
        if (s != NULL && strcmp(s, svc_state_names[i]) == 0) {
            *st = (enum svc_state)i;
            return 0;
        }
    }
    return -1;
}

static int
svc_terminal(enum svc_state st)
{
    return st == SVC_DONE || st == SVC_FAILED || st == SVC_CANCELLED;
}

static void
svc_job_free(struct svc_job *j)
{
    if (j == NULL)
        return;
    cJSON_Delete(j->flags);
    free(j);
}

void
svc_start_free(struct svc_start *s)
{
    if (s == NULL)
        return;
    job_free(s->job);
    jrec_state_fini(&s->st);
    journal_close(s->jr);
    free(s);
}

/* ---- records on the share ---- */

static cJSON *
svc_job_json(const struct svc_job *j)
{
    cJSON *o = cJSON_CreateObject();
    if (o == NULL || json_add_u64(o, "seq", j->seq) == NULL ||
        cJSON_AddStringToObject(o, "job", j->id) == NULL ||
        cJSON_AddNumberToObject(o, "priority", j->priority) == NULL ||
        cJSON_AddStringToObject(o, "state", service_state_name(j->state)) ==
            NULL ||
        cJSON_AddStringToObject(o, "input", j->input) == NULL ||
        cJSON_AddStringToObject(o, "output", j->output) == NULL ||
        json_add_u64(o, "submitted", (uint64_t)j->submitted) == NULL ||
        json_add_u64(o, "started", (uint64_t)j->started) == NULL ||
        json_add_u64(o, "ended", (uint64_t)j->ended) == NULL ||
        cJSON_AddStringToObject(o, "report", j->report) == NULL ||
        json_add_u64(o, "frames", j->frames) == NULL ||
        json_add_u64(o, "nsets", j->nsets) == NULL ||
        json_add_u64(o, "nframes", j->nframes) == NULL) {
        cJSON_Delete(o);
        return NULL;
    }
    if (j->flags != NULL) {
        cJSON *f = cJSON_Duplicate(j->flags, 1);
        if (f == NULL) {
            cJSON_Delete(o);
            return NULL;
        }
        cJSON_AddItemToObject(o, "flags", f);
    }
    return o;
}

static int
svc_record_path(const struct service *s, uint64_t seq, char *out, size_t len)
{
    int n = snprintf(out, len, "%s/%0*" PRIu64 ".json", s->dir, SVC_SEQ_DIGITS,
                     seq);
    return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* Write j's record (atomically, fsynced). Called without the lock held
 * on a copy, or with it for a record no other thread changes. */
static int
svc_persist(const struct service *s, const struct svc_job *j)
{
    char path[FS_PATH_MAX];
    cJSON *o = svc_job_json(j);
    char *text = o != NULL ? cJSON_PrintUnformatted(o) : NULL;
    int rc = -1;
    cJSON_Delete(o);
    /* An ambassador replaced by a newer generation (it was stopped, or cut
     * off) exits here instead of overwriting its successor's queue. */
    generation_fence(s->base->share, s->base->gen);
    if (text != NULL && svc_record_path(s, j->seq, path, sizeof(path)) == 0)
        rc = fs_write_atomic(path, text, strlen(text));
    if (rc == -1)
        log_warn("job %s: cannot write its queue record", j->id);
    free(text);
    return rc;
}

/* Persist a snapshot of j taken under the lock (held by the caller),
 * then written with it released. */
static void
svc_persist_unlocked(struct service *s, struct svc_job *j)
{
    struct svc_job copy = *j;
    copy.flags = j->flags != NULL ? cJSON_Duplicate(j->flags, 1) : NULL;
    copy.next = NULL;
    pthread_mutex_unlock(&s->mu);
    svc_persist(s, &copy);
    cJSON_Delete(copy.flags);
    pthread_mutex_lock(&s->mu);
}

static struct svc_job *
svc_job_from_json(const cJSON *o, char *err, size_t errlen)
{
    struct svc_job *j = calloc(1, sizeof(*j));
    const cJSON *prio = cJSON_GetObjectItemCaseSensitive(o, "priority");
    const cJSON *flags = cJSON_GetObjectItemCaseSensitive(o, "flags");
    uint64_t v;
    if (j == NULL) {
        errf(err, errlen, "out of memory");
        return NULL;
    }
    if (json_u64(o, "seq", UINT32_MAX, &j->seq) == -1 ||
        json_strcpy(o, "job", j->id, sizeof(j->id)) == -1 ||
        !ident_is_valid(j->id) ||
        svc_state_parse(json_str(o, "state"), &j->state) == -1 ||
        json_strcpy(o, "input", j->input, sizeof(j->input)) == -1 ||
        json_strcpy(o, "output", j->output, sizeof(j->output)) == -1 ||
        !cJSON_IsNumber(prio)) {
        errf(err, errlen, "a field is missing or bad");
        svc_job_free(j);
        return NULL;
    }
    j->priority = (int)prio->valuedouble;
    if (json_u64(o, "submitted", INT64_MAX, &v) == 0)
        j->submitted = (int64_t)v;
    if (json_u64(o, "started", INT64_MAX, &v) == 0)
        j->started = (int64_t)v;
    if (json_u64(o, "ended", INT64_MAX, &v) == 0)
        j->ended = (int64_t)v;
    json_strcpy(o, "report", j->report, sizeof(j->report));
    json_u64(o, "frames", UINT64_MAX >> 11, &j->frames);
    if (json_u64(o, "nsets", UINT32_MAX, &v) == 0)
        j->nsets = (uint32_t)v;
    json_u64(o, "nframes", UINT64_MAX >> 11, &j->nframes);
    if (cJSON_IsObject(flags))
        j->flags = cJSON_Duplicate(flags, 1);
    return j;
}

/* Insert by seq. */
static void
svc_insert(struct service *s, struct svc_job *j)
{
    struct svc_job **p = &s->jobs;
    while (*p != NULL && (*p)->seq < j->seq)
        p = &(*p)->next;
    j->next = *p;
    *p = j;
    if (j->seq >= s->next_seq)
        s->next_seq = j->seq + 1;
}

static void
svc_unlink(struct service *s, struct svc_job *j)
{
    for (struct svc_job **p = &s->jobs; *p != NULL; p = &(*p)->next) {
        if (*p == j) {
            *p = j->next;
            return;
        }
    }
}

static int
svc_load(struct service *s, char *err, size_t errlen)
{
    DIR *d = opendir(s->dir);
    struct dirent *de;
    if (d == NULL) {
        errf(err, errlen, "reading %s: %s", s->dir, strerror(errno));
        return -1;
    }
    while ((de = readdir(d)) != NULL) {
        char path[FS_PATH_MAX], why[ERR_MAX];
        char *text = NULL;
        size_t len = 0;
        cJSON *o;
        struct svc_job *j = NULL;
        size_t n = strlen(de->d_name);
        if (n != SVC_SEQ_DIGITS + 5 ||
            strcmp(de->d_name + SVC_SEQ_DIGITS, ".json") != 0)
            continue; /* temporaries and foreign files */
        if (fs_join(path, sizeof(path), s->dir, de->d_name) == -1 ||
            fs_read_max(path, SVC_RECORD_MAX, &text, &len) == -1) {
            log_warn("queue: cannot read %s; skipped", de->d_name);
            continue;
        }
        o = cJSON_ParseWithLength(text, len);
        free(text);
        j = o != NULL ? svc_job_from_json(o, why, sizeof(why)) : NULL;
        cJSON_Delete(o);
        if (j == NULL) {
            log_warnx("queue: %s is not a job record; skipped", de->d_name);
            continue;
        }
        svc_insert(s, j);
    }
    closedir(d);
    return 0;
}

struct service *
service_new(const struct coord_config *base, char *err, size_t errlen)
{
    struct service *s = calloc(1, sizeof(*s));
    size_t nq = 0, nrun = 0;
    if (s == NULL) {
        errf(err, errlen, "out of memory");
        return NULL;
    }
    s->base = base;
    s->next_seq = 1;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    if (fs_join(s->dir, sizeof(s->dir), base->share, "queue") == -1 ||
        fs_mkdir_p(s->dir, SVC_DIR_MODE) == -1) {
        errf(err, errlen, "creating %s/queue: %s", base->share,
             strerror(errno));
        service_free(s);
        return NULL;
    }
    if (svc_load(s, err, errlen) == -1) {
        service_free(s);
        return NULL;
    }
    for (struct svc_job *j = s->jobs; j != NULL; j = j->next) {
        nq += j->state == SVC_QUEUED;
        nrun += j->state == SVC_RUNNING;
    }
    s->resume_pending = nrun > 0;
    log_info("service: %zu job(s) queued, %zu to resume", nq, nrun);
    return s;
}

/* ---- the job flags ---- */

static int
svc_flag_str(const cJSON *flags, const char *k, char *out, size_t cap,
             char *err, size_t errlen)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(flags, k);
    if (v == NULL)
        return 0;
    if (!cJSON_IsString(v) || strlen(v->valuestring) >= cap) {
        errf(err, errlen, "--%s: bad value", k);
        return -1;
    }
    memcpy(out, v->valuestring, strlen(v->valuestring) + 1);
    return 0;
}

static int
svc_flag_u64(const cJSON *flags, const char *k, uint64_t min, uint64_t max,
             uint64_t *out, char *err, size_t errlen)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(flags, k);
    uint64_t x;
    if (v == NULL)
        return 0;
    if (json_u64(flags, k, max, &x) == -1 || x < min) {
        errf(err, errlen, "--%s: expected a number in %" PRIu64 "..%" PRIu64, k,
             min, max);
        return -1;
    }
    *out = x;
    return 1;
}

/* The job's config: the service's, with the job's flags. 0, or -1 with
 * err. */
static int
svc_job_config(const struct service *s, const struct svc_job *j,
               struct coord_config *c, char *err, size_t errlen)
{
    const cJSON *f = j->flags;
    char fps[32] = "";
    uint64_t v;
    int r, gop_set = 0;

    *c = *s->base;
    snprintf(c->input, sizeof(c->input), "%s", j->input);
    snprintf(c->output, sizeof(c->output), "%s", j->output);
    snprintf(c->job, sizeof(c->job), "%s", j->id);
    c->job_seq = j->seq;
    c->progress = 0;
    if (f == NULL)
        goto gop;
    if ((r = svc_flag_u64(f, "set_size", 1, CONFIG_MAX_SET_SIZE, &v, err,
                          errlen)) == -1)
        return -1;
    if (r == 1)
        c->set_size = (uint32_t)v;
    if (svc_flag_str(f, "fps", fps, sizeof(fps), err, errlen) == -1 ||
        (fps[0] != '\0' &&
         encparams_parse_fps(fps, &c->enc.fps_num, &c->enc.fps_den) == -1)) {
        errf(err, errlen, "--fps: expected e.g. 12, 29.97 or 30000/1001");
        return -1;
    }
    if (svc_flag_str(f, "codec", c->enc.codec, sizeof(c->enc.codec), err,
                     errlen) == -1 ||
        svc_flag_str(f, "encoder", c->enc.encoder, sizeof(c->enc.encoder), err,
                     errlen) == -1 ||
        svc_flag_str(f, "fallback", c->enc.fallback, sizeof(c->enc.fallback),
                     err, errlen) == -1 ||
        svc_flag_str(f, "preset", c->enc.preset, sizeof(c->enc.preset), err,
                     errlen) == -1)
        return -1;
    if (strcmp(c->enc.fallback, ENC_FALLBACK_CPU) != 0 &&
        strcmp(c->enc.fallback, ENC_FALLBACK_NONE) != 0) {
        errf(err, errlen, "--fallback: expected cpu or none");
        return -1;
    }
    if ((r = svc_flag_u64(f, "crf", 0, 51, &v, err, errlen)) == -1)
        return -1;
    if (r == 1)
        c->enc.crf = (int)v;
    if ((r = svc_flag_u64(f, "gop", 1, 10000, &v, err, errlen)) == -1)
        return -1;
    if (r == 1) {
        c->enc.gop = (int)v;
        gop_set = 1;
    }
    json_bool(f, "force", &c->force);
    {
        char size[32] = "", timing[32] = "", camera[FRAMEORDER_CAMERA_MAX] = "";
        if (svc_flag_str(f, "size", size, sizeof(size), err, errlen) == -1 ||
            (size[0] != '\0' &&
             encparams_parse_size(size, &c->size, err, errlen) == -1))
            return -1;
        if (svc_flag_str(f, "timing", timing, sizeof(timing), err, errlen) ==
                -1 ||
            (timing[0] != '\0' &&
             encparams_parse_timing(timing, &c->enc.timing) == -1)) {
            errf(err, errlen, "--timing: expected fps or timestamps");
            return -1;
        }
        if (svc_flag_str(f, "camera", camera, sizeof(camera), err, errlen) ==
                -1 ||
            (camera[0] != '\0' && !frameorder_camera_valid(camera))) {
            errf(err, errlen,
                 "--camera: expected a camera such as CAM_FRONT, "
                 "CAM_BACK_LEFT");
            return -1;
        }
        if (camera[0] != '\0')
            snprintf(c->limits.camera, sizeof(c->limits.camera), "%s", camera);
    }
gop:
    if (!gop_set) {
        c->enc.gop =
            (c->enc.fps_num / c->enc.fps_den) * ENC_DEFAULT_GOP_SECONDS;
        if (c->enc.gop < 1)
            c->enc.gop = 1;
    }
    return encchoice_check_request(c->enc.codec, c->enc.encoder, c->enc.preset,
                                   err, errlen);
}

/* ---- submit ---- */

static cJSON *
svc_reply(int ok, int exit_code, const char *error)
{
    cJSON *r = cJSON_CreateObject();
    if (r == NULL || cJSON_AddStringToObject(r, "type", "reply") == NULL ||
        cJSON_AddBoolToObject(r, "ok", ok) == NULL ||
        cJSON_AddNumberToObject(r, "exit", exit_code) == NULL ||
        (error != NULL && cJSON_AddStringToObject(r, "error", error) == NULL)) {
        cJSON_Delete(r);
        return NULL;
    }
    return r;
}

static struct svc_job *
svc_find(const struct service *s, const char *id)
{
    for (struct svc_job *j = s->jobs; j != NULL; j = j->next)
        if (strcmp(j->id, id) == 0)
            return j;
    return NULL;
}

/* The output's checks (fail before the work): the paths absolute (the
 * ambassador's view), and what any job checks (fs_output_check: its
 * directory there and writable, not the input, not in the job tree). */
static int
svc_check_output(const struct coord_config *c, int force, char *err,
                 size_t errlen)
{
    struct stat st;

    if (c->output[0] != '/' || c->input[0] != '/') {
        errf(err, errlen, "input and output must be absolute paths");
        return -1;
    }
    if (!force && stat(c->output, &st) == 0) {
        errf(err, errlen, "%s exists: remove it, or submit with --force",
             c->output);
        return -1;
    }
    if (fs_output_check(c->output, c->input, c->share, err, errlen) == -1 ||
        container_for_output(c->output, c->enc.codec, err, errlen) == NULL)
        return -1;
    return 0;
}

/* List the zip, place it on the share, prepare (or find) the job's tree:
 * the whole of the job's checks, before it is queued. 1 when the job is
 * already done (*frames: its video's), 0 when ready, -1 with err (bad input),
 * -2 with err (the share or the journal failed: try again). The job then runs
 * from the zip on the share (*input). */
static int
svc_prepare(const struct coord_config *c, char *input, size_t inlen,
            uint32_t *nsets, uint64_t *nframes, uint64_t *frames, char *err,
            size_t errlen)
{
    struct recovery rec;
    int rc = -1;
    switch (recovery_open(&rec, c, err, errlen)) {
    case RECOVERY_RUN:
        rc = 0;
        break;
    case RECOVERY_DONE:
        *frames = rec.output.frames;
        rc = 1;
        break;
    case RECOVERY_BAD_INPUT:
        break;
    case RECOVERY_FAILED:
        rc = -2; /* the share or the journal, not the input: exit 1 */
        break;
    }
    if (rec.job != NULL) {
        *nsets = rec.job->nsets;
        *nframes = rec.job->frames->count;
        if (fs_join(input, inlen, c->share, rec.job->zip_rel) == -1)
            rc = -1;
    }
    recovery_close(&rec);
    return rc;
}

cJSON *
service_submit(struct service *s, const cJSON *req)
{
    char err[ERR_MAX] = "", input[FS_PATH_MAX];
    const cJSON *flags = cJSON_GetObjectItemCaseSensitive(req, "flags");
    const cJSON *prio = cJSON_GetObjectItemCaseSensitive(req, "priority");
    struct coord_config *c = malloc(sizeof(*c));
    struct svc_job *j = calloc(1, sizeof(*j)), *old;
    cJSON *reply = NULL;
    uint64_t frames = 0;
    int force = 0, r, code = 2;

    if (c == NULL || j == NULL) {
        free(c);
        svc_job_free(j);
        return svc_reply(0, 1, "out of memory");
    }
    if (json_strcpy(req, "input", j->input, sizeof(j->input)) == -1 ||
        json_strcpy(req, "output", j->output, sizeof(j->output)) == -1 ||
        json_strcpy(req, "job", j->id, sizeof(j->id)) == -1 ||
        !ident_is_valid(j->id)) {
        errf(err, sizeof(err),
             "submit: input, output and a job name "
             "(an identifier) are required");
        goto refuse;
    }
    if (prio != NULL &&
        (!cJSON_IsNumber(prio) || prio->valuedouble < -SERVICE_PRIORITY_MAX ||
         prio->valuedouble > SERVICE_PRIORITY_MAX ||
         prio->valuedouble != (int)prio->valuedouble)) {
        errf(err, sizeof(err), "--priority: expected an integer in -%d..%d",
             SERVICE_PRIORITY_MAX, SERVICE_PRIORITY_MAX);
        goto refuse;
    }
    j->priority = prio != NULL ? (int)prio->valuedouble : 0;
    if (cJSON_IsObject(flags) &&
        (j->flags = cJSON_Duplicate(flags, 1)) == NULL) {
        errf(err, sizeof(err), "out of memory");
        goto refuse;
    }
    if (j->flags != NULL)
        json_bool(j->flags, "force", &force);

    /* Reserve the name and a number. */
    pthread_mutex_lock(&s->mu);
    old = svc_find(s, j->id);
    if (old != NULL && (!svc_terminal(old->state) || old->preparing)) {
        errf(err, sizeof(err), "job %s is already %s", j->id,
             old->preparing ? "being submitted"
                            : service_state_name(old->state));
        pthread_mutex_unlock(&s->mu);
        goto refuse;
    }
    for (const struct svc_job *o = s->jobs; o != NULL; o = o->next) {
        if ((!svc_terminal(o->state) || o->preparing) &&
            strcmp(o->output, j->output) == 0) {
            errf(err, sizeof(err),
                 "%s is already the output of job %s (%s): one video, one "
                 "job",
                 j->output, o->id,
                 o->preparing ? "being submitted"
                              : service_state_name(o->state));
            pthread_mutex_unlock(&s->mu);
            goto refuse;
        }
    }
    if (s->next_seq >= (PROTO_MAX_EPOCH >> JOB_EPOCH_SHIFT) - 1) {
        pthread_mutex_unlock(&s->mu);
        errf(err, sizeof(err), "the queue's numbers are used up");
        goto refuse;
    }
    j->seq = s->next_seq++;
    j->preparing = 1;
    j->state = SVC_QUEUED;
    j->submitted = (int64_t)time(NULL);
    svc_insert(s, j);
    pthread_mutex_unlock(&s->mu);

    /* Check everything, place the zip on the share, prepare the tree. */
    r = svc_job_config(s, j, c, err, sizeof(err));
    if (r == 0)
        r = svc_check_output(c, force, err, sizeof(err));
    if (r == 0)
        r = svc_prepare(c, input, sizeof(input), &j->nsets, &j->nframes,
                        &frames, err, sizeof(err));
    pthread_mutex_lock(&s->mu);
    if (r < 0) {
        svc_unlink(s, j);
        pthread_mutex_unlock(&s->mu);
        if (r == -2)
            code = 1; /* try again: not the input's fault */
        goto refuse;
    }
    snprintf(j->input, sizeof(j->input), "%s", input);
    if (r == 1) {
        j->state = SVC_DONE;
        j->frames = frames;
        j->started = j->ended = j->submitted;
        snprintf(j->report, sizeof(j->report), "already done");
    }
    svc_persist_unlocked(s, j);
    /* The old record of a finished job of this name gives way. */
    if (old != NULL && svc_find(s, j->id) == old) {
        char path[FS_PATH_MAX];
        svc_unlink(s, old);
        if (svc_record_path(s, old->seq, path, sizeof(path)) == 0)
            unlink(path);
        svc_job_free(old);
    }
    j->preparing = 0;
    log_info("job %s: submitted (number %" PRIu64 ", priority %d): %u sets, "
             "%" PRIu64 " frames -> %s%s",
             j->id, j->seq, j->priority, j->nsets, j->nframes, j->output,
             r == 1 ? " (already done)" : "");
    pthread_cond_broadcast(&s->cv);
    reply = svc_reply(1, 0, NULL);
    if (reply != NULL) {
        cJSON_AddStringToObject(reply, "job", j->id);
        json_add_u64(reply, "seq", j->seq);
        cJSON_AddStringToObject(reply, "state", service_state_name(j->state));
    }
    pthread_mutex_unlock(&s->mu);
    free(c);
    return reply;
refuse:
    log_warnx("submit refused: %s", err);
    svc_job_free(j); /* never listed, or unlinked above */
    free(c);
    return svc_reply(0, code, err);
}

/* ---- cancel, status, wait ---- */

static void
svc_remove_tree(const struct service *s, const char *id)
{
    char dir[FS_PATH_MAX];
    if (sharepath_job_dir(s->base->share, id, dir, sizeof(dir)) == 0 &&
        fs_rm_rf(dir) == -1 && errno != ENOENT)
        log_warn("job %s: removing %s", id, dir);
}

/* A wait's reply: the job's outcome. Lock held. */
static cJSON *
svc_outcome(const struct svc_job *j)
{
    cJSON *r = svc_reply(j->state == SVC_DONE, j->state == SVC_DONE ? 0 : 1,
                         j->state == SVC_DONE ? NULL : j->report);
    if (r != NULL) {
        cJSON_AddStringToObject(r, "job", j->id);
        cJSON_AddStringToObject(r, "state", service_state_name(j->state));
        cJSON_AddStringToObject(r, "output", j->output);
        json_add_u64(r, "frames", j->frames);
        cJSON_AddStringToObject(r, "report", j->report);
    }
    return r;
}

cJSON *
service_cancel(struct service *s, const char *id)
{
    struct svc_job *j;
    char err[ERR_MAX];
    cJSON *reply = NULL;
    uint64_t deadline;

    pthread_mutex_lock(&s->mu);
    j = id != NULL ? svc_find(s, id) : NULL;
    if (j == NULL || j->preparing) {
        pthread_mutex_unlock(&s->mu);
        errf(err, sizeof(err), "no job %s", id != NULL ? id : "(none named)");
        return svc_reply(0, 2, err);
    }
    if (svc_terminal(j->state)) {
        errf(err, sizeof(err), "job %s is already %s", id,
             service_state_name(j->state));
        pthread_mutex_unlock(&s->mu);
        return svc_reply(0, 1, err);
    }
    if (j->state == SVC_QUEUED) {
        j->state = SVC_CANCELLED;
        j->ended = (int64_t)time(NULL);
        snprintf(j->report, sizeof(j->report), "cancelled while queued");
        svc_persist_unlocked(s, j);
        pthread_mutex_unlock(&s->mu);
        svc_remove_tree(s, id);
        log_info("job %s: cancelled while queued", id);
        pthread_mutex_lock(&s->mu);
        reply = svc_outcome(j);
        pthread_mutex_unlock(&s->mu);
        return reply;
    }
    /* Running: the loop stops it; wait (bounded) for the outcome. */
    if (s->events != NULL) {
        struct amb_event *ev = calloc(1, sizeof(*ev));
        if (ev != NULL) {
            ev->type = EV_CANCEL;
            snprintf(ev->name, sizeof(ev->name), "%s", id);
            if (evq_push(s->events, ev) == -1)
                free(ev);
        }
    }
    deadline = (uint64_t)time(NULL) * 1000 + SVC_CANCEL_WAIT_MS;
    while (!svc_terminal(j->state) && (uint64_t)time(NULL) * 1000 < deadline) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        pthread_cond_timedwait(&s->cv, &s->mu, &ts);
    }
    if (svc_terminal(j->state))
        reply = svc_outcome(j);
    else
        reply = svc_reply(0, 1, "the job did not stop in time; see status");
    pthread_mutex_unlock(&s->mu);
    return reply;
}

int
service_wait(struct service *s, const char *id, uint64_t ms, cJSON **reply)
{
    struct svc_job *j;
    struct timespec ts;
    int rc;

    pthread_mutex_lock(&s->mu);
    j = id != NULL ? svc_find(s, id) : NULL;
    if (j == NULL) {
        char err[ERR_MAX];
        pthread_mutex_unlock(&s->mu);
        errf(err, sizeof(err), "no job %s", id != NULL ? id : "(none named)");
        *reply = svc_reply(0, 2, err);
        return -1;
    }
    if (!svc_terminal(j->state)) {
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += (time_t)(ms / 1000);
        ts.tv_nsec += (long)(ms % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&s->cv, &s->mu, &ts);
        /* The record may have given way to a new submit of the name. */
        j = svc_find(s, id);
    }
    rc = j != NULL && svc_terminal(j->state);
    if (rc == 1)
        *reply = svc_outcome(j);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

cJSON *
service_status(struct service *s, const char *id)
{
    cJSON *r = svc_reply(1, 0, NULL), *jobs;
    int found = id == NULL;
    if (r == NULL)
        return NULL;
    json_add_u64(r, "generation", s->base->gen);
    jobs = cJSON_AddArrayToObject(r, "jobs");
    pthread_mutex_lock(&s->mu);
    for (const struct svc_job *j = s->jobs; j != NULL && jobs != NULL;
         j = j->next) {
        cJSON *o;
        if (j->preparing || (id != NULL && strcmp(id, j->id) != 0))
            continue;
        found = 1;
        o = svc_job_json(j);
        if (o == NULL)
            continue;
        cJSON_DeleteItemFromObjectCaseSensitive(o, "flags");
        if (j == s->running && s->live != NULL) {
            const cJSON *sets =
                cJSON_GetObjectItemCaseSensitive(s->live, "sets");
            const cJSON *fr =
                cJSON_GetObjectItemCaseSensitive(s->live, "frames");
            const cJSON *lj = cJSON_GetObjectItemCaseSensitive(s->live, "job");
            if (cJSON_IsString(lj) && strcmp(lj->valuestring, j->id) == 0) {
                if (sets != NULL)
                    cJSON_AddItemToObject(o, "sets", cJSON_Duplicate(sets, 1));
                if (fr != NULL)
                    cJSON_AddItemToObject(o, "progress",
                                          cJSON_Duplicate(fr, 1));
            }
        }
        cJSON_AddItemToArray(jobs, o);
    }
    if (s->live != NULL) {
        const cJSON *nodes = cJSON_GetObjectItemCaseSensitive(s->live, "nodes");
        if (nodes != NULL)
            cJSON_AddItemToObject(r, "nodes", cJSON_Duplicate(nodes, 1));
    }
    pthread_mutex_unlock(&s->mu);
    if (!found) {
        char err[ERR_MAX];
        cJSON_Delete(r);
        errf(err, sizeof(err), "no job %s", id);
        return svc_reply(0, 2, err);
    }
    return r;
}

/* ---- from the loop ---- */

void
service_job_ended(struct service *s, const char *id, enum svc_state st,
                  const char *report, uint64_t frames)
{
    pthread_mutex_lock(&s->mu);
    if (s->running != NULL && strcmp(s->running->id, id) == 0) {
        s->running->state = st;
        s->running->frames = frames;
        snprintf(s->running->report, sizeof(s->running->report), "%s",
                 report != NULL ? report : "");
        s->ended = 1;
        pthread_cond_broadcast(&s->cv);
    }
    pthread_mutex_unlock(&s->mu);
}

void
service_publish(struct service *s, cJSON *live)
{
    int nodes =
        cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(live, "nodes"));
    pthread_mutex_lock(&s->mu);
    cJSON_Delete(s->live);
    s->live = live;
    if ((nodes > 0) != (s->nodes > 0))
        pthread_cond_broadcast(&s->cv);
    s->nodes = nodes;
    pthread_mutex_unlock(&s->mu);
}

/* ---- the runner ---- */

/* The next job to run: one that was running when the last ambassador
 * stopped, then by priority and submission order (jobq.h). Lock held. */
static struct svc_job *
svc_pick(const struct service *s)
{
    struct svc_job *best = NULL;
    for (struct svc_job *j = s->jobs; j != NULL; j = j->next) {
        if (j->preparing)
            continue;
        if (j->state == SVC_RUNNING)
            return j;
        if (j->state == SVC_QUEUED &&
            (best == NULL ||
             jobq_before(j->priority, j->seq, best->priority, best->seq)))
            best = j;
    }
    return best;
}

/* Prepare j and hand it to the loop. 0 when handed over; -1 when it ended
 * here (done already, or failed: its state and report are set). Lock
 * not held. */
static int
svc_launch(struct service *s, struct svc_job *j, enum svc_state *st,
           char *report, size_t replen, uint64_t *frames)
{
    struct coord_config *c = malloc(sizeof(*c));
    struct svc_start *start = calloc(1, sizeof(*start));
    struct amb_event *ev = calloc(1, sizeof(*ev));
    struct recovery rec;
    enum recovery_status rs;
    int rc = -1;

    *st = SVC_FAILED;
    if (c == NULL || start == NULL || ev == NULL) {
        snprintf(report, replen, "out of memory");
        goto out;
    }
    pthread_mutex_lock(&s->mu);
    rc = svc_job_config(s, j, c, report, replen);
    pthread_mutex_unlock(&s->mu);
    if (rc == -1)
        goto out;
    rc = -1;
    c->force = 0; /* it was applied at submit */
    rs = recovery_open(&rec, c, report, replen);
    if (rs == RECOVERY_DONE) {
        *st = SVC_DONE;
        *frames = rec.output.frames;
        snprintf(report, replen, "already done");
    } else if (rs == RECOVERY_RUN &&
               recovery_begin(&rec, s->base->gen, report, replen) == 0) {
        /* The job's config is its own from here (the output, the
         * encoding); the core reads the service's timings. */
        start->job = rec.job;
        start->st = rec.st;
        start->jr = rec.jr;
        rec.job = NULL;
        rec.jr = NULL;
        memset(&rec.st, 0, sizeof(rec.st));
        ev->type = EV_JOB;
        ev->u.job.start = start;
        if (evq_push(s->events, ev) == 0) {
            start = NULL;
            ev = NULL;
            rc = 0;
        } else {
            snprintf(report, replen, "cannot hand the job to the loop");
        }
    }
    recovery_close(&rec);
out:
    svc_start_free(start);
    free(ev);
    free(c);
    return rc;
}

static void *
svc_runner(void *arg)
{
    struct service *s = arg;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        struct svc_job *j = NULL;
        enum svc_state st;
        char report[SVC_REPORT_MAX] = "";
        uint64_t frames = 0;

        /* The next job is chosen when a node can start on it, so jobs
         * queued meanwhile run in priority order; a job that was running
         * resumes at once (its journal, and nodes coming back). */
        while (!s->stop && ((j = svc_pick(s)) == NULL ||
                            (j->state == SVC_QUEUED && s->nodes == 0)))
            pthread_cond_wait(&s->cv, &s->mu);
        if (s->stop)
            break;
        if (j->state == SVC_QUEUED)
            j->started = (int64_t)time(NULL);
        j->state = SVC_RUNNING;
        s->running = j;
        s->ended = 0;
        svc_persist_unlocked(s, j);
        log_info("job %s: starting (number %" PRIu64 ", priority %d)", j->id,
                 j->seq, j->priority);
        pthread_mutex_unlock(&s->mu);
        if (svc_launch(s, j, &st, report, sizeof(report), &frames) == -1) {
            pthread_mutex_lock(&s->mu);
            s->resume_pending = 0;
            pthread_cond_broadcast(&s->cv);
            j->state = st;
            j->frames = frames;
            snprintf(j->report, sizeof(j->report), "%s", report);
            s->ended = 1;
            if (st != SVC_DONE)
                log_warnx("job %s: failed before it ran: %s", j->id, report);
        } else {
            pthread_mutex_lock(&s->mu);
            s->resume_pending = 0; /* handed to the loop */
            pthread_cond_broadcast(&s->cv);
            while (!s->ended && !s->stop)
                pthread_cond_wait(&s->cv, &s->mu);
            if (!s->ended)
                break; /* stopping: the job resumes at the next start */
        }
        j->ended = (int64_t)time(NULL);
        s->running = NULL;
        cJSON_Delete(s->live);
        s->live = NULL;
        svc_persist_unlocked(s, j);
        if (j->state == SVC_CANCELLED) {
            char id[IDENT_MAX + 1];
            snprintf(id, sizeof(id), "%s", j->id);
            pthread_mutex_unlock(&s->mu);
            svc_remove_tree(s, id);
            pthread_mutex_lock(&s->mu);
        }
        log_info("job %s: %s%s%s", j->id, service_state_name(j->state),
                 j->report[0] ? ": " : "", j->report);
        pthread_cond_broadcast(&s->cv);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

int
service_start(struct service *s, struct evq *events)
{
    int r;
    s->events = events;
    r = pthread_create(&s->runner, NULL, svc_runner, s);
    if (r != 0) {
        errno = r;
        return -1;
    }
    s->started = 1;
    return 0;
}

void
service_await_resume(struct service *s)
{
    pthread_mutex_lock(&s->mu);
    while (s->resume_pending && !s->stop)
        pthread_cond_wait(&s->cv, &s->mu);
    pthread_mutex_unlock(&s->mu);
}

void
service_free(struct service *s)
{
    if (s == NULL)
        return;
    if (s->started) {
        pthread_mutex_lock(&s->mu);
        s->stop = 1;
        pthread_cond_broadcast(&s->cv);
        pthread_mutex_unlock(&s->mu);
        pthread_join(s->runner, NULL);
    }
    while (s->jobs != NULL) {
        struct svc_job *j = s->jobs;
        s->jobs = j->next;
        svc_job_free(j);
    }
    cJSON_Delete(s->live);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    free(s);
}
