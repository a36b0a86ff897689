/*
 * fuzz_manifest.c - libFuzzer harness for manifests (common/manifest.h):
 * the input is a manifest file's bytes, as a node reads them from the share
 * or inside an assign. Properties: a refusal says why; an accepted manifest
 * keeps the invariants manifest_from_json promises, and writing it out
 * and reading that back gives the same manifest (the same text).
 */
#include "tests/fuzz/fuzz.h"

#include <string.h>

#include "common/err.h"
#include "common/fsutil.h"
#include "common/manifest.h"

static void
fuzz_manifest_invariants(const struct manifest *m)
{
    FUZZ_CHECK(m->count >= 1 && m->count <= MANIFEST_MAX_FRAMES, "count");
    FUZZ_CHECK(m->set < m->sets && m->sets <= MANIFEST_MAX_SETS, "set");
    FUZZ_CHECK(m->first + m->count <= m->total, "first + count");
    FUZZ_CHECK(ident_is_valid(m->job), m->job);
    FUZZ_CHECK(fs_relpath_is_safe(m->zip), m->zip);
    for (size_t i = 0; i < m->count; i++) {
        const struct manifest_frame *f = &m->frames[i];
        FUZZ_CHECK(fs_relpath_is_safe(f->name), f->name);
        FUZZ_CHECK(f->size > 0 && f->size <= MANIFEST_MAX_FRAME_BYTES, f->name);
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct manifest *m = NULL, *again = NULL;
    char *text = NULL, *again_text = NULL;
    char err[ERR_MAX] = "";

    if (manifest_from_text((const char *)data, size, &m, err, sizeof(err)) ==
        -1) {
        FUZZ_CHECK(err[0] != '\0', "refused without a reason");
        return 0;
    }
    fuzz_manifest_invariants(m);
    text = manifest_to_text(m);
    FUZZ_CHECK(text != NULL, "manifest_to_text");
    FUZZ_CHECK(
        manifest_from_text(text, strlen(text), &again, err, sizeof(err)) == 0,
        err);
    again_text = manifest_to_text(again);
    FUZZ_CHECK(again_text != NULL && strcmp(again_text, text) == 0, text);
    free(again_text);
    free(text);
    manifest_free(again);
    manifest_free(m);
    return 0;
}
