/*
 * encchoice.c - see encchoice.h. Every function here reads the entries
 * (and, through breaker_allow, moves a breaker on) and nothing else.
 */
#include "media/encchoice.h"

#include <stdio.h>
#include <string.h>

#include "media/encoder.h"

static int
encchoice_kind_from_name(const char *want, enum encprobe_kind *k)
{
    static const enum encprobe_kind kinds[] = {ENCPROBE_NVENC, ENCPROBE_VAAPI,
                                               ENCPROBE_CPU};
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
        if (strcmp(want, encprobe_kind_name(kinds[i])) == 0) {
            *k = kinds[i];
            return 1;
        }
    return 0;
}

/* Append "; text" (or text, when buf is empty) to buf, truncating. */
static void
encchoice_append(char *buf, size_t buflen, const char *text)
{
    size_t used = strlen(buf);
    if (used + 1 < buflen)
        errf(buf + used, buflen - used, "%s%s", used > 0 ? "; " : "", text);
}

/* "name: reason; name: reason" for the failed candidates of codec. */
static void
encchoice_reasons(const struct encprobe_entry *e, size_t n, const char *codec,
                  char *buf, size_t buflen)
{
    char one[ERR_MAX];

    buf[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (strcmp(e[i].codec, codec) != 0 || e[i].ok)
            continue;
        snprintf(one, sizeof(one), "%s: %s", e[i].name, e[i].reason);
        encchoice_append(buf, buflen, one);
    }
}

/* May e[i] be used now? It must have passed its probe and, when it is
 * hardware and there are breakers, its breaker must allow it (which hands
 * a half-open breaker's probe to this use). When not, why says so. */
static int
encchoice_usable(const struct encprobe_entry *e, size_t i, struct breaker *br,
                 uint64_t now_ms, char *why, size_t whylen)
{
    if (!e[i].ok) {
        snprintf(why, whylen, "%s: %s", e[i].name, e[i].reason);
        return 0;
    }
    if (br != NULL && e[i].kind != ENCPROBE_CPU &&
        !breaker_allow(&br[i], now_ms)) {
        snprintf(why, whylen, "%s: held back after failing at run time (%s)",
                 e[i].name, br[i].reason);
        return 0;
    }
    return 1;
}

/* The first CPU entry for codec that passed its probe, or -1. */
static long
encchoice_cpu_for(const struct encprobe_entry *e, size_t n, const char *codec)
{
    for (size_t i = 0; i < n; i++)
        if (e[i].kind == ENCPROBE_CPU && e[i].ok &&
            strcmp(e[i].codec, codec) == 0)
            return (long)i;
    return -1;
}

/* auto: the first usable entry for codec, in table order; the entries
 * passed over for their breakers go to skipped. The index, or -1 with
 * err. */
static long
encchoice_choose_auto(const struct encprobe_entry *e, size_t n,
                      struct breaker *br, uint64_t now_ms, const char *codec,
                      char *skipped, size_t skippedlen, char *err,
                      size_t errlen)
{
    char one[ERR_MAX], why[ERR_MAX];

    skipped[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (strcmp(e[i].codec, codec) != 0 || !e[i].ok)
            continue;
        if (encchoice_usable(e, i, br, now_ms, one, sizeof(one)))
            return (long)i;
        encchoice_append(skipped, skippedlen, one);
    }
    encchoice_reasons(e, n, codec, why, sizeof(why));
    if (skipped[0] != '\0')
        encchoice_append(why, sizeof(why), skipped);
    errf(err, errlen, "no %s encoder passed its probe%s%s", codec,
         why[0] != '\0' ? ": " : "", why);
    return -1;
}

/* A kind or a name: its usable entry, or -1 with why (and *kind set to
 * the kind wanted, for the fallback decision). -2 with err for a want
 * that can never work here (unknown, wrong codec). */
