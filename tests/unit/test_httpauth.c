/*
 * test_httpauth.c - who may act over HTTP (coordinator/httpauth.h): the
 * MAC of a request matches an independent HMAC-SHA256 (Python's hmac);
 * a right MAC passes once, and a replay, another method or path, a wrong
 * secret, a time more than 60 s off, a malformed header or none are
 * refused; past HTTPAUTH_SEEN actions in the window the next waits.
 * Without a secret only a loopback client that asked for a loopback Host
 * may act.
 */
#include "tests/unit/unit.h"

#include "coordinator/httpauth.h"

#define TS 1700000000
#define PATH "/api/nodes/a/drain"
/* python3: hmac.new(b"0123456789abcdef0123", b"framefarm-http\n1700000000
 * \nPOST\n/api/nodes/a/drain", hashlib.sha256).hexdigest() */
#define WANT "19931fb91632820a46ce74a541db3ff62a700c0c463bac1a391b0277b3a1032d"

static void
secret_set(struct auth_secret *s, const char *text)
{
    memset(s, 0, sizeof(*s));
    s->len = strlen(text);
    memcpy(s->key, text, s->len);
}

static struct httpauth_req
req_with(const char *authz)
{
    struct httpauth_req r = {
        .method = "POST",
        .path = PATH,
        .authorization = authz,
        .host = "10.0.0.1:7780",
        .peer_loopback = 0,
    };
    return r;
}

static void
test_mac_matches_hmac(void **state)
{
    struct auth_secret s;
    char hex[AUTH_MAC_HEX + 1];
    (void)state;
    secret_set(&s, "0123456789abcdef0123");
    httpauth_mac(&s, TS, "POST", PATH, hex);
    assert_string_equal(hex, WANT);
}

static void
test_check(void **state)
{
    struct auth_secret s, wrong;
    struct httpauth_seen *seen = calloc(1, sizeof(*seen));
    struct httpauth_req r = req_with("Framefarm 1700000000 " WANT);
    (void)state;
    assert_non_null(seen);
    secret_set(&s, "0123456789abcdef0123");
    secret_set(&wrong, "another secret, wrong");
    assert_int_equal(httpauth_check(&wrong, &r, TS, seen), HTTPAUTH_BAD_MAC);
    /* Within 60 s either way: on time. */
    assert_int_equal(httpauth_check(&s, &r, TS + HTTPAUTH_SKEW_S + 1, seen),
                     HTTPAUTH_EXPIRED);
    assert_int_equal(httpauth_check(&s, &r, TS - HTTPAUTH_SKEW_S - 1, seen),
                     HTTPAUTH_EXPIRED);
    assert_int_equal(httpauth_check(&s, &r, TS + HTTPAUTH_SKEW_S, seen),
                     HTTPAUTH_OK);
    assert_int_equal(httpauth_check(&s, &r, TS, seen), HTTPAUTH_REPLAYED);
    /* The MAC covers the method and the path. */
    r.path = "/api/nodes/b/drain";
    assert_int_equal(httpauth_check(&s, &r, TS, seen), HTTPAUTH_BAD_MAC);
    r.path = PATH;
    r.method = "GET";
    assert_int_equal(httpauth_check(&s, &r, TS, seen), HTTPAUTH_BAD_MAC);
    /* A secret is needed, whoever asks: loopback too. */
    r = req_with(NULL);
    r.peer_loopback = 1;
    r.host = "127.0.0.1:7780";
    assert_int_equal(httpauth_check(&s, &r, TS, seen), HTTPAUTH_MISSING);
    free(seen);
}

