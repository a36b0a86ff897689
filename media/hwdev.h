/*
 * hwdev.h - the process's hardware devices (CUDA, VAAPI, ...), each created
 * once and shared by reference (private to media/). Creating a device is
 * costly (a CUDA context takes a good fraction of a second and GPU
 * memory), so the probe, every encoder (NVENC through hw_device_ctx,
 * VAAPI through its frames context) and every hardware JPEG decoder take a
 * reference to the one device of their kind instead of opening their own.
 * A device that fails to open is not remembered: the next call tries
 * again, so a driver that comes back is used again. A device lives until
 * the process exits. Any thread.
 */
#ifndef FF_HWDEV_H
#define FF_HWDEV_H

#include <stddef.h>

#include <libavutil/buffer.h>
#include <libavutil/hwcontext.h>

/* A new reference to the device of type at path (NULL: libav's default
 * device of that type) in *out, created on first use. 0, or -1 with err
 * (libav's text included) and errno. */
int hwdev_get(enum AVHWDeviceType type, const char *path, AVBufferRef **out,
              char *err, size_t errlen);
/* How many devices this process has created so far (each kind and path
 * once while it works): what tests check sharing with. */
unsigned hwdev_created(void);

#endif
