/*
 * nodenames.c - see nodenames.h.
 */
#include "coordinator/nodenames.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/ident.h"

#define NODENAMES_PEER_MAX 64
#define NODENAMES_MIN 16

struct nodenames_entry {
    char name[IDENT_MAX + 1];
    char peer[NODENAMES_PEER_MAX];
    uint64_t session;
};

struct nodenames {
    pthread_mutex_t mu;
    struct nodenames_entry *e;
    size_t n, cap;
};

struct nodenames *
nodenames_new(void)
{
    struct nodenames *n = calloc(1, sizeof(*n));
    if (n != NULL)
        pthread_mutex_init(&n->mu, NULL);
    return n;
}

void
nodenames_free(struct nodenames *n)
{
    if (n == NULL)
        return;
    pthread_mutex_destroy(&n->mu);
    free(n->e);
    free(n);
}

int
nodenames_claim(struct nodenames *n, const char *name, uint64_t session,
                const char *peer, char *holder, size_t holderlen)
{
    int rc = 0;
    if (n == NULL)
        return 0;
    pthread_mutex_lock(&n->mu);
    for (size_t i = 0; i < n->n; i++) {
        if (strcmp(n->e[i].name, name) == 0 && n->e[i].session != session) {
            snprintf(holder, holderlen, "%s", n->e[i].peer);
            rc = -1;
            goto out;
        }
    }
    if (n->n == n->cap) {
        size_t cap = n->cap ? 2 * n->cap : NODENAMES_MIN;
        struct nodenames_entry *ne = realloc(n->e, cap * sizeof(*ne));
        if (ne == NULL) {
            snprintf(holder, holderlen, "%s", "");
            rc = -1;
            goto out;
        }
        n->e = ne;
        n->cap = cap;
    }
    snprintf(n->e[n->n].name, sizeof(n->e[n->n].name), "%s", name);
    snprintf(n->e[n->n].peer, sizeof(n->e[n->n].peer), "%s", peer);
    n->e[n->n].session = session;
    n->n++;
out:
    pthread_mutex_unlock(&n->mu);
    return rc;
}

void
nodenames_release(struct nodenames *n, const char *name, uint64_t session)
{
    if (n == NULL)
        return;
    pthread_mutex_lock(&n->mu);
    for (size_t i = 0; i < n->n; i++) {
        if (n->e[i].session == session && strcmp(n->e[i].name, name) == 0) {
            n->e[i] = n->e[--n->n];
            break;
        }
    }
    pthread_mutex_unlock(&n->mu);
}
