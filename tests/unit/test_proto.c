/*
 * test_proto.c - the wire format (common/proto.h): framing, the checks
 * made before a body is trusted, and the stream reader over a socketpair.
 */
#include "tests/unit/unit.h"

#include <errno.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/err.h"
#include "common/proto.h"

/* A frame with the given length field and body (the body may be shorter
 * than the length says). Caller frees. */
static uint8_t *
frame_raw(uint32_t lenfield, const char *body, size_t bodylen, size_t *total)
{
    uint8_t *buf = malloc(PROTO_HDR + bodylen); /* exact: ASan sees past */
    assert_non_null(buf);
    buf[0] = (uint8_t)(lenfield >> 24);
    buf[1] = (uint8_t)(lenfield >> 16);
    buf[2] = (uint8_t)(lenfield >> 8);
    buf[3] = (uint8_t)lenfield;
    memcpy(buf + PROTO_HDR, body, bodylen);
    *total = PROTO_HDR + bodylen;
    return buf;
}

/* A frame whose length field matches the body. */
static uint8_t *
frame_of(const char *body, size_t *total)
{
    size_t n = strlen(body);
    return frame_raw((uint32_t)n, body, n, total);
}

static cJSON *
msg_new(const char *type, int seq)
{
    cJSON *m = cJSON_CreateObject();
    assert_non_null(m);
    assert_non_null(cJSON_AddStringToObject(m, "type", type));
    assert_non_null(cJSON_AddNumberToObject(m, "seq", seq));
    return m;
}

static int
msg_seq(const cJSON *m)
{
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(m, "seq");
    assert_true(cJSON_IsNumber(s));
    return s->valueint;
}

/* Expect proto_decode to refuse buf with an error mentioning want. */
static void
expect_decode_error(const uint8_t *buf, size_t len, const char *want)
{
    char err[ERR_MAX] = "";
    size_t used = 0;
    cJSON *m = NULL;

    assert_int_equal(proto_decode(buf, len, &used, &m, err, sizeof(err)), -1);
    assert_null(m);
    assert_contains(err, want);
}

static void
test_encode_decode_round_trip(void **state)
{
    cJSON *in = msg_new(MSG_HEARTBEAT, 42), *out = NULL;
    char *buf = NULL, err[ERR_MAX] = "";
    size_t len = 0, used = 0;
    uint32_t lenfield;
    (void)state;

    assert_non_null(cJSON_AddStringToObject(in, "node", "n1"));
    assert_int_equal(proto_encode(in, &buf, &len), 0);
    assert_true(len > PROTO_HDR);
    lenfield = (uint32_t)(uint8_t)buf[0] << 24 |
               (uint32_t)(uint8_t)buf[1] << 16 |
               (uint32_t)(uint8_t)buf[2] << 8 | (uint32_t)(uint8_t)buf[3];
    assert_int_equal(lenfield, len - PROTO_HDR);

    assert_int_equal(
        proto_decode((const uint8_t *)buf, len, &used, &out, err, sizeof(err)),
        1);
    assert_int_equal(used, len);
    assert_non_null(out);
    assert_string_equal(proto_type(out), MSG_HEARTBEAT);
    assert_int_equal(msg_seq(out), 42);
    assert_true(cJSON_Compare(in, out, 1));
    cJSON_Delete(out);
    cJSON_Delete(in);
    free(buf);
}

/* Each prefix is decoded from a buffer of exactly its length, so the ASan
 * build catches a look past the bytes received so far. */
static void
test_decode_every_prefix_needs_more(void **state)
{
    cJSON *in = msg_new(MSG_DONE, 7);
    char *buf = NULL, err[ERR_MAX];
    size_t len = 0;
    (void)state;

    assert_int_equal(proto_encode(in, &buf, &len), 0);
    for (size_t n = 0; n < len; n++) {
        uint8_t *prefix = malloc(n > 0 ? n : 1);
        size_t used = 0;
        cJSON *out = NULL;
        int rc;
        assert_non_null(prefix);
        memcpy(prefix, buf, n);
        rc = proto_decode(prefix, n, &used, &out, err, sizeof(err));
        free(prefix);
        cJSON_Delete(out);
        if (rc != 0)
            fail_msg("prefix of %zu of %zu bytes: got %d, want 0", n, len, rc);
        assert_null(out);
    }
    cJSON_Delete(in);
    free(buf);
}

