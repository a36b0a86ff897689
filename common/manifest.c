/*
 * manifest.c - see manifest.h.
 */
#include "common/manifest.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/fsutil.h"
#include "common/jsonutil.h"
#include "common/proto.h"

struct manifest *
manifest_new(void)
{
    return calloc(1, sizeof(struct manifest));
}

void
manifest_free(struct manifest *m)
{
    if (m == NULL)
        return;
    for (size_t i = 0; i < m->count; i++)
        free(m->frames[i].name);
    free(m->frames);
    free(m->zip);
    free(m);
}

int
manifest_alloc_frames(struct manifest *m, size_t count)
{
    if (count == 0 || count > MANIFEST_MAX_FRAMES) {
        errno = EINVAL;
        return -1;
    }
    m->frames = calloc(count, sizeof(*m->frames));
    if (m->frames == NULL)
        return -1;
    m->count = count;
    return 0;
}

int
manifest_set_frame(struct manifest *m, size_t i, const char *name,
                   uint64_t size, uint32_t crc)
{
    char *copy = strdup(name);
    if (copy == NULL)
        return -1;
    free(m->frames[i].name);
    m->frames[i].name = copy;
    m->frames[i].size = size;
    m->frames[i].crc = crc;
    return 0;
}

int
manifest_set_zip(struct manifest *m, const char *zip)
{
    char *copy = strdup(zip);
    if (copy == NULL)
        return -1;
    free(m->zip);
    m->zip = copy;
    return 0;
}

cJSON *
manifest_to_json(const struct manifest *m)
{
    cJSON *o = cJSON_CreateObject(), *frames, *enc;
    int timed = m->enc.timing == ENC_TIMING_TIMESTAMPS;

    if (o == NULL)
        return NULL;
    if (json_add_u64(o, "version",
                     timed ? MANIFEST_VERSION_TIMESTAMPS : MANIFEST_VERSION) ==
            NULL ||
        cJSON_AddStringToObject(o, "job", m->job) == NULL ||
        json_add_u64(o, "set", m->set) == NULL ||
        json_add_u64(o, "sets", m->sets) == NULL ||
        json_add_u64(o, "epoch", m->epoch) == NULL ||
        cJSON_AddStringToObject(o, "zip", m->zip) == NULL ||
        json_add_u64(o, "first", m->first) == NULL ||
        json_add_u64(o, "total", m->total) == NULL)
        goto fail;
    enc = encparams_to_json(&m->enc);
    if (enc == NULL)
        goto fail;
    cJSON_AddItemToObject(o, "encode", enc);
    frames = cJSON_AddArrayToObject(o, "frames");
    if (frames == NULL)
        goto fail;
    for (size_t i = 0; i < m->count; i++) {
        cJSON *f = cJSON_CreateObject();
        if (f == NULL)
            goto fail;
        cJSON_AddItemToArray(frames, f);
        if (cJSON_AddStringToObject(f, "name", m->frames[i].name) == NULL ||
            json_add_u64(f, "size", m->frames[i].size) == NULL ||
            json_add_u64(f, "crc", m->frames[i].crc) == NULL ||
            (timed && json_add_u64(f, "pts", m->frames[i].pts) == NULL))
            goto fail;
    }
    return o;
fail:
    cJSON_Delete(o);
    return NULL;
}

char *
manifest_to_text(const struct manifest *m)
{
    cJSON *o = manifest_to_json(m);
    char *s = o != NULL ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    return s;
}

/* Frame i's pts: there, and after the frame before's, exactly when the
 * timing is timestamps. 0, or -1. */
static int
manifest_frame_pts(const cJSON *f, struct manifest *m, size_t i)
{
    if (m->enc.timing != ENC_TIMING_TIMESTAMPS)
        return cJSON_GetObjectItemCaseSensitive(f, "pts") == NULL ? 0 : -1;
    if (json_u64(f, "pts", MANIFEST_MAX_PTS, &m->frames[i].pts) == -1)
        return -1;
    return i == 0 || m->frames[i].pts > m->frames[i - 1].pts ? 0 : -1;
}

