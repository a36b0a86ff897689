/*
 * vidinfo.h - what a mini-video or final video holds, read with
 * libavformat: its stream fingerprint and frame count (packets counted,
 * not the container's claim). Used by the ambassador to check a result
 * before it is Counted, and after concat. Thread-safe across calls.
 */
#ifndef FF_VIDINFO_H
#define FF_VIDINFO_H

#include <stddef.h>
#include <stdint.h>

#include "common/hash.h"

struct viddec;

struct vidinfo {
    char codec[32];   /* "h264" */
    char pix_fmt[32]; /* "yuv420p" */
    int width, height;
    int profile, level;
    int color_range;      /* AVColorRange value */
    int tb_num, tb_den;   /* stream time base */
    int fps_num, fps_den; /* average frame rate, when the file has one */
    uint64_t frames;      /* video packets */
    uint64_t keyframes;
    int first_is_key; /* the first packet is a keyframe (IDR) */
    char extradata_sha256[HASH_HEX_LEN + 1]; /* parameter sets */
};

/* 0 with vi filled, or -1 with err (cannot open, no video stream, ...). */
int vidinfo_probe(const char *path, struct vidinfo *vi, char *err,
                  size_t errlen);
/* vidinfo_probe of an MP4/MOV file read whole into the len bytes at data
 * (path names it in messages; opened as MP4, no other format probed:
 * anything else fails); when its index counted the frames, it stays open
 * in *vd for stream copy (packets as stored, no parser; data borrowed
 * until viddec_close) with no packet read yet (the caller reads them and
 * calls viddec_close); else vd->fmt is NULL. */
int vidinfo_probe_mem(const char *path, const uint8_t *data, size_t len,
                      struct vidinfo *vi, struct viddec *vd, char *err,
                      size_t errlen);
/* 1 when two fingerprints allow stream-copy concat (codec, size, pix_fmt,
 * profile, level, range, time base, extradata hash), else 0. */
int vidinfo_compatible(const struct vidinfo *a, const struct vidinfo *b);

#endif