static void
test_decode_two_frames_back_to_back(void **state)
{
    cJSON *a = msg_new(MSG_HELLO, 1), *b = msg_new(MSG_ASSIGN, 2), *m = NULL;
    char *fa = NULL, *fb = NULL, *both, err[ERR_MAX] = "";
    size_t la, lb, used = 0;
    (void)state;

    assert_int_equal(proto_encode(a, &fa, &la), 0);
    assert_int_equal(proto_encode(b, &fb, &lb), 0);
    both = malloc(la + lb);
    assert_non_null(both);
    memcpy(both, fa, la);
    memcpy(both + la, fb, lb);

    assert_int_equal(proto_decode((const uint8_t *)both, la + lb, &used, &m,
                                  err, sizeof(err)),
                     1);
    assert_int_equal(used, la);
    assert_string_equal(proto_type(m), MSG_HELLO);
    assert_int_equal(msg_seq(m), 1);
    cJSON_Delete(m);

    assert_int_equal(proto_decode((const uint8_t *)both + la, lb, &used, &m,
                                  err, sizeof(err)),
                     1);
    assert_int_equal(used, lb);
    assert_string_equal(proto_type(m), MSG_ASSIGN);
    assert_int_equal(msg_seq(m), 2);
    cJSON_Delete(m);

    cJSON_Delete(a);
    cJSON_Delete(b);
    free(fa);
    free(fb);
    free(both);
}

static void
test_decode_zero_length(void **state)
{
    size_t n;
    uint8_t *f = frame_raw(0, "", 0, &n);
    (void)state;

    expect_decode_error(f, n, "length 0");
    free(f);
}

/* An oversized length is refused from the 4 header bytes alone: a peer
 * cannot make us wait for (or buffer) a body we would refuse anyway. */
static void
test_decode_oversized_refused_from_header(void **state)
{
    const uint32_t lens[] = {PROTO_MAX_FRAME + 1, UINT32_MAX};
    size_t n;
    (void)state;

    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        uint8_t *f = frame_raw(lens[i], "", 0, &n);
        assert_int_equal(n, PROTO_HDR);
        expect_decode_error(f, n, "outside");
        free(f);
    }
}

static void
test_decode_max_length_waits_for_body(void **state)
{
    char err[ERR_MAX];
    size_t n, used = 0;
    cJSON *m = NULL;
    uint8_t *f = frame_raw(PROTO_MAX_FRAME, "{", 1, &n);
    (void)state;

    assert_int_equal(proto_decode(f, n, &used, &m, err, sizeof(err)), 0);
    assert_null(m);
    free(f);
}

static void
test_decode_not_json(void **state)
{
    size_t n;
    uint8_t *f = frame_of("not json at all", &n);
    (void)state;

    expect_decode_error(f, n, "not valid JSON");
    free(f);
}

/* The body must be exactly one JSON object: bytes after it inside the
 * frame are not part of any valid message. */
static void
test_decode_trailing_bytes_in_frame(void **state)
{
    const char *bodies[] = {
        "{\"type\":\"hello\"}garbage",
        "{\"type\":\"hello\"}{\"type\":\"finish\"}",
    };
    (void)state;

    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        char err[ERR_MAX] = "";
        size_t n, used = 0;
        cJSON *m = NULL;
        uint8_t *f = frame_of(bodies[i], &n);
        int rc = proto_decode(f, n, &used, &m, err, sizeof(err));
        cJSON_Delete(m);
        free(f);
        if (rc != -1)
            fail_msg("frame body '%s': got %d, want -1", bodies[i], rc);
    }
}

static void
test_decode_json_array(void **state)
{
    size_t n;
    uint8_t *f = frame_of("[{\"type\":\"hello\"}]", &n);
    (void)state;

    expect_decode_error(f, n, "not an object");
    free(f);
}

static void
test_decode_no_type(void **state)
{
    size_t n;
    uint8_t *f = frame_of("{\"seq\":1}", &n);
    (void)state;

    expect_decode_error(f, n, "\"type\"");
    free(f);
}

static void
test_decode_type_not_string(void **state)
{
    const char *bodies[] = {
        "{\"type\":5}",           "{\"type\":null}",
        "{\"type\":[\"hello\"]}", "{\"type\":{\"hello\":1}}",
        "{\"Type\":\"hello\"}", /* keys are case-sensitive */
    };
    (void)state;

    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        size_t n;
        uint8_t *f = frame_of(bodies[i], &n);
        expect_decode_error(f, n, "\"type\"");
        free(f);
    }
}

