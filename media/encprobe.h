/*
 * encprobe.h - which encoders this machine really has. Looking an encoder
 * up by name always succeeds in Debian's FFmpeg, so each candidate is
 * proven by creating its hardware device (CUDA, VAAPI) and encoding one
 * frame; candidates that fail say why. The back ends are a table, best
 * first: NVENC, VAAPI, CPU. Called once at node start-up.
 */
#ifndef FF_ENCPROBE_H
#define FF_ENCPROBE_H

#include <stddef.h>

#include "common/encparams.h"

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
/* The encoder to use for codec under the policy want ("auto", "cpu",
 * "nvenc", "vaapi" or an encoder name), or NULL when none passed (why in
 * err). auto = the first passing entry in table order. */
const char *encprobe_pick(const struct encprobe_entry *e, size_t n,
                          const char *codec, const char *want, char *err,
                          size_t errlen);
const char *encprobe_kind_name(enum encprobe_kind k);

#endif
