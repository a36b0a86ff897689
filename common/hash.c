/*
 * hash.c - see hash.h.
 */
#include "common/hash.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <zlib.h>

#include "common/fdio.h"
#include "common/fsutil.h"

#define HASH_CHUNK (1u << 20)

void
hash_hex(const unsigned char *md, size_t n, char *hex)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        hex[2 * i] = digits[md[i] >> 4];
        hex[2 * i + 1] = digits[md[i] & 0xf];
    }
    hex[2 * n] = '\0';
}

int
hash_sha256_file(const char *path, char *hex, uint64_t *size)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    uint64_t total = 0;
    EVP_MD_CTX *ctx = NULL;
    struct stat st;
    char *buf = NULL;
    int fd, rc = -1, saved;

    /* The file may come from an untrusted writer. */
    fd = fs_open_regular(path, &st);
    if (fd == -1)
        return -1;
    buf = malloc(HASH_CHUNK);
    ctx = EVP_MD_CTX_new();
    if (buf == NULL || ctx == NULL ||
        EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
        errno = ENOMEM;
        goto out;
    }
    for (;;) {
        ssize_t n = fdio_read_some(fd, buf, HASH_CHUNK);
        if (n == -1)
            goto out;
        if (n == 0)
            break;
        total += (uint64_t)n;
        if (EVP_DigestUpdate(ctx, buf, (size_t)n) != 1) {
            errno = EIO;
            goto out;
        }
    }
    if (EVP_DigestFinal_ex(ctx, md, &mdlen) != 1) {
        errno = EIO;
        goto out;
    }
    hash_hex(md, mdlen, hex);
    if (size != NULL)
        *size = total;
    rc = 0;
out:
    saved = errno;
    EVP_MD_CTX_free(ctx);
    free(buf);
    close(fd);
    errno = saved;
    return rc;
}

void
hash_sha256_buf(const void *buf, size_t len, char *hex)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    EVP_Digest(buf, len, md, &mdlen, EVP_sha256(), NULL);
    hash_hex(md, mdlen, hex);
}

uint32_t
hash_crc32(const void *buf, size_t len)
{
    uLong c = crc32(0L, Z_NULL, 0);
    const Bytef *p = buf;
    while (len > 0) {
        uInt n = len > (1u << 30) ? (1u << 30) : (uInt)len;
        c = crc32(c, p, n);
        p += n;
        len -= n;
    }
    return (uint32_t)c;
}
