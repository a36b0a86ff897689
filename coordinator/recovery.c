/*
 * recovery.c - see recovery.h.
 */
#include "coordinator/recovery.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/err.h"
#include "common/log.h"
#include "common/sharepath.h"

/* journal_open's replay: each record rebuilds the state it recorded. */
static int
recovery_replay_record(void *ctx, const uint8_t *rec, size_t n)
{
    struct jrec_state *st = ctx;
    struct jrec r;
    char err[ERR_MAX];
    if (jrec_decode(rec, n, &r, err, sizeof(err)) == -1 ||
        jrec_apply(st, &r, err, sizeof(err)) == -1) {
        log_warnx("journal: %s", err);
        return -1;
    }
    return 0;
}

static int
recovery_append(struct journal *jr, const struct jrec *r)
{
    char *text = jrec_encode(r);
    int rc = text != NULL ? journal_append(jr, text, strlen(text)) : -1;
    free(text);
    return rc;
}

/* One line naming the sets already counted (tests check none of them is
 * rendered again). */
static void
recovery_log_counted(const struct job *job, const struct jrec_state *st)
{
    char line[ERR_MAX];
    size_t n = 0;
    line[0] = '\0';
    for (uint32_t i = 0; i < st->nsets && n < sizeof(line) - 16; i++) {
        int w;
        if (st->accepted[i] == NULL)
            continue;
        w = snprintf(line + n, sizeof(line) - n, "%s%u", n ? "," : "", i);
        if (w > 0)
            n += (size_t)w;
    }
    log_info("job %s: counted before the restart: %s", job->id,
             n ? line : "none");
}

/* A counted set whose mini-video is gone or damaged: lost, to be
 * journaled (recovery_begin) and rendered again. 0, or -1 on allocation
 * failure. */
static int
recovery_lose(struct recovery *r, uint32_t set, const char *why)
{
    struct jrec_state *st = &r->st;
    const struct set_info *s = set_table_get(st->sets, set);
    struct jrec *rec, *grown = realloc(r->lost, (r->nlost + 1) * sizeof(*rec));
    if (grown == NULL)
        return -1;
    r->lost = grown;
    rec = &r->lost[r->nlost++];
    memset(rec, 0, sizeof(*rec));
    rec->type = JREC_LOST;
    rec->set = set;
    rec->epoch = s->epoch;
    snprintf(rec->node, sizeof(rec->node), "%s", s->holder_name);
    snprintf(rec->text, sizeof(rec->text), "%.*s", (int)sizeof(rec->text) - 1,
             why);
    log_warnx("job %s set %u: %s; rendering it again", r->job->id, set, why);
    return jrec_apply(st, rec, NULL, 0);
}

/* A resumed job: the journal must describe this zip; a counted mini-video
 * that is gone (or no longer a non-empty regular file) is lost and
 * rendered again. Only a stat per counted set, so a job of 100,000 sets
 * replays in seconds: a file that is there but damaged or replaced is
 * found by its sha256 at the concat, which loses and renders it again. */
static int
recovery_check(struct recovery *r, char *err, size_t errlen)
{
    const struct job *job = r->job;
    const struct jrec_state *st = &r->st;
    if (st->sets == NULL) {
        errf(err, errlen, "the journal of job %s has no job record", job->id);
        return -1;
    }
    if (st->nsets != job->nsets || st->frames != job->frames->count) {
        errf(err, errlen,
             "the journal of job %s describes %u sets of %llu frames; the "
             "zip gives %u sets of %zu: not the same job",
             job->id, st->nsets, (unsigned long long)st->frames, job->nsets,
             job->frames->count);
        return -1;
    }
    for (uint32_t i = 0; i < st->nsets; i++) {
        char path[FS_PATH_MAX];
        struct stat sb;
        if (st->accepted[i] == NULL)
            continue;
        if (fs_join(path, sizeof(path), job->share, st->accepted[i]) == -1 ||
            stat(path, &sb) == -1 || !S_ISREG(sb.st_mode) || sb.st_size == 0) {
            char why[ERR_MAX];
            snprintf(why, sizeof(why),
                     "its counted mini-video %.300s is gone or damaged",
                     st->accepted[i]);
            if (recovery_lose(r, i, why) == -1) {
                errf(err, errlen, "out of memory");
                return -1;
            }
        }
    }
    return 0;
}

/* Was the job on the share made from another input than this zip? (A
 * journal from before fingerprints were recorded says nothing.) */
static int
recovery_other_input(const struct job *job, const struct jrec_state *st,
                     const struct coord_config *cfg, char *err, size_t errlen)
{
    if (st->sets == NULL || st->input[0] == '\0' ||
        strcmp(st->input, job->input_sha) == 0)
        return 0;
    errf(err, errlen,
         "job \"%s\" on the share was made from another input than %s "
         "(other frames): choose another output name or --job, or add "
         "--force to start the job anew",
         job->id, cfg->input);
    return 1;
}

