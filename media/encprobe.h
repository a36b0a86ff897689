/*
 * encprobe.h - which encoders this machine really has. Looking an encoder
 * up by name always succeeds in Debian's FFmpeg, so each candidate is
 * proven by creating its hardware device (CUDA, VAAPI) and encoding one
 * frame; candidates that fail say why. The back ends are a table, best
 * first: NVENC, VAAPI, CPU. encprobe_run is called once at node start-up;
 * which entry a set gets is media/encchoice.h's pure policy over these
 * results.
 */
#ifndef FF_ENCPROBE_H
#define FF_ENCPROBE_H

#include <stddef.h>

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
/* The same for the candidates of one codec ("h264"); NULL: all. A test
 * encode costs a node's start-up ~0.1 CPU-second for libx265 and
 * libsvtav1 together, which a one-codec node (framefarm render's) skips. */
void encprobe_run_codec(struct encprobe_entry *out, size_t max, size_t *n,
                        const char *codec);
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