/* A body of exactly PROTO_MAX_FRAME bytes: {"type":"x","pad":"aaa..."}. */
static cJSON *
msg_of_json_length(size_t want)
{
    const size_t overhead = strlen("{\"type\":\"x\",\"pad\":\"\"}");
    char *pad = malloc(want - overhead + 1);
    cJSON *m = cJSON_CreateObject();

    assert_non_null(pad);
    assert_non_null(m);
    memset(pad, 'a', want - overhead);
    pad[want - overhead] = '\0';
    assert_non_null(cJSON_AddStringToObject(m, "type", "x"));
    assert_non_null(cJSON_AddStringToObject(m, "pad", pad));
    free(pad);
    return m;
}

static void
test_encode_size_limit(void **state)
{
    cJSON *fits = msg_of_json_length(PROTO_MAX_FRAME);
    cJSON *over = msg_of_json_length(PROTO_MAX_FRAME + 1);
    char *buf = NULL;
    size_t len = 0;
    (void)state;

    assert_int_equal(proto_encode(fits, &buf, &len), 0);
    assert_int_equal(len, PROTO_HDR + PROTO_MAX_FRAME);
    free(buf);
    buf = NULL;

    errno = 0;
    assert_int_equal(proto_encode(over, &buf, &len), -1);
    assert_int_equal(errno, EMSGSIZE);
    assert_null(buf);
    cJSON_Delete(fits);
    cJSON_Delete(over);
}

static void
socketpair_or_fail(int sv[2])
{
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
}

/* Frames trickling in one byte per read are reassembled; no message is
 * yielded before its last byte. */
static void
test_reader_one_byte_chunks(void **state)
{
    cJSON *a = msg_new(MSG_HELLO, 1), *b = msg_new(MSG_HEARTBEAT, 2);
    char *fa = NULL, *fb = NULL, *stream, err[ERR_MAX] = "";
    size_t la, lb, got = 0;
    struct proto_reader r;
    int sv[2];
    (void)state;

    assert_int_equal(proto_encode(a, &fa, &la), 0);
    assert_int_equal(proto_encode(b, &fb, &lb), 0);
    stream = malloc(la + lb);
    assert_non_null(stream);
    memcpy(stream, fa, la);
    memcpy(stream + la, fb, lb);
    socketpair_or_fail(sv);
    proto_reader_init(&r);

    for (size_t i = 0; i < la + lb; i++) {
        cJSON *m = NULL;
        int rc;
        assert_int_equal(write(sv[0], stream + i, 1), 1);
        assert_int_equal(proto_reader_fill(&r, sv[1]), 1);
        rc = proto_reader_next(&r, &m, err, sizeof(err));
        if (i + 1 == la || i + 1 == la + lb) {
            if (rc != 1)
                fail_msg("after byte %zu: got %d, want a message (%s)", i, rc,
                         err);
            assert_int_equal(msg_seq(m), (int)got + 1);
            assert_string_equal(proto_type(m),
                                got == 0 ? MSG_HELLO : MSG_HEARTBEAT);
            cJSON_Delete(m);
            got++;
        } else if (rc != 0) {
            fail_msg("after byte %zu: got %d, want 0 (need more)", i, rc);
        }
    }
    assert_int_equal(got, 2);
    assert_int_equal(r.len, 0);

    proto_reader_fini(&r);
    close(sv[0]);
    close(sv[1]);
    cJSON_Delete(a);
    cJSON_Delete(b);
    free(fa);
    free(fb);
    free(stream);
}

#define SEND_COUNT 3

static void
test_send_then_reader_until_eof(void **state)
{
    const char *types[SEND_COUNT] = {MSG_WELCOME, MSG_ASSIGN, MSG_FINISH};
    struct proto_reader r;
    char err[ERR_MAX] = "";
    int sv[2], got = 0;
    long n;
    (void)state;

    socketpair_or_fail(sv);
    for (int i = 0; i < SEND_COUNT; i++) {
        cJSON *m = msg_new(types[i], i);
        assert_int_equal(proto_send(sv[0], m), 0);
        cJSON_Delete(m);
    }
    close(sv[0]);

    proto_reader_init(&r);
    while ((n = proto_reader_fill(&r, sv[1])) > 0) {
        cJSON *m = NULL;
        while (proto_reader_next(&r, &m, err, sizeof(err)) == 1) {
            assert_true(got < SEND_COUNT);
            assert_string_equal(proto_type(m), types[got]);
            assert_int_equal(msg_seq(m), got);
            cJSON_Delete(m);
            got++;
        }
    }
    assert_int_equal(n, 0); /* EOF, not an error */
    assert_int_equal(got, SEND_COUNT);
    assert_int_equal(r.len, 0);
    proto_reader_fini(&r);
    close(sv[1]);
}

