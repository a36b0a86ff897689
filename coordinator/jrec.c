/*
 * jrec.c - see jrec.h.
 */
#include "coordinator/jrec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "common/err.h"
#include "common/jsonutil.h"
#include "common/manifest.h"
#include "common/proto.h"

#define JREC_MAX_EPOCH PROTO_MAX_EPOCH
#define JREC_MAX_GEN UINT32_MAX
#define JREC_MAX_EPOCH_BASE PROTO_MAX_EPOCH

static const char *const jrec_names[] = {
    [JREC_JOB] = "job",         [JREC_GEN] = "gen",
    [JREC_ASSIGN] = "assign",   [JREC_FAIL] = "fail",
    [JREC_RECLAIM] = "reclaim", [JREC_UNASSIGN] = "unassign",
    [JREC_ACCEPT] = "accept",   [JREC_REJECT] = "reject",
    [JREC_CONCAT] = "concat",   [JREC_SET] = "set",
    [JREC_LOST] = "lost",
};

/* s, or "" for NULL (a set_info made by hand). */
static const char *
jrec_str(const char *s)
{
    return s != NULL ? s : "";
}

char *
jrec_encode(const struct jrec *r)
{
    cJSON *o = cJSON_CreateObject();
    char *s = NULL;
    if (o == NULL)
        return NULL;
    cJSON_AddStringToObject(o, "t", jrec_names[r->type]);
    switch (r->type) {
    case JREC_JOB:
        cJSON_AddStringToObject(o, "job", r->job);
        json_add_u64(o, "sets", r->sets);
        json_add_u64(o, "frames", r->frames);
        json_add_u64(o, "gen", r->gen);
        if (r->input[0] != '\0')
            cJSON_AddStringToObject(o, "input", r->input);
        if (r->epoch != 0)
            json_add_u64(o, "epoch_base", r->epoch);
        break;
    case JREC_GEN:
        json_add_u64(o, "gen", r->gen);
        break;
    case JREC_CONCAT:
        json_add_u64(o, "done", (uint64_t)r->done);
        json_add_u64(o, "frames", r->frames);
        break;
    case JREC_SET: {
        char st[2] = {(char)r->info.status, '\0'};
        cJSON *fo;
        json_add_u64(o, "set", r->set);
        cJSON_AddStringToObject(o, "status", st);
        json_add_u64(o, "epoch", r->info.epoch);
        cJSON_AddStringToObject(o, "node", jrec_str(r->info.holder_name));
        json_add_u64(o, "attempts", r->info.attempts);
        json_add_u64(o, "failures", r->info.failures);
        json_add_u64(o, "reclaims", r->info.reclaims);
        if (r->info.losses > 0)
            json_add_u64(o, "losses", r->info.losses);
        /* A backup running, or the highest epoch one was given. */
        if (r->info.alt_epoch > 0)
            json_add_u64(o, "alt_epoch", r->info.alt_epoch);
        if (jrec_str(r->info.alt_name)[0] != '\0')
            cJSON_AddStringToObject(o, "alt_node", r->info.alt_name);
        cJSON_AddStringToObject(o, "why", set_info_error(&r->info));
        fo = cJSON_AddArrayToObject(o, "failed_on");
        for (uint32_t i = 0;
             fo != NULL && r->info.hist != NULL && i < r->info.nfailed_on; i++)
            cJSON_AddItemToArray(
                fo, cJSON_CreateString(r->info.hist->failed_on[i]));
        if (r->info.status == SET_COUNTED) {
            cJSON_AddStringToObject(o, "path", r->path);
            if (r->sha256[0] != '\0')
                cJSON_AddStringToObject(o, "sha256", r->sha256);
        }
        break;
    }
    default:
        json_add_u64(o, "set", r->set);
        json_add_u64(o, "epoch", r->epoch);
        cJSON_AddStringToObject(o, "node", r->node);
        if (r->type == JREC_ACCEPT) {
            cJSON_AddStringToObject(o, "path", r->path);
            json_add_u64(o, "bytes", r->bytes);
            cJSON_AddStringToObject(o, "sha256", r->sha256);
        }
        if (r->text[0] != '\0')
            cJSON_AddStringToObject(o, "why", r->text);
        break;
    }
    s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

/* The job record's optional input fingerprint: absent (an older journal),
 * or exactly HASH_HEX_LEN lowercase hex digits. 0, or -1. */
static int
jrec_decode_input(const cJSON *o, struct jrec *r)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "input");
    r->input[0] = '\0';
    if (v == NULL)
        return 0;
    if (!cJSON_IsString(v) || strlen(v->valuestring) != HASH_HEX_LEN ||
        strspn(v->valuestring, "0123456789abcdef") != HASH_HEX_LEN)
        return -1;
    memcpy(r->input, v->valuestring, HASH_HEX_LEN + 1);
    return 0;
}

