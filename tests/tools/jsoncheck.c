/*
 * jsoncheck.c - test tool: checks a JSON file where a fresh Debian has no
 * jq or python. Parses FILE with cJSON, then checks each CHECK in turn and
 * says on stderr which one failed and what it found.
 *   jsoncheck FILE CHECK...   exit 0 when every check holds, 1 when one
 *                             does not, 2 on bad usage or a file that is
 *                             not JSON
 *   jsoncheck -p FILE PATH    print the value at PATH (a string bare,
 *                             anything else as JSON); exit 1 when absent
 * PATH is keys and array indexes joined by dots (results.0.fps). CHECK is
 *   PATH             the value exists
 *   PATH:TYPE        it is a number, string, bool, null, object or array
 *   PATH=TEXT        a string equal to TEXT, or a number, true, false or
 *                    null written TEXT (numbers compare by value)
 *   PATH>NUM         a number above NUM (PATH<NUM: below)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "common/fsutil.h"

#define JSONCHECK_MAX_FILE (64u << 20)
#define JSONCHECK_OPS ":=<>"
#define JSONCHECK_EXIT_FAIL 1
#define JSONCHECK_EXIT_USAGE 2

/* The value at a dotted path, or NULL. */
static const cJSON *
jsoncheck_find(const cJSON *root, const char *path)
{
    char *copy = strdup(path), *save = NULL, *part;
    const cJSON *at = root;

    if (copy == NULL)
        return NULL;
    for (part = strtok_r(copy, ".", &save); part != NULL && at != NULL;
         part = strtok_r(NULL, ".", &save)) {
        char *end;
        long idx;
        if (cJSON_IsArray(at)) {
            errno = 0;
            idx = strtol(part, &end, 10);
            at = *end == '\0' && errno == 0 && idx >= 0
                     ? cJSON_GetArrayItem(at, (int)idx)
                     : NULL;
        } else if (cJSON_IsObject(at)) {
            at = cJSON_GetObjectItemCaseSensitive(at, part);
        } else {
            at = NULL;
        }
    }
    free(copy);
    return at;
}

static const char *
jsoncheck_type(const cJSON *v)
{
    if (cJSON_IsNumber(v))
        return "number";
    if (cJSON_IsString(v))
        return "string";
    if (cJSON_IsBool(v))
        return "bool";
    if (cJSON_IsNull(v))
        return "null";
    if (cJSON_IsObject(v))
        return "object";
    if (cJSON_IsArray(v))
        return "array";
    return "invalid";
}

/* 1 when v, compared by op with text, holds. */
static int
jsoncheck_holds(const cJSON *v, char op, const char *text)
{
    char *end;
    double want;

    switch (op) {
    case ':':
        return strcmp(jsoncheck_type(v), text) == 0;
    case '=':
        if (cJSON_IsString(v))
            return strcmp(v->valuestring, text) == 0;
        if (cJSON_IsNumber(v)) {
            want = strtod(text, &end);
            return *end == '\0' && end != text && v->valuedouble == want;
        }
        if (cJSON_IsBool(v))
            return strcmp(text, cJSON_IsTrue(v) ? "true" : "false") == 0;
        return cJSON_IsNull(v) && strcmp(text, "null") == 0;
    case '>':
    case '<':
        want = strtod(text, &end);
        if (!cJSON_IsNumber(v) || *end != '\0' || end == text)
            return 0;
        return op == '>' ? v->valuedouble > want : v->valuedouble < want;
    default:
        return 1; /* exists */
    }
}

/* The file parsed, or NULL (said why). */
static cJSON *
jsoncheck_load(const char *path)
{
    char *text = NULL;
    size_t len = 0;
    cJSON *root = NULL;

    if (fs_read_max(path, JSONCHECK_MAX_FILE, &text, &len) == -1) {
        fprintf(stderr, "jsoncheck: %s: %s\n", path, strerror(errno));
        goto out;
    }
    root = cJSON_ParseWithLength(text, len);
    if (root == NULL)
        fprintf(stderr, "jsoncheck: %s: not JSON (near byte %td)\n", path,
                cJSON_GetErrorPtr() != NULL ? cJSON_GetErrorPtr() - text
                                            : (ptrdiff_t)0);
out:
    free(text);
    return root;
}

/* -p FILE PATH */
static int
jsoncheck_print(const char *file, const char *path)
{
    cJSON *root = jsoncheck_load(file);
    const cJSON *v;
    char *text = NULL;
    int rc = JSONCHECK_EXIT_USAGE;

    if (root == NULL)
        goto out;
    v = jsoncheck_find(root, path);
    rc = JSONCHECK_EXIT_FAIL;
    if (v == NULL) {
        fprintf(stderr, "jsoncheck: %s: no %s\n", file, path);
        goto out;
    }
    if (cJSON_IsString(v)) {
        printf("%s\n", v->valuestring);
    } else {
        text = cJSON_PrintUnformatted(v);
        if (text == NULL)
            goto out;
        printf("%s\n", text);
    }
    rc = 0;
out:
    free(text);
    cJSON_Delete(root);
    return rc;
}

int
main(int argc, char **argv)
{
    cJSON *root = NULL;
    int rc = JSONCHECK_EXIT_USAGE;

    if (argc == 4 && strcmp(argv[1], "-p") == 0)
        return jsoncheck_print(argv[2], argv[3]);
    if (argc < 3) {
        fprintf(stderr, "usage: jsoncheck FILE PATH[:TYPE|=TEXT|>NUM|<NUM]"
                        "...\n       jsoncheck -p FILE PATH\n");
        goto out;
    }
    if ((root = jsoncheck_load(argv[1])) == NULL)
        goto out;
    rc = 0;
    for (int i = 2; i < argc; i++) {
        size_t plen = strcspn(argv[i], JSONCHECK_OPS);
        char op = argv[i][plen];
        const char *text = op != '\0' ? argv[i] + plen + 1 : "";
        char *path = strndup(argv[i], plen);
        const cJSON *v = path != NULL ? jsoncheck_find(root, path) : NULL;
        char *found = v != NULL ? cJSON_PrintUnformatted(v) : NULL;

        if (v == NULL || !jsoncheck_holds(v, op, text)) {
            fprintf(stderr, "jsoncheck: %s: %s does not hold (found %s)\n",
                    argv[1], argv[i], found != NULL ? found : "nothing");
            rc = JSONCHECK_EXIT_FAIL;
        }
        free(found);
        free(path);
    }
out:
    cJSON_Delete(root);
    return rc;
}
