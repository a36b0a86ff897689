/*
 * framemark.h - a frame's global index drawn into its luma plane as large
 * black and white blocks (the index's bits, then their complement, so
 * random picture content is never read as an index), readable after lossy
 * encoding and range conversion. `framefarm sample` draws it, `framefarm
 * verify` reads it back. Pure.
 */
#ifndef FF_FRAMEMARK_H
#define FF_FRAMEMARK_H

#include <stdint.h>

#define FRAMEMARK_BITS 16
#define FRAMEMARK_MIN_WIDTH 136 /* 34 blocks of at least 4 pixels */

/* 1 when a picture of this size can hold a mark (width at least
 * FRAMEMARK_MIN_WIDTH, height at least about 3/68 of the width), else 0;
 * framemark_draw draws nothing on a picture that cannot. */
int framemark_fits(int width, int height);
/* Draw index (mod 2^16) at the top left of a full-range luma plane. */
void framemark_draw(uint8_t *y, int stride, int width, int height,
                    uint32_t index);
/* 1 with *index when a valid mark is found, 0 otherwise. Works on full- or
 * limited-range luma. */
int framemark_read(const uint8_t *y, int stride, int width, int height,
                   uint32_t *index);

#endif