static int
jrec_decode_set(const cJSON *o, struct jrec *r)
{
    const char *st = json_str(o, "status");
    const cJSON *fo = cJSON_GetObjectItemCaseSensitive(o, "failed_on"), *f;
    uint64_t v;

    if (json_u64(o, "set", MANIFEST_MAX_SETS, &v) == -1 || st == NULL ||
        strlen(st) != 1 || strchr("ABCD", st[0]) == NULL)
        return -1;
    r->set = (uint32_t)v;
    r->info.status = (enum set_status)st[0];
    if (json_u64(o, "epoch", JREC_MAX_EPOCH, &r->info.epoch) == -1 ||
        json_strcpy(o, "node", r->node, sizeof(r->node)) == -1 ||
        json_u64(o, "attempts", UINT32_MAX, &v) == -1)
        return -1;
    r->info.attempts = (uint32_t)v;
    if (json_u64(o, "failures", UINT32_MAX, &v) == -1)
        return -1;
    r->info.failures = (uint32_t)v;
    if (json_u64(o, "reclaims", UINT32_MAX, &v) == -1)
        return -1;
    r->info.reclaims = (uint32_t)v;
    /* Optional: journals written before losses were counted. */
    if (cJSON_GetObjectItemCaseSensitive(o, "losses") != NULL) {
        if (json_u64(o, "losses", UINT32_MAX, &v) == -1)
            return -1;
        r->info.losses = (uint32_t)v;
    }
    /* Optional: a speculative backup (sets.h). */
    if (cJSON_GetObjectItemCaseSensitive(o, "alt_epoch") != NULL &&
        (json_u64(o, "alt_epoch", JREC_MAX_EPOCH, &r->info.alt_epoch) == -1 ||
         r->info.alt_epoch <= r->info.epoch))
        return -1;
    if (cJSON_GetObjectItemCaseSensitive(o, "alt_node") != NULL &&
        (r->info.status != SET_PROCESSING || r->info.alt_epoch == 0 ||
         json_strcpy(o, "alt_node", r->alt_node, sizeof(r->alt_node)) == -1 ||
         r->alt_node[0] == '\0'))
        return -1;
    r->info.holder_name = r->node;
    r->info.alt_name = r->alt_node;
    json_strcpy(o, "why", r->hist.last_error, sizeof(r->hist.last_error));
    if (!cJSON_IsArray(fo))
        return -1;
    cJSON_ArrayForEach(f, fo)
    {
        if (!cJSON_IsString(f) || r->info.nfailed_on >= SETS_MAX_FAILED_NODES)
            return -1;
        snprintf(r->hist.failed_on[r->info.nfailed_on++],
                 sizeof(r->hist.failed_on[0]), "%.*s", IDENT_MAX,
                 f->valuestring);
    }
    if (r->info.nfailed_on > 0 || r->hist.last_error[0] != '\0')
        r->info.hist = &r->hist;
    if (r->info.status == SET_COUNTED &&
        (json_strcpy(o, "path", r->path, sizeof(r->path)) == -1 ||
         !fs_relpath_is_safe(r->path)))
        return -1;
    /* Optional: journals written before snapshots kept the hash. */
    r->sha256[0] = '\0';
    if (r->info.status == SET_COUNTED &&
        cJSON_GetObjectItemCaseSensitive(o, "sha256") != NULL &&
        json_strcpy(o, "sha256", r->sha256, sizeof(r->sha256)) == -1)
        return -1;
    return 0;
}

