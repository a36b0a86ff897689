/*
 * srcluma.h - a zip's source frames as luma planes to hold a video against
 * (private to media/): frame i's JPEG is read from the zip (size and CRC
 * checked), decoded to grey with libjpeg-turbo (no chroma work), mapped to
 * the video's range and scaled to its size. What verify and bench's
 * scoring compare each decoded frame with. One thread at a time.
 */
#ifndef FF_SRCLUMA_H
#define FF_SRCLUMA_H

#include <stddef.h>
#include <stdint.h>

#include "media/zipframes.h"

struct srcluma;

/* Open zip, whose frames list (borrowed, must outlive it) describes. NULL
 * with err. */
struct srcluma *srcluma_open(const char *zip, const struct zipf_listing *list,
                             char *err, size_t errlen);
/* The video's luma: w x h, full (1) or limited (0) range. Until this is
 * called no frame can be loaded. 0, or -1 with err. */
int srcluma_target(struct srcluma *s, int w, int h, int full, char *err,
                   size_t errlen);
/* Source frame i into dst (the target's w x h, stride w). *sw and *sh
 * (may be NULL) get the source's own size. 0, or -1 with err. */
int srcluma_load(struct srcluma *s, size_t i, uint8_t *dst, int *sw, int *sh,
                 char *err, size_t errlen);
void srcluma_close(struct srcluma *s);

#endif
