/*
 * test_auth.c - node authentication (common/auth.h): the answer to a
 * nonce is the standard HMAC-SHA256 of it under the shared secret, as 64
 * lowercase hex digits; only the right secret, the right nonce and the
 * whole right answer pass; and reading the secret file (newlines, length
 * limits, binary bytes, missing or unreadable files; the code checks no
 * file mode). Each test that writes a secret file works in its own
 * directory under /tmp.
 */
#include "tests/unit/unit.h"

#include <errno.h>
#include <grp.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define TEST_NOBODY 65534      /* an unprivileged uid and gid */
#define TEST_DIR_TRAVERSE 0711 /* others may pass through, not list */

#include "common/auth.h"
#include "common/err.h"

#define SECRET "correct horse battery staple"
#define NONCES 64
#define HEX_DIGITS "0123456789abcdef"

static void
secret_set(struct auth_secret *s, const void *key, size_t len)
{
    memset(s, 0, sizeof(*s));
    memcpy(s->key, key, len);
    s->len = len;
}

static void
expect_hex(const char *what, const char *hex, size_t len)
{
    if (strlen(hex) != len || strspn(hex, HEX_DIGITS) != len)
        fail_msg("%s \"%s\" is not %zu lowercase hex digits", what, hex, len);
}

/* Write the file dir/name holding data. */
static void
put_file(const char *dir, const char *name, const void *data, size_t len)
{
    char path[FS_PATH_MAX];
    unit_path(path, dir, name);
    if (fs_write_atomic(path, data, len) != 0)
        fail_msg("writing %s: %s", path, strerror(errno));
}

/* The secret in dir/name, which must load. */
static void
load_ok(const char *dir, const char *name, struct auth_secret *s)
{
    char path[FS_PATH_MAX], err[ERR_MAX] = "";
    unit_path(path, dir, name);
    if (auth_load(path, s, err, sizeof(err)) != 0)
        fail_msg("loading %s: %s", name, err);
}

/* dir/name must be refused with an error naming the file and want. */
static void
load_bad(const char *dir, const char *name, const char *want)
{
    struct auth_secret s;
    char path[FS_PATH_MAX], err[ERR_MAX] = "";
    unit_path(path, dir, name);
    if (auth_load(path, &s, err, sizeof(err)) != -1)
        fail_msg("%s loaded (%zu bytes), want an error with \"%s\"", name,
                 s.len, want);
    assert_contains(err, path);
    assert_contains(err, want);
}

/* RFC 4231 test case 2: a node or a tool written against any HMAC
 * library computes the same answer. */
static void
test_mac_is_standard_hmac_sha256(void **state)
{
    struct auth_secret s;
    char mac[AUTH_MAC_HEX + 1];
    (void)state;

    secret_set(&s, "Jefe", 4);
    auth_mac(&s, "what do ya want for nothing?", mac);
    assert_string_equal(mac, "5bdcc146bf60754e6a042426089575c7"
                             "5a003f089d2739839dec58b964ec3843");
}

static void
test_right_secret_verifies(void **state)
{
    struct auth_secret s;
    char nonce[AUTH_NONCE_HEX + 1], mac[AUTH_MAC_HEX + 1];
    (void)state;

    secret_set(&s, SECRET, strlen(SECRET));
    for (int i = 0; i < NONCES; i++) {
        assert_int_equal(auth_nonce(nonce), 0);
        expect_hex("nonce", nonce, AUTH_NONCE_HEX);
        auth_mac(&s, nonce, mac);
        expect_hex("mac", mac, AUTH_MAC_HEX);
        if (!auth_check(&s, nonce, mac))
            fail_msg("mac %s for nonce %s refused", mac, nonce);
    }
}

/* Fresh nonces do not repeat (a repeated one would let a recorded answer
 * be replayed). */
static void
test_nonces_differ(void **state)
{
    char seen[NONCES][AUTH_NONCE_HEX + 1];
    (void)state;

    for (int i = 0; i < NONCES; i++) {
        assert_int_equal(auth_nonce(seen[i]), 0);
        for (int k = 0; k < i; k++)
            if (strcmp(seen[i], seen[k]) == 0)
                fail_msg("nonce %d repeats nonce %d: %s", i, k, seen[i]);
    }
}