static void
test_malformed(void **state)
{
    static const char *const bad[] = {
        "Bearer " WANT,
        "Framefarm " WANT,
        "Framefarm  1700000000 " WANT,
        "Framefarm 1700000000 " WANT " ",
        "Framefarm 1700000000 19931FB91632820A46CE74A541DB3FF62A700C0C463BAC1A"
        "391B0277B3A1032D",
        "Framefarm 1700000000 19931fb9",
        "Framefarm -1700000000 " WANT,
        "Framefarm 99999999999999999999999 " WANT,
        "",
    };
    struct auth_secret s;
    struct httpauth_seen *seen = calloc(1, sizeof(*seen));
    (void)state;
    assert_non_null(seen);
    secret_set(&s, "0123456789abcdef0123");
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct httpauth_req r = req_with(bad[i]);
        enum httpauth_verdict v = httpauth_check(&s, &r, TS, seen);
        if (v != HTTPAUTH_MALFORMED)
            fail_msg("\"%s\": verdict %d, want malformed", bad[i], (int)v);
    }
    free(seen);
}

/* HTTPAUTH_SEEN actions in the window; the next is told to wait, and
 * taken once the oldest is out of it. */
static void
test_busy(void **state)
{
    struct auth_secret s;
    struct httpauth_seen *seen = calloc(1, sizeof(*seen));
    char hex[AUTH_MAC_HEX + 1], h[160];
    struct httpauth_req r = req_with(h);
    int64_t ts = TS;
    (void)state;
    assert_non_null(seen);
    secret_set(&s, "0123456789abcdef0123");
    for (int i = 0; i <= HTTPAUTH_SEEN; i++, ts++) {
        httpauth_mac(&s, ts, "POST", PATH, hex);
        snprintf(h, sizeof(h), "Framefarm %lld %s", (long long)ts, hex);
        assert_int_equal(httpauth_check(&s, &r, ts, seen),
                         i < HTTPAUTH_SEEN ? HTTPAUTH_OK : HTTPAUTH_BUSY);
    }
    ts += 2 * HTTPAUTH_SKEW_S;
    httpauth_mac(&s, ts, "POST", PATH, hex);
    snprintf(h, sizeof(h), "Framefarm %lld %s", (long long)ts, hex);
    assert_int_equal(httpauth_check(&s, &r, ts, seen), HTTPAUTH_OK);
    free(seen);
}

static void
test_no_secret(void **state)
{
    struct httpauth_seen *seen = calloc(1, sizeof(*seen));
    struct httpauth_req r = req_with(NULL);
    (void)state;
    assert_non_null(seen);
    r.peer_loopback = 1;
    r.host = "127.0.0.1:7780";
    assert_int_equal(httpauth_check(NULL, &r, TS, seen), HTTPAUTH_OK);
    r.host = "localhost";
    assert_int_equal(httpauth_check(NULL, &r, TS, seen), HTTPAUTH_OK);
    r.host = "[::1]:7780";
    assert_int_equal(httpauth_check(NULL, &r, TS, seen), HTTPAUTH_OK);
    /* A page whose name was rebound to 127.0.0.1 still says its name. */
    r.host = "evil.example:7780";
    assert_int_equal(httpauth_check(NULL, &r, TS, seen), HTTPAUTH_REMOTE);
    r.host = NULL;
    assert_int_equal(httpauth_check(NULL, &r, TS, seen), HTTPAUTH_REMOTE);
    r.host = "127.0.0.1:7780";
    r.peer_loopback = 0;
    assert_int_equal(httpauth_check(NULL, &r, TS, seen), HTTPAUTH_REMOTE);
    assert_true(httpauth_host_loopback("127.1.2.3:80"));
    assert_false(httpauth_host_loopback("127.1"));
    assert_false(httpauth_host_loopback("127.0.0.1.evil.example"));
    assert_false(httpauth_host_loopback("[::2]:80"));
    assert_false(httpauth_host_loopback("128.0.0.1"));
    free(seen);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mac_matches_hmac), cmocka_unit_test(test_check),
        cmocka_unit_test(test_malformed),        cmocka_unit_test(test_busy),
        cmocka_unit_test(test_no_secret),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
