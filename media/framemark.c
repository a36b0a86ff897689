/*
 * framemark.c - see framemark.h.
 *
 * Geometry: the picture's width is cut into FRAMEMARK_SPAN equal columns
 * (edges at k * width / FRAMEMARK_SPAN, so the layout scales exactly with
 * the picture and a mark drawn at 1600x900 is found in an 800x450 rendering
 * of it). Column 0 and the last column are margins; the 32 columns between
 * hold the index's 16 bits, most significant first, then their complements.
 * The blocks are as tall as a column is wide and sit half a column below
 * the top edge. Reading averages the central half of each block, so the
 * ringing that lossy codecs leave along the edges never reaches a sample,
 * and thresholds at the midpoint between the darkest and brightest block,
 * so full- and limited-range luma read alike. Pure and reentrant.
 */
#include "media/framemark.h"

#include <stddef.h>
#include <stdlib.h>

#define FRAMEMARK_BLOCKS (2 * FRAMEMARK_BITS)
#define FRAMEMARK_SPAN                                                         \
    (FRAMEMARK_BLOCKS + 2) /* one margin column each side                      \
                            */
#define FRAMEMARK_INDEX_MASK ((1u << FRAMEMARK_BITS) - 1)
#define FRAMEMARK_DARK 0
#define FRAMEMARK_LIGHT 255
/* Smallest spread between the darkest and brightest block that can be a
 * mark (codecs and range conversion keep at least ~180 of the drawn 255). */
#define FRAMEMARK_MIN_CONTRAST 96
/* Each block must lie at least this fraction of the spread away from the
 * threshold: a mid-grey block is picture content, not a bit. */
#define FRAMEMARK_MARGIN_DIV 4

struct framemark_box {
    int x0, x1, y0, y1; /* half-open */
};

/* Column edge k of FRAMEMARK_SPAN; exact for every width. */
static int
framemark_edge(int width, int k)
{
    return (int)((long long)width * k / FRAMEMARK_SPAN);
}

/* The pixels of block b (0-based), or 0 when the picture is too small. */
static int
framemark_block(int width, int height, int b, struct framemark_box *box)
{
    int col = framemark_edge(width, 1) - framemark_edge(width, 0);
    int top = framemark_edge(width, 1) / 2;

    if (width < FRAMEMARK_MIN_WIDTH || top + col > height)
        return 0;
    box->x0 = framemark_edge(width, b + 1);
    box->x1 = framemark_edge(width, b + 2);
    box->y0 = top;
    box->y1 = top + col;
    return 1;
}

int
framemark_fits(int width, int height)
{
    struct framemark_box box;
    return framemark_block(width, height, 0, &box);
}

void
framemark_draw(uint8_t *y, int stride, int width, int height, uint32_t index)
{
    uint32_t v = index & FRAMEMARK_INDEX_MASK;

    for (int b = 0; b < FRAMEMARK_BLOCKS; b++) {
        struct framemark_box box;
        int bit = b < FRAMEMARK_BITS ? FRAMEMARK_BITS - 1 - b
                                     : FRAMEMARK_BLOCKS - 1 - b;
        int on = (int)((v >> bit) & 1u);
        uint8_t level;

        if (!framemark_block(width, height, b, &box))
            return;
        if (b >= FRAMEMARK_BITS)
            on = !on;
        level = on ? FRAMEMARK_LIGHT : FRAMEMARK_DARK;
        for (int r = box.y0; r < box.y1; r++) {
            uint8_t *row = y + (ptrdiff_t)r * stride;
            for (int c = box.x0; c < box.x1; c++)
                row[c] = level;
        }
    }
}

/* Mean of the central half of a block. */
static int
framemark_mean(const uint8_t *y, int stride, const struct framemark_box *box)
{
    int qw = (box->x1 - box->x0) / 4, qh = (box->y1 - box->y0) / 4;
    int x0 = box->x0 + qw, x1 = box->x1 - qw;
    int y0 = box->y0 + qh, y1 = box->y1 - qh;
    long long sum = 0, n = (long long)(x1 - x0) * (y1 - y0);

    for (int r = y0; r < y1; r++) {
        const uint8_t *row = y + (ptrdiff_t)r * stride;
        for (int c = x0; c < x1; c++)
            sum += row[c];
    }
    return n > 0 ? (int)(sum / n) : 0;
}

int
framemark_read(const uint8_t *y, int stride, int width, int height,
               uint32_t *index)
{
    int mean[FRAMEMARK_BLOCKS];
    int lo = FRAMEMARK_LIGHT, hi = FRAMEMARK_DARK, thr, margin;
    uint32_t v = 0;

    for (int b = 0; b < FRAMEMARK_BLOCKS; b++) {
        struct framemark_box box;
        if (!framemark_block(width, height, b, &box))
            return 0;
        mean[b] = framemark_mean(y, stride, &box);
        if (mean[b] < lo)
            lo = mean[b];
        if (mean[b] > hi)
            hi = mean[b];
    }
    if (hi - lo < FRAMEMARK_MIN_CONTRAST)
        return 0;
    thr = (lo + hi) / 2;
    margin = (hi - lo) / FRAMEMARK_MARGIN_DIV;
    for (int b = 0; b < FRAMEMARK_BITS; b++) {
        int bit = mean[b] > thr;
        int inv = mean[b + FRAMEMARK_BITS] > thr;

        if (bit == inv || abs(mean[b] - thr) < margin ||
            abs(mean[b + FRAMEMARK_BITS] - thr) < margin)
            return 0;
        v = (v << 1) | (uint32_t)bit;
    }
    *index = v;
    return 1;
}
