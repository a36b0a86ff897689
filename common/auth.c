/*
 * auth.c - see auth.h.
 */
#include "common/auth.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "common/err.h"
#include "common/fsutil.h"
#include "common/hash.h"
#include "common/ident.h"

#define AUTH_NONCE_BYTES (AUTH_NONCE_HEX / 2)

int
auth_load(const char *path, struct auth_secret *s, char *err, size_t errlen)
{
    char *buf = NULL;
    size_t len = 0;
    if (fs_read_max(path, AUTH_SECRET_MAX, &buf, &len) == -1) {
        errf(err, errlen, "secret %s: %s", path, strerror(errno));
        return -1;
    }
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
        len--;
    if (len < AUTH_SECRET_MIN) {
        errf(err, errlen, "secret %s: shorter than %d bytes", path,
             AUTH_SECRET_MIN);
        free(buf);
        return -1;
    }
    memcpy(s->key, buf, len);
    s->len = len;
    OPENSSL_cleanse(buf, len);
    free(buf);
    return 0;
}

int
auth_nonce(char *hex)
{
    unsigned char b[AUTH_NONCE_BYTES];
    if (RAND_bytes(b, sizeof(b)) != 1)
        return -1;
    hash_hex(b, sizeof(b), hex);
    return 0;
}

void
auth_mac(const struct auth_secret *s, const char *nonce, char *hex)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    HMAC(EVP_sha256(), s->key, (int)s->len, (const unsigned char *)nonce,
         strlen(nonce), md, &mdlen);
    hash_hex(md, mdlen, hex);
}

int
auth_check(const struct auth_secret *s, const char *nonce, const char *mac)
{
    char want[AUTH_MAC_HEX + 1];
    if (strlen(mac) != AUTH_MAC_HEX)
        return 0;
    auth_mac(s, nonce, want);
    return CRYPTO_memcmp(want, mac, AUTH_MAC_HEX) == 0;
}

void
auth_session_key(const struct auth_secret *s, const char *nonce,
                 const char *node, unsigned char *key)
{
    static const char label[] = "framefarm session";
    unsigned char buf[sizeof(label) + AUTH_NONCE_HEX + 1 + IDENT_MAX + 1];
    unsigned mdlen = AUTH_KEY_LEN;
    size_t n = 0, ln = strnlen(nonce, AUTH_NONCE_HEX),
           nn = strnlen(node, IDENT_MAX);
    memcpy(buf, label, sizeof(label)); /* with its NUL */
    n += sizeof(label);
    memcpy(buf + n, nonce, ln);
    n += ln;
    buf[n++] = '\0';
    memcpy(buf + n, node, nn);
    n += nn;
    if (HMAC(EVP_sha256(), s->key, (int)s->len, buf, n, key, &mdlen) == NULL)
        memset(key, 0, AUTH_KEY_LEN);
}
