/*
 * hwjpeg.h - JPEG decoding on a GPU (private to media/): FFmpeg's mjpeg
 * decoder with a hardware device (NVDEC through CUDA, VAAPI), the picture
 * copied back to system memory and put through jpegdec_convert, so a frame
 * leaves exactly as jpegdec's do: the frame's size and format, limited
 * range, BT.601. A picture the hardware cannot take (a subsampling the
 * engine lacks, say) is an error, never a silent software decode: the
 * caller decodes that frame on the CPU and counts it. A decoder belongs to
 * one thread; its device is the process's shared one (hwdev).
 */
#ifndef FF_HWJPEG_H
#define FF_HWJPEG_H

#include <stddef.h>
#include <stdint.h>

#include <libavutil/frame.h>
#include <libavutil/hwcontext.h>

struct hwjpeg_backend {
    const char *name; /* "nvdec", "vaapi": what --decoder takes */
    enum AVHWDeviceType device;
    const char *device_path; /* NULL: libav's default device */
};

/* The table, best first, and its length. */
const struct hwjpeg_backend *hwjpeg_backends(size_t *n);
/* The row called name, or NULL. */
const struct hwjpeg_backend *hwjpeg_backend_find(const char *name);

struct hwjpeg;

/* A decoder on be's device. NULL with err (libav's text included). */
struct hwjpeg *hwjpeg_open(const struct hwjpeg_backend *be, char *err,
                           size_t errlen);
/* Decode jpeg[0..len) into out, set up as for jpegdec_decode. 0, or -1
 * with err. */
int hwjpeg_decode(struct hwjpeg *d, const uint8_t *jpeg, size_t len,
                  AVFrame *out, char *err, size_t errlen);
void hwjpeg_free(struct hwjpeg *d);

#endif
