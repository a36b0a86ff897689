/*
 * jpeghdr.c - see jpeghdr.h. Walks the marker segments after SOI; every
 * length is bounds-checked against what was given.
 */
#include "common/jpeghdr.h"

#define JPEG_MARK 0xFF
#define JPEG_SOI 0xD8
#define JPEG_EOI 0xD9
#define JPEG_SOS 0xDA
#define JPEG_TEM 0x01
#define JPEG_RST0 0xD0
#define JPEG_RST7 0xD7
#define JPEG_SOF0 0xC0
#define JPEG_SOF15 0xCF
#define JPEG_DHT 0xC4
#define JPEG_JPG 0xC8
#define JPEG_DAC 0xCC
#define JPEG_SOF_MIN_LEN 8

static int
jpeghdr_is_sof(uint8_t m)
{
    return m >= JPEG_SOF0 && m <= JPEG_SOF15 && m != JPEG_DHT &&
           m != JPEG_JPG && m != JPEG_DAC;
}

int
jpeghdr_parse(const uint8_t *buf, size_t len, struct jpeghdr *h)
{
    size_t p = 2;

    if (len < 2)
        return len == 1 && buf[0] != JPEG_MARK ? -1 : 0;
    if (buf[0] != JPEG_MARK || buf[1] != JPEG_SOI)
        return -1;
    for (;;) {
        uint8_t m;
        size_t seglen;

        if (p >= len)
            return 0;
        if (buf[p] != JPEG_MARK)
            return -1;
        while (p < len && buf[p] == JPEG_MARK) /* fill bytes */
            p++;
        if (p >= len)
            return 0;
        m = buf[p++];
        if (m == JPEG_TEM || (m >= JPEG_RST0 && m <= JPEG_RST7))
            continue;
        if (m == JPEG_SOI || m == JPEG_EOI || m == JPEG_SOS || m == 0)
            return -1; /* no SOF before the scan or the end */
        if (p + 2 > len)
            return 0;
        seglen = (size_t)buf[p] << 8 | buf[p + 1];
        if (seglen < 2)
            return -1;
        if (jpeghdr_is_sof(m)) {
            if (seglen < JPEG_SOF_MIN_LEN)
                return -1;
            if (p + JPEG_SOF_MIN_LEN > len)
                return 0;
            h->height = buf[p + 3] << 8 | buf[p + 4];
            h->width = buf[p + 5] << 8 | buf[p + 6];
            h->components = buf[p + 7];
            if (h->width == 0 || h->height == 0 || h->components == 0)
                return -1;
            return 1;
        }
        p += seglen;
    }
}