static void
test_wrong_secret_fails(void **state)
{
    struct auth_secret right, wrong;
    char nonce[AUTH_NONCE_HEX + 1], mac[AUTH_MAC_HEX + 1];
    (void)state;

    secret_set(&right, SECRET, strlen(SECRET));
    assert_int_equal(auth_nonce(nonce), 0);
    auth_mac(&right, nonce, mac);

    /* One byte different, at each end. */
    secret_set(&wrong, SECRET, strlen(SECRET));
    wrong.key[0] ^= 1;
    assert_false(auth_check(&wrong, nonce, mac));
    secret_set(&wrong, SECRET, strlen(SECRET));
    wrong.key[wrong.len - 1] ^= 1;
    assert_false(auth_check(&wrong, nonce, mac));
    /* A prefix of the secret, and the secret with one byte more. */
    secret_set(&wrong, SECRET, strlen(SECRET) - 1);
    assert_false(auth_check(&wrong, nonce, mac));
    secret_set(&wrong, SECRET "!", strlen(SECRET) + 1);
    assert_false(auth_check(&wrong, nonce, mac));
    /* And the right one still passes. */
    assert_true(auth_check(&right, nonce, mac));
}

/* Any change to the nonce or to the answer fails: every hex digit of
 * either changed in turn, the answer cut short or made longer. */
static void
test_tampered_nonce_or_mac_fails(void **state)
{
    struct auth_secret s;
    char nonce[AUTH_NONCE_HEX + 1], mac[AUTH_MAC_HEX + 1],
        bad[AUTH_MAC_HEX + 2];
    (void)state;

    secret_set(&s, SECRET, strlen(SECRET));
    assert_int_equal(auth_nonce(nonce), 0);
    auth_mac(&s, nonce, mac);

    for (size_t i = 0; i < AUTH_NONCE_HEX; i++) {
        char c = nonce[i];
        nonce[i] = c == '0' ? '1' : '0';
        if (auth_check(&s, nonce, mac))
            fail_msg("mac %s passed for a nonce changed at digit %zu: %s", mac,
                     i, nonce);
        nonce[i] = c;
    }
    for (size_t i = 0; i < AUTH_MAC_HEX; i++) {
        memcpy(bad, mac, sizeof(mac));
        bad[i] = mac[i] == 'f' ? 'e' : 'f';
        if (auth_check(&s, nonce, bad))
            fail_msg("mac changed at digit %zu passed: %s (right: %s)", i, bad,
                     mac);
    }
    /* A prefix of the right answer: a check that compared only the bytes
     * given would pass it. */
    for (size_t len = 0; len < AUTH_MAC_HEX; len++) {
        memcpy(bad, mac, len);
        bad[len] = '\0';
        if (auth_check(&s, nonce, bad))
            fail_msg("the first %zu digits of the mac passed: \"%s\"", len,
                     bad);
    }
    snprintf(bad, sizeof(bad), "%s0", mac);
    assert_false(auth_check(&s, nonce, bad));
    assert_true(auth_check(&s, nonce, mac));
}

/* The secret as written by echo (a newline) or on Windows (CR LF) is the
 * same secret: it authenticates against the one without. */
static void
test_load_drops_trailing_newlines(void **state)
{
    const char *dir = *state;
    struct auth_secret plain, s;
    char nonce[AUTH_NONCE_HEX + 1], mac[AUTH_MAC_HEX + 1];

    put_file(dir, "plain", SECRET, strlen(SECRET));
    put_file(dir, "lf", SECRET "\n", strlen(SECRET) + 1);
    put_file(dir, "crlf", SECRET "\r\n\n", strlen(SECRET) + 3);

    load_ok(dir, "plain", &plain);
    assert_int_equal(plain.len, strlen(SECRET));
    assert_memory_equal(plain.key, SECRET, plain.len);
    assert_int_equal(auth_nonce(nonce), 0);
    auth_mac(&plain, nonce, mac);
    load_ok(dir, "lf", &s);
    assert_int_equal(s.len, strlen(SECRET));
    assert_true(auth_check(&s, nonce, mac));
    load_ok(dir, "crlf", &s);
    assert_int_equal(s.len, strlen(SECRET));
    assert_true(auth_check(&s, nonce, mac));
}

static void
test_load_length_limits(void **state)
{
    const char *dir = *state;
    struct auth_secret s;
    char *big = malloc(AUTH_SECRET_MAX + 1);

    assert_non_null(big);
    memset(big, 'k', AUTH_SECRET_MAX + 1);

    put_file(dir, "empty", "", 0);
    load_bad(dir, "empty", "shorter than 16 bytes");
    put_file(dir, "newline", "\n", 1);
    load_bad(dir, "newline", "shorter than 16 bytes");
    put_file(dir, "short", big, AUTH_SECRET_MIN - 1);
    load_bad(dir, "short", "shorter than 16 bytes");
    /* The newline does not count towards the minimum. */
    big[AUTH_SECRET_MIN - 1] = '\n';
    put_file(dir, "short-lf", big, AUTH_SECRET_MIN);
    load_bad(dir, "short-lf", "shorter than 16 bytes");
    big[AUTH_SECRET_MIN - 1] = 'k';

    put_file(dir, "min", big, AUTH_SECRET_MIN);
    load_ok(dir, "min", &s);
    assert_int_equal(s.len, AUTH_SECRET_MIN);

    put_file(dir, "max", big, AUTH_SECRET_MAX);
    load_ok(dir, "max", &s);
    assert_int_equal(s.len, AUTH_SECRET_MAX);
    assert_memory_equal(s.key, big, AUTH_SECRET_MAX);

    put_file(dir, "too-long", big, AUTH_SECRET_MAX + 1);
    load_bad(dir, "too-long", strerror(EFBIG));
    free(big);
}