int
jrec_decode(const uint8_t *buf, size_t len, struct jrec *r, char *err,
            size_t errlen)
{
    cJSON *o = cJSON_ParseWithLength((const char *)buf, len);
    const char *t;
    uint64_t v;
    int rc = -1;
    size_t i;

    memset(r, 0, sizeof(*r));
    if (!cJSON_IsObject(o) || (t = json_str(o, "t")) == NULL) {
        errf(err, errlen, "journal record is not an object with a type");
        goto out;
    }
    for (i = 0; i < sizeof(jrec_names) / sizeof(jrec_names[0]); i++)
        if (strcmp(jrec_names[i], t) == 0)
            break;
    if (i == sizeof(jrec_names) / sizeof(jrec_names[0])) {
        errf(err, errlen, "unknown journal record \"%.32s\"", t);
        goto out;
    }
    r->type = (enum jrec_type)i;
    switch (r->type) {
    case JREC_JOB:
        if (json_strcpy(o, "job", r->job, sizeof(r->job)) == -1 ||
            json_u64(o, "sets", MANIFEST_MAX_SETS, &v) == -1 || v == 0 ||
            (r->sets = (uint32_t)v, 0) ||
            json_u64(o, "frames", UINT32_MAX, &r->frames) == -1 ||
            json_u64(o, "gen", JREC_MAX_GEN, &r->gen) == -1 ||
            jrec_decode_input(o, r) == -1)
            goto bad;
        /* Absent before the service: a one-job ambassador's epochs. */
        if (cJSON_GetObjectItemCaseSensitive(o, "epoch_base") != NULL &&
            json_u64(o, "epoch_base", JREC_MAX_EPOCH_BASE, &r->epoch) == -1)
            goto bad;
        break;
    case JREC_GEN:
        if (json_u64(o, "gen", JREC_MAX_GEN, &r->gen) == -1)
            goto bad;
        break;
    case JREC_CONCAT:
        if (json_u64(o, "done", 1, &v) == -1 ||
            json_u64(o, "frames", UINT32_MAX, &r->frames) == -1)
            goto bad;
        r->done = (int)v;
        break;
    case JREC_SET:
        if (jrec_decode_set(o, r) == -1)
            goto bad;
        break;
    default:
        if (json_u64(o, "set", MANIFEST_MAX_SETS, &v) == -1 ||
            (r->set = (uint32_t)v, 0) ||
            json_u64(o, "epoch", JREC_MAX_EPOCH, &r->epoch) == -1 ||
            json_strcpy(o, "node", r->node, sizeof(r->node)) == -1)
            goto bad;
        json_strcpy(o, "why", r->text, sizeof(r->text));
        if (r->type == JREC_ACCEPT &&
            (json_strcpy(o, "path", r->path, sizeof(r->path)) == -1 ||
             !fs_relpath_is_safe(r->path) ||
             json_u64(o, "bytes", UINT64_MAX >> 11, &r->bytes) == -1 ||
             json_strcpy(o, "sha256", r->sha256, sizeof(r->sha256)) == -1))
            goto bad;
        break;
    }
    rc = 0;
    goto out;
bad:
    errf(err, errlen, "journal record \"%s\" has a missing or bad field", t);
out:
    cJSON_Delete(o);
    return rc;
}

/* The set is counted with this result (path, and its hash when known). */
static int
jrec_count(struct jrec_state *st, uint32_t set, const char *path,
           const char *sha)
{
    free(st->accepted[set]);
    free(st->accepted_sha[set]);
    st->accepted[set] = strdup(path);
    st->accepted_sha[set] = sha[0] != '\0' ? strdup(sha) : NULL;
    return st->accepted[set] != NULL &&
                   (sha[0] == '\0' || st->accepted_sha[set] != NULL)
               ? 0
               : -1;
}

static int
jrec_fail(char *err, size_t errlen, const struct jrec *r, const char *what)
{
    uint64_t epoch = r->type == JREC_SET ? r->info.epoch : r->epoch;
    errf(err, errlen, "journal record %s for set %u epoch %llu %s",
         jrec_names[r->type], r->set, (unsigned long long)epoch, what);
    return -1;
}

