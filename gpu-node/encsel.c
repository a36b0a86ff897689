/*
 * encsel.c - see encsel.h.
 *
 * A fallback is allowed only when both the job (its manifest's "fallback")
 * and the node (--fallback) allow it: either side may insist on the
 * encoder it asked for. A hardware encoder chosen for a set owes its
 * breaker an outcome (work.breaker_pending) until the render ends: a run
 * of failures holds the encoder back (its sets go straight to the CPU)
 * and after the cool-down one set probes it again. The first time a given
 * fallback reason shows up it is a warning; the same reason again, set
 * after set, is a debug line (the session still logs the encoder of every
 * set, and every done carries the reason to the ambassador).
 */
#include "gpu-node/encsel.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/breaker.h"
#include "common/log.h"
#include "gpu-node/worker.h"
#include "media/encchoice.h"

struct encsel {
    const struct encprobe_entry *enc; /* borrowed */
    size_t nenc;
    char encoder[ENC_NAME_MAX]; /* the node's policy */
    int fallback_cpu;
    char preset[ENC_NAME_MAX]; /* "" = the job's */
    char fault[ENC_NAME_MAX];  /* "" = no test hook */
    pthread_mutex_t mu;
    /* Under mu. */
    struct breaker br[ENCPROBE_MAX]; /* br[i] for enc[i] (hardware only) */
    char warned[ERR_MAX];            /* the last fallback reason warned */
};

struct encsel *
encsel_new(const struct encprobe_entry *enc, size_t n, const char *encoder,
           int fallback_cpu, const char *preset, const char *fault,
           uint64_t seed)
{
    struct breaker_config bc;
    struct encsel *s = calloc(1, sizeof(*s));

    if (s == NULL)
        return NULL;
    s->enc = enc;
    s->nenc = n < ENCPROBE_MAX ? n : ENCPROBE_MAX;
    snprintf(s->encoder, sizeof(s->encoder), "%s",
             encoder != NULL ? encoder : "auto");
    s->fallback_cpu = fallback_cpu;
    snprintf(s->preset, sizeof(s->preset), "%s", preset != NULL ? preset : "");
    snprintf(s->fault, sizeof(s->fault), "%s", fault != NULL ? fault : "");
    pthread_mutex_init(&s->mu, NULL);
    breaker_config_default(&bc);
    for (size_t i = 0; i < ENCPROBE_MAX; i++)
        breaker_init(&s->br[i], &bc, seed + i);
    return s;
}

void
encsel_free(struct encsel *s)
{
    if (s == NULL)
        return;
    pthread_mutex_destroy(&s->mu);
    free(s);
}

const char *
encsel_fault(const struct encsel *s)
{
    return s->fault[0] != '\0' ? s->fault : NULL;
}

/* Warn about a fallback reason the first time it shows up. */
static int
encsel_first_time(struct encsel *s, const char *reason)
{
    int first;

    pthread_mutex_lock(&s->mu);
    first = strcmp(s->warned, reason) != 0;
    if (first)
        snprintf(s->warned, sizeof(s->warned), "%s", reason);
    pthread_mutex_unlock(&s->mu);
    return first;
}

static const char *
encsel_fallback_kind(const struct encsel *s, const char *encoder)
{
    for (size_t i = 0; i < s->nenc; i++)
        if (strcmp(s->enc[i].name, encoder) == 0)
            return s->enc[i].kind == ENCPROBE_CPU ? "CPU fallback" : "fallback";
    return "fallback";
}

int
encsel_assign(struct encsel *s, struct work *w, uint64_t now_ms, char *err,
              size_t errlen)
{
    struct encchoice c;
    const char *want =
        strcmp(w->m->enc.encoder, "auto") != 0 ? w->m->enc.encoder : s->encoder;
    int job_cpu = strcmp(w->m->enc.fallback, ENC_FALLBACK_NONE) != 0;
    int rc;

    pthread_mutex_lock(&s->mu);
    rc = encchoice_choose(s->enc, s->nenc, s->br, now_ms, w->m->enc.codec, want,
                          job_cpu && s->fallback_cpu, &c, err, errlen);
    pthread_mutex_unlock(&s->mu);
    if (rc == -1) {
        /* Say whose policy forbade the fallback. */
        if (strstr(err, ENCCHOICE_NO_FALLBACK) != NULL) {
            size_t len = strlen(err);
            snprintf(err + len, errlen - len, "%s",
                     !job_cpu ? " (the job's --fallback none)"
                              : " (this node's --fallback none)");
        }
        return -1;
    }
    w->sel = s;
    snprintf(w->encoder, sizeof(w->encoder), "%s", c.encoder);
    snprintf(w->retry, sizeof(w->retry), "%s", c.retry != NULL ? c.retry : "");
    snprintf(w->fallback, sizeof(w->fallback), "%s", c.fallback);
    w->breaker_pending = s->enc[c.index].kind != ENCPROBE_CPU;
    w->breaker_idx = c.index;
    if (s->preset[0] != '\0' && strcmp(s->preset, w->m->enc.preset) != 0) {
        log_debug("job %s set %u: preset %s (this node's --preset) instead "
                  "of the job's %s",
                  w->m->job, w->m->set, s->preset, w->m->enc.preset);
        snprintf(w->m->enc.preset, sizeof(w->m->enc.preset), "%s", s->preset);
    }
    if (c.fallback[0] != '\0') {
        if (encsel_first_time(s, c.fallback))
            log_warnx("job %s: %s; rendering set %u with %s (%s)", w->m->job,
                      c.fallback, w->m->set, c.encoder,
                      encsel_fallback_kind(s, c.encoder));
        else
            log_debug("job %s: %s; rendering set %u with %s (%s)", w->m->job,
                      c.fallback, w->m->set, c.encoder,
                      encsel_fallback_kind(s, c.encoder));
    }
    return 0;
}

const char *
encsel_retry(struct encsel *s, struct work *w, uint64_t now_ms)
{
    char why[ERR_MAX];

    if (!w->breaker_pending || !w->res.encoder_failed)
        return NULL;
    errf(why, sizeof(why), "%s failed at run time: %s", w->encoder, w->err);
    pthread_mutex_lock(&s->mu);
    breaker_record(&s->br[w->breaker_idx], false, now_ms, w->err);
    pthread_mutex_unlock(&s->mu);
    w->breaker_pending = 0;
    if (w->retry[0] == '\0' || atomic_load(&w->cancel) != 0) {
        log_warnx("job %s set %u: %s; no CPU fallback", w->m->job, w->m->set,
                  why);
        return NULL;
    }
    /* A fallback chosen at assign (auto passing over another encoder)
     * keeps its reason in front. */
    if (w->fallback[0] != '\0') {
        size_t len = strlen(w->fallback);
        snprintf(w->fallback + len, sizeof(w->fallback) - len, "; %s", why);
    } else {
        snprintf(w->fallback, sizeof(w->fallback), "%s", why);
    }
    log_warnx("job %s set %u: %s; rendering set %u again with %s (CPU "
              "fallback)",
              w->m->job, w->m->set, why, w->m->set, w->retry);
    return w->retry;
}

void
encsel_finish(struct encsel *s, struct work *w, uint64_t now_ms)
{
    if (!w->breaker_pending)
        return;
    pthread_mutex_lock(&s->mu);
    if (w->ok)
        breaker_record(&s->br[w->breaker_idx], true, now_ms, "");
    else
        breaker_release_probe(&s->br[w->breaker_idx]);
    pthread_mutex_unlock(&s->mu);
    w->breaker_pending = 0;
}
