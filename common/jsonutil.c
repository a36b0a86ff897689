/*
 * jsonutil.c - see jsonutil.h.
 */
#include "common/jsonutil.h"

#include <math.h>
#include <string.h>

#define JSON_EXACT_MAX 9007199254740991.0 /* 2^53 - 1 */

const char *
json_str(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

int
json_u64(const cJSON *o, const char *k, uint64_t max, uint64_t *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    double d;

    if (!cJSON_IsNumber(v))
        return -1;
    d = v->valuedouble;
    if (!isfinite(d) || d < 0 || d > JSON_EXACT_MAX || d != floor(d) ||
        d > (double)max)
        return -1;
    *out = (uint64_t)d;
    return 0;
}

int
json_bool(const cJSON *o, const char *k, int *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!cJSON_IsBool(v))
        return -1;
    *out = cJSON_IsTrue(v) ? 1 : 0;
    return 0;
}

int
json_strcpy(const cJSON *o, const char *k, char *out, size_t cap)
{
    const char *s = json_str(o, k);
    size_t n;
    if (s == NULL)
        return -1;
    n = strlen(s);
    if (n >= cap)
        return -1;
    memcpy(out, s, n + 1);
    return 0;
}

cJSON *
json_add_u64(cJSON *o, const char *k, uint64_t v)
{
    return cJSON_AddNumberToObject(o, k, (double)v);
}
