/*
 * viddec.h - a video file opened for decoding (private to media/): the
 * demuxer on the file's best video stream, every other stream discarded
 * unread, and a libavcodec decoder for that stream (frame and slice
 * threads, one per CPU); and the one loop that decodes the whole file into
 * a sink. Used by verify, quality, vidinfo (the stream only) and
 * transcode. A viddec and its frames belong to one thread at a time: the
 * one that opened it, or the one it was handed to through a lock
 * (media/concatread.c: a reader opens it, the concat's writer copies it).
 */
#ifndef FF_VIDDEC_H
#define FF_VIDDEC_H

#include <stddef.h>
#include <stdint.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>

enum viddec_flag {
    VIDDEC_STREAM_ONLY = 1 << 0, /* find the stream, open no decoder */
    VIDDEC_EXPLODE = 1 << 1,     /* concealed bitstream errors fail calls
                                    (AV_EF_EXPLODE), so they can be counted */
    /* with VIDDEC_STREAM_ONLY: the stream's parameters as the container
     * gives them when it gives codec, size and extradata (no picture is
     * decoded; the pixel format and level may stay unknown) */
    VIDDEC_CONTAINER_INFO = 1 << 2,
    /* the file is read as MP4/MOV, with no probe of the other formats
     * (a file that is not one fails to open) */
    VIDDEC_MP4 = 1 << 3,
    /* packets as the container stores them, for stream copy: no parser
     * (AVFMT_FLAG_NOPARSE, NOFILLIN; timestamps, durations and key flags
     * are the container's) */
    VIDDEC_COPY = 1 << 4,
};

/* Zero it before viddec_open; viddec_close then frees whatever is set. */
struct viddec {
    const char *path;     /* borrowed, for messages */
    AVFormatContext *fmt; /* the demuxer */
    const AVStream *st;   /* the video stream */
    AVCodecContext *dec;  /* its decoder; NULL with VIDDEC_STREAM_ONLY */
    AVIOContext *io;      /* viddec_open_mem's reader over the bytes */
    void *mem;            /* viddec_open_mem's cursor */
};

/* Open path's video stream and, unless flags has VIDDEC_STREAM_ONLY, its
 * decoder. 0, or -1 with err ("<path>: ...") and errno, v left for
 * viddec_close. */
int viddec_open(struct viddec *v, const char *path, unsigned flags, char *err,
                size_t errlen);
/* viddec_open on the len bytes at data (a whole file, borrowed until
 * viddec_close; path names it in messages): the file is not read again. */
int viddec_open_mem(struct viddec *v, const char *path, const uint8_t *data,
                    size_t len, unsigned flags, char *err, size_t errlen);
void viddec_close(struct viddec *v);

/* Where viddec_decode puts what it decodes. */
struct viddec_sink {
    /* A decoded frame, in presentation order (unreferenced after the call).
     * -1, with the sink's own error filled, stops decoding. */
    int (*frame)(void *arg, const AVFrame *fr);
    /* The decoder rejected a packet or failed to give a frame (libav's
     * code): decoding goes on. */
    void (*rejected)(void *arg, int averr);
    void *arg;
};

/* Every packet of the video stream through the decoder, then the flush,
 * each frame to sink. 0; or -1: the file could not be read or allocated
 * (err says why) or sink->frame failed (its error stands). */
int viddec_decode(struct viddec *v, const struct viddec_sink *sink, char *err,
                  size_t errlen);

#endif