static void
test_reader_reports_bad_frame(void **state)
{
    struct proto_reader r;
    char err[ERR_MAX] = "";
    cJSON *m = NULL;
    size_t n;
    uint8_t *f = frame_of("[1,2,3]", &n);
    int sv[2];
    (void)state;

    socketpair_or_fail(sv);
    assert_int_equal(write(sv[0], f, n), (ssize_t)n);
    proto_reader_init(&r);
    assert_int_equal(proto_reader_fill(&r, sv[1]), (long)n);
    assert_int_equal(proto_reader_next(&r, &m, err, sizeof(err)), -1);
    assert_null(m);
    assert_contains(err, "not an object");
    proto_reader_fini(&r);
    close(sv[0]);
    close(sv[1]);
    free(f);
}

struct sender {
    int fd;
    const cJSON *msg;
    int count;
    int rc;
};

static void *
sender_main(void *arg)
{
    struct sender *s = arg;
    s->rc = 0;
    for (int i = 0; i < s->count && s->rc == 0; i++)
        s->rc = proto_send(s->fd, s->msg);
    close(s->fd);
    return NULL;
}

/* Two maximal frames back to back pass through the reader, which has to
 * grow its buffer past the socket's chunk size and keep the second
 * frame's bytes when it yields the first. */
static void
test_reader_max_size_frames(void **state)
{
    cJSON *big = msg_of_json_length(PROTO_MAX_FRAME);
    struct sender s = {.msg = big, .count = 2, .rc = -1};
    struct proto_reader r;
    char err[ERR_MAX] = "";
    pthread_t th;
    int sv[2], got = 0;
    long n;
    (void)state;

    socketpair_or_fail(sv);
    s.fd = sv[0];
    assert_int_equal(pthread_create(&th, NULL, sender_main, &s), 0);
    proto_reader_init(&r);
    while ((n = proto_reader_fill(&r, sv[1])) > 0) {
        cJSON *m = NULL;
        int rc;
        while ((rc = proto_reader_next(&r, &m, err, sizeof(err))) == 1) {
            assert_true(cJSON_Compare(big, m, 1));
            cJSON_Delete(m);
            got++;
        }
        if (rc == -1)
            fail_msg("reader refused a maximal frame: %s", err);
    }
    if (n == -1)
        fail_msg("proto_reader_fill: %s", strerror(errno));
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(s.rc, 0);
    assert_int_equal(got, 2);
    proto_reader_fini(&r);
    close(sv[1]);
    cJSON_Delete(big);
}

/* Read everything the socket holds into buf (the writer has closed). */
static size_t
slurp(int fd, uint8_t *buf, size_t cap)
{
    size_t n = 0;
    ssize_t r;
    while (n < cap && (r = read(fd, buf + n, cap - n)) > 0)
        n += (size_t)r;
    return n;
}

static cJSON *
msg_of(const char *type, int set)
{
    cJSON *m = cJSON_CreateObject();
    assert_non_null(m);
    cJSON_AddStringToObject(m, "type", type);
    cJSON_AddNumberToObject(m, "set", set);
    return m;
}

/* Signed frames: what one end sends the other takes, in order; a frame
 * changed, replayed, reordered, sent in the other direction or under
 * another key is refused; a plain "error" (a refusal sent before the key)
 * is still read; unkeyed, both calls are the plain ones. */
