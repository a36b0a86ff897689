/*
 * container.h - which container the final video is written in, from the
 * output's name: .mp4, .mkv, .mov or .webm (any case), and whether that
 * container can hold the job's codec. The decision is one pure function
 * over a fixed table (no libav, no I/O, any thread), so every program that
 * takes an output name (the ambassador, `framefarm render`, a submit)
 * refuses a bad one before any work, with the same words. The mini-videos
 * on the share stay MP4 whatever the output is; only the final concat
 * (a stream copy) writes this container.
 */
#ifndef FF_CONTAINER_H
#define FF_CONTAINER_H

#include <stddef.h>

/* The extensions, for messages and usage texts. */
#define CONTAINER_EXTENSIONS ".mp4, .mkv, .mov or .webm"
#define CONTAINER_MAX_CODECS 3

struct container {
    const char *ext;   /* ".mp4" */
    const char *name;  /* "MP4", for messages */
    const char *muxer; /* libavformat's short name: "mp4", "matroska" ... */
    /* the codecs it takes (encparams' names), NULL-terminated */
    const char *codecs[CONTAINER_MAX_CODECS + 1];
    int isobmff; /* ISO BMFF (MP4, MOV): HEVC is tagged hvc1, the
                    index goes up front (faststart) */
};

/* The container for path with codec ("h264", "hevc", "av1"): the table
 * row, or NULL with err naming the output (an unknown or missing
 * extension: which ones are supported; a codec the container cannot hold:
 * which it can, and what to use instead; an unknown codec). */
const struct container *container_for_output(const char *path,
                                             const char *codec, char *err,
                                             size_t errlen);
/* The row for an extension (".mkv", any case), or NULL. */
const struct container *container_by_ext(const char *ext);

#endif
