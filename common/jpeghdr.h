/*
 * jpeghdr.h - recognises a JPEG by its content (SOI, then markers up to a
 * start-of-frame) and reads its size, from a prefix of the file. Pure, and
 * safe on any bytes.
 */
#ifndef FF_JPEGHDR_H
#define FF_JPEGHDR_H

#include <stddef.h>
#include <stdint.h>

struct jpeghdr {
    int width, height;
    int components;
};

/* 1 with *h filled when buf holds a JPEG header through its SOF marker;
 * 0 when more bytes are needed to tell; -1 when it is not a JPEG. */
int jpeghdr_parse(const uint8_t *buf, size_t len, struct jpeghdr *h);

#endif