static int
manifest_frames_from_json(const cJSON *arr, struct manifest *m, char *err,
                          size_t errlen)
{
    int n = cJSON_GetArraySize(arr);
    size_t i = 0;
    const cJSON *f;

    if (n <= 0 || (size_t)n > MANIFEST_MAX_FRAMES) {
        errf(err, errlen, "frames: %d entries, need 1..%u", n,
             MANIFEST_MAX_FRAMES);
        return -1;
    }
    if (manifest_alloc_frames(m, (size_t)n) == -1) {
        errf(err, errlen, "frames: %s", strerror(errno));
        return -1;
    }
    cJSON_ArrayForEach(f, arr)
    {
        const char *name = json_str(f, "name");
        uint64_t size, crc;
        if (name == NULL || strlen(name) > MANIFEST_MAX_NAME ||
            !fs_relpath_is_safe(name)) {
            errf(err, errlen, "frame %zu: name missing or unsafe", i);
            return -1;
        }
        if (json_u64(f, "size", MANIFEST_MAX_FRAME_BYTES, &size) == -1 ||
            size == 0 || json_u64(f, "crc", UINT32_MAX, &crc) == -1) {
            errf(err, errlen, "frame %zu: size or crc missing or bad", i);
            return -1;
        }
        if (manifest_set_frame(m, i, name, size, (uint32_t)crc) == -1) {
            errf(err, errlen, "frame %zu: %s", i, strerror(errno));
            return -1;
        }
        if (manifest_frame_pts(f, m, i) == -1) {
            errf(err, errlen,
                 "frame %zu: pts missing, bad or not after the frame "
                 "before (timing %s)",
                 i, encparams_timing_name(m->enc.timing));
            return -1;
        }
        i++;
    }
    return 0;
}

int
manifest_from_json(const cJSON *o, struct manifest **out, char *err,
                   size_t errlen)
{
    struct manifest *m = NULL;
    const char *job, *zip;
    uint64_t version, set, sets, epoch, first, total;
    int rc = -1;

    if (!cJSON_IsObject(o)) {
        errf(err, errlen, "manifest is not a JSON object");
        goto out;
    }
    if (json_u64(o, "version", UINT32_MAX, &version) == -1 ||
        (version != MANIFEST_VERSION &&
         version != MANIFEST_VERSION_TIMESTAMPS)) {
        errf(err, errlen, "manifest version missing or not %d or %d",
             MANIFEST_VERSION, MANIFEST_VERSION_TIMESTAMPS);
        goto out;
    }
    job = json_str(o, "job");
    if (job == NULL || !ident_is_valid(job)) {
        errf(err, errlen, "manifest job id missing or invalid");
        goto out;
    }
    zip = json_str(o, "zip");
    if (zip == NULL || !fs_relpath_is_safe(zip)) {
        errf(err, errlen, "manifest zip path missing, absolute or has ..");
        goto out;
    }
    if (json_u64(o, "sets", MANIFEST_MAX_SETS, &sets) == -1 || sets == 0 ||
        json_u64(o, "set", MANIFEST_MAX_SETS, &set) == -1 || set >= sets) {
        errf(err, errlen, "manifest set id missing or not below sets");
        goto out;
    }
    if (json_u64(o, "epoch", PROTO_MAX_EPOCH, &epoch) == -1 ||
        json_u64(o, "first", UINT32_MAX, &first) == -1 ||
        json_u64(o, "total", UINT32_MAX, &total) == -1) {
        errf(err, errlen, "manifest epoch, first or total missing or bad");
        goto out;
    }
    m = manifest_new();
    if (m == NULL) {
        errf(err, errlen, "out of memory");
        goto out;
    }
    snprintf(m->job, sizeof(m->job), "%s", job);
    m->set = (uint32_t)set;
    m->sets = (uint32_t)sets;
    m->epoch = epoch;
    m->first = first;
    m->total = total;
    if (manifest_set_zip(m, zip) == -1) {
        errf(err, errlen, "out of memory");
        goto out;
    }
    if (encparams_from_json(cJSON_GetObjectItemCaseSensitive(o, "encode"),
                            &m->enc, err, errlen) == -1)
        goto out;
    if ((version == MANIFEST_VERSION_TIMESTAMPS) !=
        (m->enc.timing == ENC_TIMING_TIMESTAMPS)) {
        errf(err, errlen, "manifest version %llu with timing %s",
             (unsigned long long)version, encparams_timing_name(m->enc.timing));
        goto out;
    }
    if (manifest_frames_from_json(cJSON_GetObjectItemCaseSensitive(o, "frames"),
                                  m, err, errlen) == -1)
        goto out;
    if (m->first + m->count > m->total) {
        errf(err, errlen, "frames %llu..%llu exceed the job's %llu frames",
             (unsigned long long)m->first,
             (unsigned long long)(m->first + m->count),
             (unsigned long long)m->total);
        goto out;
    }
    *out = m;
    m = NULL;
    rc = 0;
out:
    manifest_free(m);
    return rc;
}

int
manifest_from_text(const char *text, size_t len, struct manifest **out,
                   char *err, size_t errlen)
{
    cJSON *o;
    int rc;
    if (len == 0 || len > MANIFEST_MAX_BYTES) {
        errf(err, errlen, "manifest of %zu bytes outside 1..%u", len,
             MANIFEST_MAX_BYTES);
        return -1;
    }
    o = cJSON_ParseWithLength(text, len);
    if (o == NULL) {
        errf(err, errlen, "manifest is not valid JSON");
        return -1;
    }
    rc = manifest_from_json(o, out, err, errlen);
    cJSON_Delete(o);
    return rc;
}
