/*
 * encchoice.h - which encoder a set gets: the pure selection policy over
 * encprobe's results (probe results, per-encoder breakers, fallback
 * policy -> encoder). No clock, no I/O, no libav: any thread, given the
 * entries and breakers it is handed (the caller guards the breakers).
 */
#ifndef FF_ENCCHOICE_H
#define FF_ENCCHOICE_H

#include <stddef.h>
#include <stdint.h>

#include "common/breaker.h"
#include "common/err.h"
#include "media/encprobe.h"

/* In encchoice_choose's error when a fallback was needed but not allowed. */
#define ENCCHOICE_NO_FALLBACK "no CPU fallback"

/* What encchoice_choose decided. */
struct encchoice {
    size_t index;        /* the entry chosen */
    const char *encoder; /* its name (points into the entries) */
    /* The CPU encoder to render with instead should encoder (a hardware
     * one) fail at run time, when the fallback policy allows it; else
     * NULL. */
    const char *retry;
    /* Non-empty when encoder is not what want asks for on a healthy node:
     * why, e.g. "encoder nvenc unavailable (h264_nvenc: no NVIDIA driver
     * (cannot load libcuda.so.1))". */
    char fallback[ERR_MAX];
};

/* The encoder for a set of codec under the policy want ("auto", "cpu",
 * "nvenc", "vaapi" or an encoder name; NULL = auto), given the probe
 * results e[0..n) and, when br is not NULL, a breaker per entry (br[i]
 * for e[i]; only hardware entries' breakers are consulted, and only the
 * one about to be chosen, with breaker_allow at now_ms: a half-open
 * breaker hands its probe to this choice).
 *   auto: the first entry that passed its probe and whose breaker allows,
 *         in table order (NVENC, VAAPI, CPU). Passing over a held-back
 *         entry is reported in fallback but never refused: auto asks for
 *         no encoder in particular. retry is set whatever allow_fallback.
 *   a kind or a name: that encoder when it passed and its breaker allows;
 *         else, for a hardware want and with allow_fallback, the CPU
 *         encoder for codec (a fallback, with the reason); retry only
 *         with allow_fallback.
 * Unknown names, an encoder of another codec, a CPU encoder that failed,
 * and a fallback that is needed but not allowed are errors. 0 with *out,
 * or -1 with err. */
int encchoice_choose(const struct encprobe_entry *e, size_t n,
                     struct breaker *br, uint64_t now_ms, const char *codec,
                     const char *want, int allow_fallback,
                     struct encchoice *out, char *err, size_t errlen);
/* encchoice_choose without breakers and without fallback: the encoder
 * name, or NULL with err. */
const char *encchoice_pick(const struct encprobe_entry *e, size_t n,
                           const char *codec, const char *want, char *err,
                           size_t errlen);

/* Can a job ask for this at all, on any node? The encoder is auto, a kind
 * (cpu, nvenc, vaapi) or a back end of the table that makes codec, and
 * the preset one the back ends know. Checked before any work is done
 * (whether a node has the encoder is its probe's business). 0, or -1
 * with err. */
int encchoice_check_request(const char *codec, const char *encoder,
                            const char *preset, char *err, size_t errlen);

#endif
