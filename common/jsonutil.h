/*
 * jsonutil.h - typed getters for cJSON objects from untrusted sources:
 * each returns "absent or wrong type" instead of trusting the document.
 * Case-sensitive keys only. Any thread.
 */
#ifndef FF_JSONUTIL_H
#define FF_JSONUTIL_H

#include <stdint.h>

#include <cjson/cJSON.h>

/* NULL unless o[k] is a JSON string. */
const char *json_str(const cJSON *o, const char *k);
/* 0 and *v set when o[k] is an integral number in [0, max]; else -1. */
int json_u64(const cJSON *o, const char *k, uint64_t max, uint64_t *v);
/* 0 and *v set when o[k] is a boolean; else -1. */
int json_bool(const cJSON *o, const char *k, int *v);
/* Copy o[k] (a string of length < cap) into out; else -1. */
int json_strcpy(const cJSON *o, const char *k, char *out, size_t cap);
/* Add a number that fits a double exactly (< 2^53); NULL on failure. */
cJSON *json_add_u64(cJSON *o, const char *k, uint64_t v);

#endif
