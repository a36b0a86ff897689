/*
 * transcode.h - re-encode one mini-video with a job's encode parameters:
 * every frame decoded, converted to the encoder's format, size and limited
 * range when it differs, and encoded through the same back-end table as a
 * render node (media/encoder.c: fixed GOP, IDR first, BT.601 tags), into
 * a new MP4 with one frame per packet at the job's frame rate. Concat uses
 * it for sets whose stream parameters differ from the others'. The
 * caller's thread owns every libav object made here.
 */
#ifndef FF_TRANSCODE_H
#define FF_TRANSCODE_H

#include <stddef.h>
#include <stdint.h>

#include "common/encparams.h"

/* The CPU encoder that re-encodes for p ("libx264" for h264), or NULL. */
const char *transcode_encoder(const struct enc_params *p);

/* Re-encode in into out (created or replaced) with that encoder and p.
 * 0 with *frames (frames written), or -1 with err; on failure out may be
 * left behind (the caller owns the name and removes it). */
int transcode_video(const char *in, const char *out, const struct enc_params *p,
                    uint64_t *frames, char *err, size_t errlen);

#endif
