/*
 * auth.h - shared-secret node authentication: the ambassador sends a random
 * nonce, the node answers HMAC-SHA256(secret, nonce). The secret lives in a
 * file on each machine, never on the share. Any thread.
 */
#ifndef FF_AUTH_H
#define FF_AUTH_H

#include <stddef.h>

#define AUTH_SECRET_MAX 4096
#define AUTH_SECRET_MIN 16
#define AUTH_NONCE_HEX 64
#define AUTH_MAC_HEX 64

struct auth_secret {
    unsigned char key[AUTH_SECRET_MAX];
    size_t len;
};

/* Read the secret (trailing newline dropped). 0, or -1 with err. */
int auth_load(const char *path, struct auth_secret *s, char *err,
              size_t errlen);
/* A fresh random nonce as hex (AUTH_NONCE_HEX + 1 bytes). 0, or -1. */
int auth_nonce(char *hex);
void auth_mac(const struct auth_secret *s, const char *nonce, char *hex);
/* 1 when mac is right for nonce (constant-time compare), else 0. */
int auth_check(const struct auth_secret *s, const char *nonce, const char *mac);
#define AUTH_KEY_LEN 32
/* The session key both ends derive once the hello is sent and checked:
 * HMAC-SHA256(secret, "framefarm session" NUL nonce NUL node). */
void auth_session_key(const struct auth_secret *s, const char *nonce,
                      const char *node, unsigned char *key);

#endif
