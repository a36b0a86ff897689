/*
 * hmap.h - a hash map from a key to a borrowed pointer: open addressing
 * with linear probing and backward-shift deletion (no tombstones), grown
 * to keep at most half of its slots used. A map's keys are all u64 (a
 * session number) or all strings (a node name); a string key is borrowed:
 * it must stay valid and unchanged while its entry is in the map (e.g. a
 * name stored in the value itself). Lookups, inserts and removals are
 * O(1) on average. Not thread-safe: one owner.
 */
#ifndef FF_HMAP_H
#define FF_HMAP_H

#include <stddef.h>
#include <stdint.h>

struct hmap_slot {
    uint64_t hash; /* the u64 key itself, or a string key's hash */
    const char *skey;
    void *val; /* NULL: the slot is free */
};

struct hmap {
    struct hmap_slot *slots;
    size_t cap; /* a power of two, or 0 before the first insert */
    size_t n;
};

void hmap_init(struct hmap *m);
void hmap_fini(struct hmap *m); /* the values are not freed */

/* The value for key, or NULL. */
void *hmap_get_u64(const struct hmap *m, uint64_t key);
/* Map key to val (not NULL), replacing any value it had. 0, or -1 with
 * errno ENOMEM (the map is unchanged). */
int hmap_put_u64(struct hmap *m, uint64_t key, void *val);
/* Remove key; its value, or NULL when it had none. */
void *hmap_del_u64(struct hmap *m, uint64_t key);

void *hmap_get_str(const struct hmap *m, const char *key);
int hmap_put_str(struct hmap *m, const char *key, void *val);
void *hmap_del_str(struct hmap *m, const char *key);

/* 64-bit FNV-1a of a string, mixed: the hash a string key gets. */
uint64_t hmap_hash_str(const char *s);

#endif
