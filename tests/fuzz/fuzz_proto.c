/*
 * fuzz_proto.c - libFuzzer harness for the wire format (common/proto.h).
 * The input is a byte stream as either side reads it from its socket.
 * Properties: every whole frame decoded from it re-encodes to a frame that
 * decodes again and re-encodes to the same bytes; the same frame cut one
 * byte short asks for more bytes; a refusal always says why. The manifest
 * inside an assign goes through manifest_from_json, as on a node.
 */
#include "tests/fuzz/fuzz.h"

#include <errno.h>
#include <string.h>

#include "common/err.h"
#include "common/manifest.h"
#include "common/proto.h"

/* encode(msg) decodes to a message that encodes to the same bytes. */
static void
fuzz_proto_roundtrip(const cJSON *msg)
{
    char *buf = NULL, *again_buf = NULL;
    size_t len = 0, again_len = 0, used = 0;
    cJSON *again = NULL;
    char err[ERR_MAX] = "";

    if (proto_encode(msg, &buf, &len) == -1) {
        /* Printing may expand a frame (9e9 -> 9000000000) past the cap. */
        FUZZ_CHECK(errno == EMSGSIZE || errno == ENOMEM, strerror(errno));
        return;
    }
    FUZZ_CHECK(proto_decode((const uint8_t *)buf, len, &used, &again, err,
                            sizeof(err)) == 1,
               err);
    FUZZ_CHECK(used == len, "");
    FUZZ_CHECK(strcmp(proto_type(again), proto_type(msg)) == 0,
               proto_type(again));
    FUZZ_CHECK(proto_encode(again, &again_buf, &again_len) == 0,
               strerror(errno));
    FUZZ_CHECK(again_len == len && memcmp(again_buf, buf, len) == 0,
               "re-encoding changed the frame");
    cJSON_Delete(again);
    free(again_buf);
    free(buf);
}

/* A node hands an assign's manifest to manifest_from_json. */
static void
fuzz_proto_assign(const cJSON *msg)
{
    struct manifest *m = NULL;
    char err[ERR_MAX] = "";

    if (strcmp(proto_type(msg), MSG_ASSIGN) != 0)
        return;
    if (manifest_from_json(cJSON_GetObjectItemCaseSensitive(msg, "manifest"),
                           &m, err, sizeof(err)) == -1)
        FUZZ_CHECK(err[0] != '\0', "manifest refused without a reason");
    manifest_free(m);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t pos = 0;

    while (pos < size) {
        cJSON *msg = NULL, *cut = NULL;
        size_t used = 0, cut_used = 0;
        char err[ERR_MAX] = "";
        int rc =
            proto_decode(data + pos, size - pos, &used, &msg, err, sizeof(err));

        if (rc != 1) {
            FUZZ_CHECK(rc == 0 || err[0] != '\0', "refused without a reason");
            FUZZ_CHECK(msg == NULL, "a refused frame left a message");
            break;
        }
        FUZZ_CHECK(used > PROTO_HDR && used <= size - pos, "");
        FUZZ_CHECK(proto_type(msg)[0] != '\0', "decoded without a type");
        FUZZ_CHECK(proto_decode(data + pos, used - 1, &cut_used, &cut, err,
                                sizeof(err)) == 0,
                   err);
        fuzz_proto_roundtrip(msg);
        fuzz_proto_assign(msg);
        cJSON_Delete(msg);
        pos += used;
    }
    return 0;
}
