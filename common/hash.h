/*
 * hash.h - SHA-256 (OpenSSL's libcrypto) and CRC-32 (zlib). Any thread.
 */
#ifndef FF_HASH_H
#define FF_HASH_H

#include <stddef.h>
#include <stdint.h>

#define HASH_HEX_LEN 64 /* sha256 as lowercase hex, without the NUL */

/* sha256 of a whole regular file into hex[HASH_HEX_LEN + 1]; also its
 * size. Symlinks and FIFOs are refused (EINVAL/ELOOP). 0, or -1 + errno. */
int hash_sha256_file(const char *path, char *hex, uint64_t *size);
void hash_sha256_buf(const void *buf, size_t len, char *hex);
/* n bytes as lowercase hex into hex[2n + 1]. */
void hash_hex(const unsigned char *b, size_t n, char *hex);
uint32_t hash_crc32(const void *buf, size_t len);

#endif
