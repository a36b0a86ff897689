/*
 * proto.c - see proto.h.
 */
#include "common/proto.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "common/err.h"
#include "common/fdio.h"

#define PROTO_SEQ_BYTES 8

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

/* One frame's body: exactly one JSON object with a string "type". 1 with
 * *msg, or -1 with err. */
static int
proto_body(const char *body, uint32_t len, cJSON **msg, char *err,
           size_t errlen)
{
    const char *end = NULL;
    cJSON *m, *type;

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
    return 1;
}

/* The length of the frame at buf: 1 with *len, 0 when more bytes are
 * needed, -1 when out of range. */
static int
proto_frame_len(const uint8_t *buf, size_t avail, uint32_t *len, char *err,
                size_t errlen)
{
    if (avail < PROTO_HDR)
        return 0;
    *len = (uint32_t)buf[0] << 24 | (uint32_t)buf[1] << 16 |
           (uint32_t)buf[2] << 8 | (uint32_t)buf[3];
    if (*len == 0 || *len > PROTO_MAX_FRAME) {
        errf(err, errlen, "frame length %u outside 1..%u", *len,
             PROTO_MAX_FRAME);
        return -1;
    }
    return avail - PROTO_HDR < *len ? 0 : 1;
}

int
proto_decode(const uint8_t *buf, size_t avail, size_t *used, cJSON **msg,
             char *err, size_t errlen)
{
    uint32_t len;
    int r;

    *msg = NULL;
    if ((r = proto_frame_len(buf, avail, &len, err, errlen)) != 1)
        return r;
    if (proto_body((const char *)buf + PROTO_HDR, len, msg, err, errlen) == -1)
        return -1;
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

cJSON *
proto_msg_new(const char *type)
{
    cJSON *m = cJSON_CreateObject();
    if (m == NULL || cJSON_AddStringToObject(m, "type", type) == NULL) {
        cJSON_Delete(m);
        return NULL;
    }
    return m;
}

/* HMAC-SHA256 under k of (direction, sequence number, body). 0, or -1
 * (out of memory). */
static int
proto_mac(const struct proto_key *k, char dir, uint64_t seq,
          const uint8_t *body, size_t len, unsigned char *mac)
{
    unsigned int maclen = PROTO_MAC_LEN;
    unsigned char *in = malloc(1 + PROTO_SEQ_BYTES + len);
    int rc = 0;
    if (in == NULL)
        return -1;
    in[0] = (unsigned char)dir;
    for (int i = 0; i < PROTO_SEQ_BYTES; i++)
        in[1 + i] = (unsigned char)(seq >> (8 * i));
    memcpy(in + 1 + PROTO_SEQ_BYTES, body, len);
    if (HMAC(EVP_sha256(), k->key, PROTO_MAC_LEN, in, 1 + PROTO_SEQ_BYTES + len,
             mac, &maclen) == NULL)
        rc = -1;
    free(in);
    return rc;
}

void
proto_key_start(struct proto_key *k, const unsigned char *key, int ambassador)
{
    memcpy(k->key, key, PROTO_MAC_LEN);
    k->on = 1;
    k->tx = k->rx = 0;
    k->tx_dir = ambassador ? PROTO_DIR_AMB : PROTO_DIR_NODE;
    k->rx_dir = ambassador ? PROTO_DIR_NODE : PROTO_DIR_AMB;
}

int
proto_send_keyed(int fd, struct proto_key *k, const cJSON *msg)
{
    char *buf, *grown;
    size_t len;
    uint32_t n;
    int rc;

    if (!k->on)
        return proto_send(fd, msg);
    if (proto_encode(msg, &buf, &len) == -1)
        return -1;
    n = (uint32_t)(len - PROTO_HDR);
    if (n + PROTO_MAC_LEN > PROTO_MAX_FRAME ||
        (grown = realloc(buf, len + PROTO_MAC_LEN)) == NULL) {
        free(buf);
        errno = EMSGSIZE;
        return -1;
    }
    buf = grown;
    if (proto_mac(k, k->tx_dir, k->tx++, (const uint8_t *)buf + PROTO_HDR, n,
                  (unsigned char *)buf + len) == -1) {
        free(buf);
        errno = ENOMEM;
        return -1;
    }
    n += PROTO_MAC_LEN;
    buf[0] = (char)(n >> 24 & 0xff);
    buf[1] = (char)(n >> 16 & 0xff);
    buf[2] = (char)(n >> 8 & 0xff);
    buf[3] = (char)(n & 0xff);
    rc = fdio_write_full(fd, buf, len + PROTO_MAC_LEN);
    free(buf);
    return rc;
}

int
proto_decode_keyed(const uint8_t *buf, size_t avail, struct proto_key *k,
                   size_t *used, cJSON **msg, char *err, size_t errlen)
{
    unsigned char mac[PROTO_MAC_LEN];
    uint32_t len;
    int r;

    if (!k->on)
        return proto_decode(buf, avail, used, msg, err, errlen);
    *msg = NULL;
    if ((r = proto_frame_len(buf, avail, &len, err, errlen)) != 1)
        return r;
    if (len > PROTO_MAC_LEN && proto_mac(k, k->rx_dir, k->rx, buf + PROTO_HDR,
                                         len - PROTO_MAC_LEN, mac) == 0) {
        if (CRYPTO_memcmp(mac, buf + PROTO_HDR + len - PROTO_MAC_LEN,
                          PROTO_MAC_LEN) == 0) {
            if (proto_body((const char *)buf + PROTO_HDR, len - PROTO_MAC_LEN,
                           msg, err, errlen) == -1)
                return -1;
            k->rx++;
            *used = PROTO_HDR + (size_t)len;
            return 1;
        }
    }
    /* Not signed under the session key: forged, replayed, reordered, or
     * a plain "error" sent before the key (a refusal). Only the last is
     * taken, and only to end the session. */
    if (proto_body((const char *)buf + PROTO_HDR, len, msg, err, errlen) == 1) {
        if (strcmp(proto_type(*msg), MSG_ERROR) == 0) {
            *used = PROTO_HDR + (size_t)len;
            return 1;
        }
        cJSON_Delete(*msg);
        *msg = NULL;
    }
    errf(err, errlen,
         "a frame is not signed with the session key (forged, replayed or "
         "out of order)");
    return -1;
}

int
proto_reader_next_keyed(struct proto_reader *r, struct proto_key *k,
                        cJSON **msg, char *err, size_t errlen)
{
    size_t used = 0;
    int rc = proto_decode_keyed(r->buf, r->len, k, &used, msg, err, errlen);
    if (rc == 1) {
        memmove(r->buf, r->buf + used, r->len - used);
        r->len -= used;
    }
    return rc;
}
