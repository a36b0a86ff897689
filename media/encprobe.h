/*
 * encprobe.h - which encoders this machine really has, and which one a set
 * gets. Looking an encoder up by name always succeeds in Debian's FFmpeg,
 * so each candidate is proven by creating its hardware device (CUDA,
 * VAAPI) and encoding one frame; candidates that fail say why. The back
 * ends are a table, best first: NVENC, VAAPI, CPU. encprobe_run is called
 * once at node start-up; encprobe_choose is the pure selection policy
 * (probe results, per-encoder breakers, fallback policy -> encoder).
 */
#ifndef FF_ENCPROBE_H
#define FF_ENCPROBE_H

#include <stddef.h>
#include <stdint.h>

#include "common/breaker.h"
#include "common/encparams.h"
#include "common/err.h"

#define ENCPROBE_MAX 16
#define ENCPROBE_REASON_MAX 256

enum encprobe_kind { ENCPROBE_NVENC, ENCPROBE_VAAPI, ENCPROBE_CPU };

struct encprobe_entry {
    char name[ENC_NAME_MAX];  /* FFmpeg encoder, e.g. "h264_nvenc" */
    char codec[ENC_NAME_MAX]; /* "h264", "hevc", "av1" */
    enum encprobe_kind kind;
    int ok;                           /* passed a real test encode */
    char device[ENCPROBE_REASON_MAX]; /* e.g. GPU name, or "" */
    char reason[ENCPROBE_REASON_MAX]; /* why not, when !ok */
};

/* Probe every candidate in the table (all codecs). Fills out[0..*n). */
void encprobe_run(struct encprobe_entry *out, size_t max, size_t *n);
/* In encprobe_choose's error when a fallback was needed but not allowed. */
#define ENCPROBE_NO_FALLBACK "no CPU fallback"

/* What encprobe_choose decided. */
struct encprobe_choice {
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
 * or -1 with err. Pure: no clock, no I/O. */
int encprobe_choose(const struct encprobe_entry *e, size_t n,
                    struct breaker *br, uint64_t now_ms, const char *codec,
                    const char *want, int allow_fallback,
                    struct encprobe_choice *out, char *err, size_t errlen);
/* encprobe_choose without breakers and without fallback: the encoder name,
 * or NULL with err. */
const char *encprobe_pick(const struct encprobe_entry *e, size_t n,
                          const char *codec, const char *want, char *err,
                          size_t errlen);
/* 1 when preset is one of the x264 preset names every back end maps. */
int encprobe_preset_known(const char *preset);
const char *encprobe_kind_name(enum encprobe_kind k);
/* A failure's text (libav's included) as a reason a person can act on,
 * e.g. "no NVIDIA driver (cannot load libcuda.so.1)"; what (NULL: none)
 * prefixes a text no known hint matches. */
void encprobe_reason(char *out, size_t outlen, const char *what,
                     const char *text);
/* The first NVIDIA GPU's model name, from the driver's /proc files; "" when
 * there is none. */
void encprobe_gpu_model(char *out, size_t outlen);

#endif