static long
encchoice_choose_want(const struct encprobe_entry *e, size_t n,
                      struct breaker *br, uint64_t now_ms, const char *codec,
                      const char *want, enum encprobe_kind *kind, char *why,
                      size_t whylen, char *err, size_t errlen)
{
    char one[ERR_MAX];
    int any = 0;

    why[0] = '\0';
    if (encchoice_kind_from_name(want, kind)) {
        for (size_t i = 0; i < n; i++) {
            if (e[i].kind != *kind || strcmp(e[i].codec, codec) != 0)
                continue;
            any = 1;
            if (encchoice_usable(e, i, br, now_ms, one, sizeof(one)))
                return (long)i;
            encchoice_append(why, whylen, one);
        }
        if (!any)
            snprintf(why, whylen, "there is no %s encoder for %s", want, codec);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (strcmp(e[i].name, want) != 0)
            continue;
        if (strcmp(e[i].codec, codec) != 0) {
            errf(err, errlen, "encoder %s makes %s, not %s", want, e[i].codec,
                 codec);
            return -2;
        }
        *kind = e[i].kind;
        if (encchoice_usable(e, i, br, now_ms, why, whylen))
            return (long)i;
        return -1;
    }
    errf(err, errlen,
         "encoder \"%s\" is not one of the back ends (auto, cpu, nvenc, "
         "vaapi or an encoder name from the probe)",
         want);
    return -2;
}

int
encchoice_choose(const struct encprobe_entry *e, size_t n, struct breaker *br,
                 uint64_t now_ms, const char *codec, const char *want,
                 int allow_fallback, struct encchoice *out, char *err,
                 size_t errlen)
{
    char why[ERR_MAX];
    enum encprobe_kind kind = ENCPROBE_CPU;
    int is_auto = want == NULL || strcmp(want, "auto") == 0;
    long idx, cpu = encchoice_cpu_for(e, n, codec);

    memset(out, 0, sizeof(*out));
    if (is_auto) {
        /* auto asks for nothing in particular: whatever passes is what it
         * means, so the fallback policy never refuses it; passing over a
         * held-back encoder is still reported. */
        idx = encchoice_choose_auto(e, n, br, now_ms, codec, why, sizeof(why),
                                    err, errlen);
        if (idx < 0)
            return -1;
        if (why[0] != '\0')
            snprintf(out->fallback, sizeof(out->fallback),
                     "encoder auto: %.400s", why);
    } else {
        idx = encchoice_choose_want(e, n, br, now_ms, codec, want, &kind, why,
                                    sizeof(why), err, errlen);
        if (idx == -2)
            return -1;
        if (idx == -1) {
            if (kind == ENCPROBE_CPU) {
                errf(err, errlen, "encoder %s unavailable (%s)", want, why);
                return -1;
            }
            if (!allow_fallback) {
                errf(err, errlen, "encoder %s unavailable (%s); %s", want, why,
                     ENCCHOICE_NO_FALLBACK);
                return -1;
            }
            if (cpu < 0) {
                errf(err, errlen,
                     "encoder %s unavailable (%s) and no CPU encoder for %s "
                     "passed its probe",
                     want, why, codec);
                return -1;
            }
            idx = cpu;
            snprintf(out->fallback, sizeof(out->fallback),
                     "encoder %s unavailable (%.400s)", want, why);
        }
    }
    out->index = (size_t)idx;
    out->encoder = e[idx].name;
    if (e[idx].kind != ENCPROBE_CPU && (is_auto || allow_fallback) && cpu >= 0)
        out->retry = e[cpu].name;
    return 0;
}

const char *
encchoice_pick(const struct encprobe_entry *e, size_t n, const char *codec,
               const char *want, char *err, size_t errlen)
{
    struct encchoice c;

    if (encchoice_choose(e, n, NULL, 0, codec, want, 0, &c, err, errlen) == -1)
        return NULL;
    return c.encoder;
}

int
encchoice_check_request(const char *codec, const char *encoder,
                        const char *preset, char *err, size_t errlen)
{
    static const char *const kinds[] = {"auto", "cpu", "nvenc", "vaapi"};
    const struct encoder_backend *b;
    int kind = 0;

    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
        kind |= encoder[0] == '\0' || strcmp(encoder, kinds[i]) == 0;
    if (!kind) {
        b = encoder_backend_find(encoder);
        if (b == NULL) {
            errf(err, errlen,
                 "--encoder %s: not auto, cpu, nvenc, vaapi or an encoder "
                 "framefarm knows",
                 encoder);
            return -1;
        }
        if (strcmp(b->codec, codec) != 0) {
            errf(err, errlen, "--encoder %s makes %s, not the job's %s",
                 encoder, b->codec, codec);
            return -1;
        }
    }
    if (preset[0] != '\0' && !encprobe_preset_known(preset)) {
        errf(err, errlen,
             "--preset %s: not a preset (ultrafast, superfast, veryfast, "
             "faster, fast, medium, slow, slower, veryslow)",
             preset);
        return -1;
    }
    return 0;
}
