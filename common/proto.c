/*
 * proto.c - see proto.h.
 */
#include "common/proto.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/fdio.h"

int
proto_encode(const cJSON *msg, char **bufp, size_t *lenp)
{
    char *text = cJSON_PrintUnformatted(msg);
    char *buf = NULL;
    size_t n;

    if (text == NULL) {
        errno = ENOMEM;
        return -1;
    }
    n = strlen(text);
    if (n == 0 || n > PROTO_MAX_FRAME) {
        free(text);
        errno = EMSGSIZE;
        return -1;
    }
    buf = malloc(PROTO_HDR + n);
    if (buf == NULL) {
        free(text);
        return -1;
    }
    buf[0] = (char)(n >> 24 & 0xff);
    buf[1] = (char)(n >> 16 & 0xff);
    buf[2] = (char)(n >> 8 & 0xff);
    buf[3] = (char)(n & 0xff);
    memcpy(buf + PROTO_HDR, text, n);
    free(text);
    *bufp = buf;
    *lenp = PROTO_HDR + n;
    return 0;
}

int
proto_decode(const uint8_t *buf, size_t avail, size_t *used, cJSON **msg,
             char *err, size_t errlen)
{
    uint32_t len;
    const char *body, *end = NULL;
    cJSON *m, *type;

    *msg = NULL;
    if (avail < PROTO_HDR)
        return 0;
    len = (uint32_t)buf[0] << 24 | (uint32_t)buf[1] << 16 |
          (uint32_t)buf[2] << 8 | (uint32_t)buf[3];
    if (len == 0 || len > PROTO_MAX_FRAME) {
        errf(err, errlen, "frame length %u outside 1..%u", len,
             PROTO_MAX_FRAME);
        return -1;
    }
    if (avail - PROTO_HDR < len)
        return 0;
    body = (const char *)buf + PROTO_HDR;
    m = cJSON_ParseWithLengthOpts(body, len, &end, 0);
    if (m == NULL) {
        errf(err, errlen, "frame of %u bytes is not valid JSON", len);
        return -1;
    }
    /* The frame holds exactly one value: anything after it but
     * whitespace is a malformed frame, not a second message. */
    while (end < body + len &&
           (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r'))
        end++;
    if (end != body + len) {
        cJSON_Delete(m);
        errf(err, errlen, "frame has bytes after its JSON object");
        return -1;
    }
    if (!cJSON_IsObject(m)) {
        cJSON_Delete(m);
        errf(err, errlen, "frame is JSON but not an object");
        return -1;
    }
    type = cJSON_GetObjectItemCaseSensitive(m, "type");
    if (!cJSON_IsString(type) || type->valuestring[0] == '\0') {
        cJSON_Delete(m);
        errf(err, errlen, "message has no string \"type\"");
        return -1;
    }
    *msg = m;
    *used = PROTO_HDR + (size_t)len;
    return 1;
}

int
proto_send(int fd, const cJSON *msg)
{
    char *buf;
    size_t len;
    int rc;

    if (proto_encode(msg, &buf, &len) == -1)
        return -1;
    rc = fdio_write_full(fd, buf, len);
    free(buf);
    return rc;
}

void
proto_reader_init(struct proto_reader *r)
{
    memset(r, 0, sizeof(*r));
}

void
proto_reader_fini(struct proto_reader *r)
{
    if (r == NULL)
        return;
    free(r->buf);
    memset(r, 0, sizeof(*r));
}

#define PROTO_READ_CHUNK 65536u

long
proto_reader_fill(struct proto_reader *r, int fd)
{
    ssize_t n;

    /* Never buffer more than one maximal frame plus one read. */
    if (r->cap - r->len < PROTO_READ_CHUNK) {
        size_t ncap = r->cap == 0 ? PROTO_READ_CHUNK * 2 : r->cap * 2;
        uint8_t *nb;
        if (ncap > PROTO_MAX_FRAME + PROTO_HDR + PROTO_READ_CHUNK)
            ncap = PROTO_MAX_FRAME + PROTO_HDR + PROTO_READ_CHUNK;
        if (ncap <= r->len) {
            errno = EMSGSIZE;
            return -1;
        }
        nb = realloc(r->buf, ncap);
        if (nb == NULL)
            return -1;
        r->buf = nb;
        r->cap = ncap;
    }
    n = fdio_read_some(fd, r->buf + r->len, r->cap - r->len);
    if (n > 0)
        r->len += (size_t)n;
    return (long)n;
}

int
proto_reader_next(struct proto_reader *r, cJSON **msg, char *err, size_t errlen)
{
    size_t used = 0;
    int rc = proto_decode(r->buf, r->len, &used, msg, err, errlen);
    if (rc == 1) {
        memmove(r->buf, r->buf + used, r->len - used);
        r->len -= used;
    }
    return rc;
}

const char *
proto_type(const cJSON *msg)
{
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(msg, "type");
    return cJSON_IsString(t) ? t->valuestring : "";
}