int
jrec_apply(struct jrec_state *st, const struct jrec *r, char *err,
           size_t errlen)
{
    uint64_t epoch = 0;

    st->records++;
    if (r->type == JREC_JOB) {
        if (st->sets != NULL)
            return jrec_fail(err, errlen, r, "repeats the job");
        st->sets = set_table_new(r->sets);
        st->accepted = calloc(r->sets, sizeof(*st->accepted));
        st->accepted_sha = calloc(r->sets, sizeof(*st->accepted_sha));
        if (st->sets == NULL || st->accepted == NULL ||
            st->accepted_sha == NULL) {
            errf(err, errlen, "out of memory");
            return -1;
        }
        set_table_epoch_floor(st->sets, r->epoch);
        st->nsets = r->sets;
        st->frames = r->frames;
        snprintf(st->input, sizeof(st->input), "%s", r->input);
        snprintf(st->job, sizeof(st->job), "%s", r->job);
        if (r->gen > st->gen)
            st->gen = r->gen;
        return 0;
    }
    if (r->type == JREC_GEN) {
        if (r->gen > st->gen)
            st->gen = r->gen;
        return 0;
    }
    if (st->sets == NULL)
        return jrec_fail(err, errlen, r, "comes before the job record");
    if (r->type == JREC_SET) {
        if (r->set >= st->nsets)
            return jrec_fail(err, errlen, r, "cannot be restored");
        /* Epochs only grow: a repeated one would let an old attempt's
         * result count as the current one's. */
        if (r->info.epoch < set_table_get(st->sets, r->set)->epoch)
            return jrec_fail(err, errlen, r, "moves the set's epoch back");
        if (set_table_restore(st->sets, r->set, &r->info, JREC_SESSION) == -1)
            return jrec_fail(err, errlen, r, "cannot be restored");
        if (r->info.status == SET_COUNTED)
            return jrec_count(st, r->set, r->path, r->sha256);
        return 0;
    }
    if (r->type == JREC_CONCAT) {
        if (r->done)
            st->concat_done = 1;
        else
            st->concat_begun = 1;
        return 0;
    }
    if (r->set >= st->nsets)
        return jrec_fail(err, errlen, r, "names no set of this job");
    switch (r->type) {
    case JREC_ASSIGN:
        /* An assign of a set in B is its speculative backup. */
        if ((set_table_get(st->sets, r->set)->status == SET_PROCESSING
                 ? set_table_backup(st->sets, r->set, JREC_SESSION, r->node,
                                    &epoch)
                 : set_table_assign(st->sets, r->set, JREC_SESSION, r->node,
                                    &epoch)) == -1 ||
            epoch != r->epoch)
            return jrec_fail(err, errlen, r, "does not follow");
        return 0;
    case JREC_FAIL:
        return set_table_fail(st->sets, r->set, r->epoch, r->text, NULL) == 0
                   ? 0
                   : jrec_fail(err, errlen, r, "does not follow");
    case JREC_RECLAIM:
        return set_table_reclaim(st->sets, r->set, r->epoch, r->text) == 0
                   ? 0
                   : jrec_fail(err, errlen, r, "does not follow");
    case JREC_UNASSIGN:
        return set_table_unassign(st->sets, r->set, r->epoch) == 0
                   ? 0
                   : jrec_fail(err, errlen, r, "does not follow");
    case JREC_ACCEPT:
        if (set_table_begin_check(st->sets, r->set, r->epoch) == -1 ||
            set_table_accept(st->sets, r->set, r->epoch) == -1)
            return jrec_fail(err, errlen, r, "does not follow");
        return jrec_count(st, r->set, r->path, r->sha256);
    case JREC_LOST:
        if (set_table_lose(st->sets, r->set, r->epoch, r->text) == -1)
            return jrec_fail(err, errlen, r, "does not follow");
        free(st->accepted[r->set]);
        free(st->accepted_sha[r->set]);
        st->accepted[r->set] = st->accepted_sha[r->set] = NULL;
        return 0;
    case JREC_REJECT:
        if (set_table_begin_check(st->sets, r->set, r->epoch) == -1 ||
            set_table_reject(st->sets, r->set, r->epoch, r->text, NULL) == -1)
            return jrec_fail(err, errlen, r, "does not follow");
        return 0;
    case JREC_JOB:
    case JREC_GEN:
    case JREC_CONCAT:
    case JREC_SET:
        break;
    }
    return 0;
}

void
jrec_state_fini(struct jrec_state *st)
{
    for (uint32_t i = 0; i < st->nsets; i++) {
        if (st->accepted != NULL)
            free(st->accepted[i]);
        if (st->accepted_sha != NULL)
            free(st->accepted_sha[i]);
    }
    free(st->accepted);
    free(st->accepted_sha);
    set_table_free(st->sets);
    memset(st, 0, sizeof(*st));
}