static void
test_keyed_frames(void **state)
{
    unsigned char key[PROTO_MAC_LEN], other[PROTO_MAC_LEN];
    struct proto_key amb, node, wrong, plain = {0};
    uint8_t buf[4096], tmp[4096];
    char err[ERR_MAX];
    size_t n, used, first;
    cJSON *m, *got;
    int sv[2];
    (void)state;

    memset(key, 7, sizeof(key));
    memset(other, 8, sizeof(other));
    proto_key_start(&amb, key, 1);
    proto_key_start(&node, key, 0);
    proto_key_start(&wrong, other, 0);
    socketpair_or_fail(sv);
    for (int i = 0; i < 3; i++) {
        m = msg_of(MSG_ASSIGN, i);
        assert_int_equal(proto_send_keyed(sv[0], &amb, m), 0);
        cJSON_Delete(m);
    }
    m = msg_of(MSG_ERROR, 0);
    assert_int_equal(proto_send(sv[0], m), 0); /* plain, before a key */
    cJSON_Delete(m);
    close(sv[0]);
    n = slurp(sv[1], buf, sizeof(buf));
    close(sv[1]);

    /* Another key, or our own direction: refused. */
    assert_int_equal(
        proto_decode_keyed(buf, n, &wrong, &used, &got, err, sizeof(err)), -1);
    assert_contains(err, "not signed with the session key");
    assert_int_equal(
        proto_decode_keyed(buf, n, &amb, &used, &got, err, sizeof(err)), -1);
    /* A changed byte: refused. */
    memcpy(tmp, buf, n);
    tmp[PROTO_HDR + 2] ^= 1;
    assert_int_equal(
        proto_decode_keyed(tmp, n, &node, &used, &got, err, sizeof(err)), -1);
    assert_int_equal(node.rx, 0);
    /* In order: taken. */
    assert_int_equal(
        proto_decode_keyed(buf, n, &node, &first, &got, err, sizeof(err)), 1);
    assert_int_equal(cJSON_GetObjectItem(got, "set")->valueint, 0);
    cJSON_Delete(got);
    /* The same frame again (a replay): refused. */
    assert_int_equal(
        proto_decode_keyed(buf, n, &node, &used, &got, err, sizeof(err)), -1);
    /* The rest in order: frames 1 and 2, then the plain error. */
    {
        size_t at = first, used2;
        for (int i = 1; i <= 2; i++) {
            assert_int_equal(proto_decode_keyed(buf + at, n - at, &node, &used2,
                                                &got, err, sizeof(err)),
                             1);
            assert_int_equal(cJSON_GetObjectItem(got, "set")->valueint, i);
            cJSON_Delete(got);
            at += used2;
        }
        /* The plain error is still read, to end the session. */
        assert_int_equal(proto_decode_keyed(buf + at, n - at, &node, &used2,
                                            &got, err, sizeof(err)),
                         1);
        assert_string_equal(proto_type(got), MSG_ERROR);
        cJSON_Delete(got);
    }
    /* Frame 1 dropped or overtaken: frame 2 where frame 1 is due. */
    proto_key_start(&node, key, 0);
    assert_int_equal(
        proto_decode_keyed(buf, n, &node, &first, &got, err, sizeof(err)), 1);
    cJSON_Delete(got);
    assert_int_equal(proto_decode_keyed(buf + first, n - first, &node, &used,
                                        &got, err, sizeof(err)),
                     1); /* frame 1 */
    cJSON_Delete(got);
    proto_key_start(&node, key, 0);
    assert_int_equal(
        proto_decode_keyed(buf, n, &node, &first, &got, err, sizeof(err)), 1);
    cJSON_Delete(got);
    assert_int_equal(proto_decode_keyed(buf + first + used, n - first - used,
                                        &node, &used, &got, err, sizeof(err)),
                     -1); /* frame 2 while frame 1 is due */
    /* A plain message other than an error, under a key: refused. */
    socketpair_or_fail(sv);
    m = msg_of(MSG_FAIL, 1);
    assert_int_equal(proto_send_keyed(sv[0], &plain, m), 0); /* unkeyed */
    cJSON_Delete(m);
    close(sv[0]);
    n = slurp(sv[1], buf, sizeof(buf));
    close(sv[1]);
    assert_int_equal(
        proto_decode_keyed(buf, n, &node, &used, &got, err, sizeof(err)), -1);
    assert_int_equal(
        proto_decode_keyed(buf, n, &plain, &used, &got, err, sizeof(err)), 1);
    cJSON_Delete(got);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encode_decode_round_trip),
        cmocka_unit_test(test_keyed_frames),
        cmocka_unit_test(test_decode_every_prefix_needs_more),
        cmocka_unit_test(test_decode_two_frames_back_to_back),
        cmocka_unit_test(test_decode_zero_length),
        cmocka_unit_test(test_decode_oversized_refused_from_header),
        cmocka_unit_test(test_decode_max_length_waits_for_body),
        cmocka_unit_test(test_decode_not_json),
        cmocka_unit_test(test_decode_trailing_bytes_in_frame),
        cmocka_unit_test(test_decode_json_array),
        cmocka_unit_test(test_decode_no_type),
        cmocka_unit_test(test_decode_type_not_string),
        cmocka_unit_test(test_encode_size_limit),
        cmocka_unit_test(test_reader_one_byte_chunks),
        cmocka_unit_test(test_send_then_reader_until_eof),
        cmocka_unit_test(test_reader_reports_bad_frame),
        cmocka_unit_test(test_reader_max_size_frames),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
