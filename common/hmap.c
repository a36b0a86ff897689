/*
 * hmap.c - see hmap.h.
 */
#include "common/hmap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define HMAP_MIN_CAP 16
#define HMAP_FNV_OFFSET 0xcbf29ce484222325ull
#define HMAP_FNV_PRIME 0x100000001b3ull
/* splitmix64's finaliser: neighbouring keys (sessions 1, 2, 3...) land far
 * apart. */
#define HMAP_MIX1 0xbf58476d1ce4e5b9ull
#define HMAP_MIX2 0x94d049bb133111ebull

static uint64_t
hmap_mix(uint64_t x)
{
    x ^= x >> 30;
    x *= HMAP_MIX1;
    x ^= x >> 27;
    x *= HMAP_MIX2;
    x ^= x >> 31;
    return x;
}

uint64_t
hmap_hash_str(const char *s)
{
    uint64_t h = HMAP_FNV_OFFSET;
    for (; *s != '\0'; s++) {
        h ^= (unsigned char)*s;
        h *= HMAP_FNV_PRIME;
    }
    return hmap_mix(h);
}

void
hmap_init(struct hmap *m)
{
    m->slots = NULL;
    m->cap = 0;
    m->n = 0;
}

void
hmap_fini(struct hmap *m)
{
    free(m->slots);
    hmap_init(m);
}

static int
hmap_match(const struct hmap_slot *s, uint64_t hash, const char *skey)
{
    return s->hash == hash &&
           (skey == NULL || (s->skey != NULL && strcmp(s->skey, skey) == 0));
}

/* The slot holding the key, or the free slot where it would go. */
static size_t
hmap_find(const struct hmap *m, uint64_t hash, const char *skey)
{
    size_t mask = m->cap - 1, i = hmap_mix(hash) & mask;
    while (m->slots[i].val != NULL && !hmap_match(&m->slots[i], hash, skey))
        i = (i + 1) & mask;
    return i;
}

static int
hmap_grow(struct hmap *m)
{
    size_t cap = m->cap != 0 ? 2 * m->cap : HMAP_MIN_CAP;
    struct hmap_slot *old = m->slots, *slots = calloc(cap, sizeof(*slots));
    size_t oldcap = m->cap;
    if (slots == NULL) {
        errno = ENOMEM;
        return -1;
    }
    m->slots = slots;
    m->cap = cap;
    for (size_t i = 0; i < oldcap; i++)
        if (old[i].val != NULL)
            m->slots[hmap_find(m, old[i].hash, old[i].skey)] = old[i];
    free(old);
    return 0;
}

static void *
hmap_get(const struct hmap *m, uint64_t hash, const char *skey)
{
    if (m->n == 0)
        return NULL;
    return m->slots[hmap_find(m, hash, skey)].val;
}

static int
hmap_put(struct hmap *m, uint64_t hash, const char *skey, void *val)
{
    size_t i;
    if ((m->n + 1) * 2 > m->cap && hmap_grow(m) == -1)
        return -1;
    i = hmap_find(m, hash, skey);
    if (m->slots[i].val == NULL)
        m->n++;
    m->slots[i].hash = hash;
    m->slots[i].skey = skey;
    m->slots[i].val = val;
    return 0;
}

/* Backward-shift deletion: the entries after the hole that probed past it
 * move back, so every entry stays reachable from its home slot. */
static void *
hmap_del(struct hmap *m, uint64_t hash, const char *skey)
{
    size_t mask, i, j;
    void *val;
    if (m->n == 0)
        return NULL;
    mask = m->cap - 1;
    i = hmap_find(m, hash, skey);
    val = m->slots[i].val;
    if (val == NULL)
        return NULL;
    for (j = (i + 1) & mask; m->slots[j].val != NULL; j = (j + 1) & mask) {
        size_t home = hmap_mix(m->slots[j].hash) & mask;
        /* j's entry may fill the hole at i unless its home lies
         * cyclically in (i, j]. */
        if (((j - home) & mask) >= ((j - i) & mask)) {
            m->slots[i] = m->slots[j];
            i = j;
        }
    }
    m->slots[i].val = NULL;
    m->slots[i].skey = NULL;
    m->n--;
    return val;
}

void *
hmap_get_u64(const struct hmap *m, uint64_t key)
{
    return hmap_get(m, key, NULL);
}

int
hmap_put_u64(struct hmap *m, uint64_t key, void *val)
{
    return hmap_put(m, key, NULL, val);
}

void *
hmap_del_u64(struct hmap *m, uint64_t key)
{
    return hmap_del(m, key, NULL);
}

void *
hmap_get_str(const struct hmap *m, const char *key)
{
    return hmap_get(m, hmap_hash_str(key), key);
}

int
hmap_put_str(struct hmap *m, const char *key, void *val)
{
    return hmap_put(m, hmap_hash_str(key), key, val);
}

void *
hmap_del_str(struct hmap *m, const char *key)
{
    return hmap_del(m, hmap_hash_str(key), key);
}