/* --force: the job of this name is another input's; remove its tree so
 * that this input starts as a new job. 0, or -1 with err. */
static int
recovery_discard(struct recovery *r, const struct coord_config *cfg, char *err,
                 size_t errlen)
{
    char dir[FS_PATH_MAX];
    if (sharepath_job_dir(cfg->share, cfg->job, dir, sizeof(dir)) == -1) {
        errf(err, errlen, "job path too long");
        return -1;
    }
    log_warnx("job %s: made from another input; --force: removing %s and "
              "starting the job anew",
              cfg->job, dir);
    recovery_close(r);
    if (fs_rm_rf(dir) == -1) {
        errf(err, errlen, "removing %s: %s", dir, strerror(errno));
        return -1;
    }
    return 0;
}

/* The journal says the concat is done and the output holds every frame. */
static int
recovery_done(const struct coord_config *cfg, struct recovery *r)
{
    char err[ERR_MAX];
    return r->st.concat_done &&
           vidinfo_probe(cfg->output, &r->output, err, sizeof(err)) == 0 &&
           r->output.frames == r->job->frames->count;
}

enum recovery_status
recovery_open(struct recovery *r, const struct coord_config *cfg, char *err,
              size_t errlen)
{
    char jpath[FS_PATH_MAX];
    struct job *job;

    memset(r, 0, sizeof(*r));
    switch (job_prepare(cfg, &r->job, err, errlen)) {
    case -1:
        return RECOVERY_BAD_INPUT;
    case -2:
        return RECOVERY_FAILED; /* the share, not the input: exit 1 */
    default:
        break;
    }
    job = r->job;
    if (job_journal_path(job, jpath, sizeof(jpath)) == -1)
        fatalx("job path too long");
    r->jr = journal_open(jpath, recovery_replay_record, &r->st, err, errlen);
    if (r->jr == NULL)
        return RECOVERY_FAILED;
    if (job->resumed && r->st.sets == NULL) {
        /* The first run died before its first record was durable: the job
         * starts afresh on the tree it prepared. */
        log_info("job %s: the journal holds no record yet; starting the job",
                 job->id);
        job->resumed = 0;
    }
    if (!job->resumed)
        return RECOVERY_RUN;
    if (recovery_other_input(job, &r->st, cfg, err, errlen)) {
        if (!cfg->force)
            return RECOVERY_BAD_INPUT;
        if (recovery_discard(r, cfg, err, errlen) == -1)
            return RECOVERY_FAILED;
        return recovery_open(r, cfg, err, errlen);
    }
    if (recovery_check(r, err, errlen) == -1)
        return RECOVERY_FAILED;
    log_info("job %s: replayed %llu journal records: %u of %u sets "
             "counted",
             job->id, (unsigned long long)r->st.records,
             set_table_count(r->st.sets, SET_COUNTED), job->nsets);
    recovery_log_counted(job, &r->st);
    return recovery_done(cfg, r) ? RECOVERY_DONE : RECOVERY_RUN;
}

int
recovery_begin(struct recovery *r, uint64_t gen, char *err, size_t errlen)
{
    struct jrec rec;

    memset(&rec, 0, sizeof(rec));
    if (!r->job->resumed) {
        rec.type = JREC_JOB;
        snprintf(rec.job, sizeof(rec.job), "%s", r->job->id);
        rec.sets = r->job->nsets;
        rec.frames = r->job->frames->count;
        rec.gen = gen;
        rec.epoch = r->job->epoch_base;
        snprintf(rec.input, sizeof(rec.input), "%s", r->job->input_sha);
        if (recovery_append(r->jr, &rec) == -1) {
            errf(err, errlen, "writing the journal: %s", strerror(errno));
            return -1;
        }
        if (jrec_apply(&r->st, &rec, err, errlen) == -1)
            return -1;
    }
    /* Counted sets found lost at the start, before anything is acted on. */
    for (size_t i = 0; i < r->nlost; i++) {
        if (recovery_append(r->jr, &r->lost[i]) == -1) {
            errf(err, errlen, "writing the journal: %s", strerror(errno));
            return -1;
        }
    }
    rec.type = JREC_GEN;
    rec.gen = gen;
    if (recovery_append(r->jr, &rec) == -1) {
        errf(err, errlen, "writing the journal: %s", strerror(errno));
        return -1;
    }
    return 0;
}

void
recovery_close(struct recovery *r)
{
    journal_close(r->jr);
    free(r->lost);
    jrec_state_fini(&r->st);
    job_free(r->job);
    memset(r, 0, sizeof(*r));
}