/* A secret of random bytes, NULs included, is used whole: a strlen
 * somewhere would cut it to its first few bytes. */
static void
test_load_binary_secret(void **state)
{
    const char *dir = *state;
    static const unsigned char key[] = {
        0x00, 0x01, 0x02, 0xff, 0x00, 0x7f, 0x80, 0x0a, 0x0d, 0x00,
        0x41, 0x42, 0x00, 0x00, 0x10, 0x20, 0x30, 0x40, 0xfe, 0x99,
    };
    struct auth_secret s, head;
    char nonce[AUTH_NONCE_HEX + 1], mac[AUTH_MAC_HEX + 1];

    put_file(dir, "binary", key, sizeof(key));
    load_ok(dir, "binary", &s);
    assert_int_equal(s.len, sizeof(key));
    assert_memory_equal(s.key, key, sizeof(key));

    assert_int_equal(auth_nonce(nonce), 0);
    auth_mac(&s, nonce, mac);
    secret_set(&head, key, 1); /* what a strlen-based key would be */
    assert_false(auth_check(&head, nonce, mac));
}

static void
test_load_unreadable(void **state)
{
    const char *dir = *state;
    char path[FS_PATH_MAX];

    load_bad(dir, "missing", strerror(ENOENT));
    unit_path(path, dir, "a-directory");
    assert_int_equal(mkdir(path, 0700), 0);
    load_bad(dir, "a-directory", strerror(EISDIR));
}

/* A secret file its reader may not open is an error, not an empty
 * secret. Root reads any file, so this needs another user. */
static void
test_load_no_permission(void **state)
{
    const char *dir = *state;
    char path[FS_PATH_MAX];
    pid_t pid;
    int status;

    put_file(dir, "locked", SECRET, strlen(SECRET));
    unit_path(path, dir, "locked");
    assert_int_equal(chmod(path, 0), 0);
    if (geteuid() != 0) {
        load_bad(dir, "locked", strerror(EACCES));
        return;
    }
    /* Root reads a file of mode 000: check as an unprivileged user, in a
     * child (the directory must let it through to the file). */
    assert_int_equal(chmod(dir, TEST_DIR_TRAVERSE), 0);
    pid = fork();
    assert_true(pid != -1);
    if (pid == 0) {
        struct auth_secret s;
        char err[ERR_MAX] = "";
        if (setgroups(0, NULL) != 0 ||
            setresgid(TEST_NOBODY, TEST_NOBODY, TEST_NOBODY) != 0 ||
            setresuid(TEST_NOBODY, TEST_NOBODY, TEST_NOBODY) != 0)
            _exit(2);
        _exit(auth_load(path, &s, err, sizeof(err)) == -1 &&
                      strstr(err, strerror(EACCES)) != NULL
                  ? 0
                  : 1);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("as an unprivileged user, a secret of mode 000 %s",
                 WIFEXITED(status) && WEXITSTATUS(status) == 1
                     ? "loaded, or failed without \"Permission denied\""
                     : "could not be tried (cannot drop privileges)");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mac_is_standard_hmac_sha256),
        cmocka_unit_test(test_right_secret_verifies),
        cmocka_unit_test(test_nonces_differ),
        cmocka_unit_test(test_wrong_secret_fails),
        cmocka_unit_test(test_tampered_nonce_or_mac_fails),
        cmocka_unit_test_setup_teardown(test_load_drops_trailing_newlines,
                                        unit_tmpdir_setup,
                                        unit_tmpdir_teardown),
        cmocka_unit_test_setup_teardown(
            test_load_length_limits, unit_tmpdir_setup, unit_tmpdir_teardown),
        cmocka_unit_test_setup_teardown(
            test_load_binary_secret, unit_tmpdir_setup, unit_tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_load_unreadable, unit_tmpdir_setup,
                                        unit_tmpdir_teardown),
        cmocka_unit_test_setup_teardown(
            test_load_no_permission, unit_tmpdir_setup, unit_tmpdir_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
