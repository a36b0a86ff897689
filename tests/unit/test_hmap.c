/*
 * test_hmap.c - the hash map (common/hmap.h): what is put is found, what
 * is removed is gone and everything else stays reachable (backward-shift
 * deletion, checked against a plain array over many random operations),
 * string keys compare by content, and a failed growth leaves the map as
 * it was.
 */
#include "tests/unit/unit.h"

#include <errno.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/hmap.h"

#define RANDOM_KEYS 2048
#define RANDOM_OPS 200000
#define GROW_FILL 65536 /* a put after this many grows the map */
#define GROW_HEADROOM (1u << 20)
#define NAME_LEN 32

static void *
val(uintptr_t v)
{
    return (void *)v;
}

static void
test_put_get_del_u64(void **state)
{
    struct hmap m;
    (void)state;
    hmap_init(&m);
    assert_null(hmap_get_u64(&m, 1));
    assert_null(hmap_del_u64(&m, 1));
    for (uintptr_t k = 1; k <= 1000; k++)
        assert_int_equal(hmap_put_u64(&m, k, val(k * 10)), 0);
    assert_int_equal(m.n, 1000);
    for (uintptr_t k = 1; k <= 1000; k++)
        assert_ptr_equal(hmap_get_u64(&m, k), val(k * 10));
    assert_null(hmap_get_u64(&m, 1001));
    /* Replacing keeps one entry. */
    assert_int_equal(hmap_put_u64(&m, 7, val(77)), 0);
    assert_int_equal(m.n, 1000);
    assert_ptr_equal(hmap_get_u64(&m, 7), val(77));
    assert_ptr_equal(hmap_del_u64(&m, 7), val(77));
    assert_null(hmap_get_u64(&m, 7));
    assert_null(hmap_del_u64(&m, 7));
    assert_int_equal(m.n, 999);
    hmap_fini(&m);
    assert_int_equal(m.n, 0);
}

/* Random puts and removals over a small key space (so chains form and
 * break), checked after each step against an array. */
static void
test_random_against_array(void **state)
{
    static uintptr_t ref[RANDOM_KEYS];
    struct hmap m;
    uint64_t rng = 0x9e3779b97f4a7c15ull;
    size_t n = 0;
    (void)state;
    memset(ref, 0, sizeof(ref));
    hmap_init(&m);
    for (unsigned i = 0; i < RANDOM_OPS; i++) {
        uint64_t key;
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        key = rng % RANDOM_KEYS;
        if (rng & (1ull << 40)) {
            void *got = hmap_del_u64(&m, key);
            assert_ptr_equal(got, ref[key] != 0 ? val(ref[key]) : NULL);
            n -= ref[key] != 0;
            ref[key] = 0;
        } else {
            uintptr_t v = i + 1;
            assert_int_equal(hmap_put_u64(&m, key, val(v)), 0);
            n += ref[key] == 0;
            ref[key] = v;
        }
        assert_int_equal(m.n, n);
        if (i % 997 == 0)
            for (uint64_t k = 0; k < RANDOM_KEYS; k++)
                assert_ptr_equal(hmap_get_u64(&m, k),
                                 ref[k] != 0 ? val(ref[k]) : NULL);
    }
    hmap_fini(&m);
}

static void
test_string_keys(void **state)
{
    static char names[1000][NAME_LEN];
    struct hmap m;
    char probe[NAME_LEN];
    (void)state;
    hmap_init(&m);
    for (int i = 0; i < 1000; i++) {
        snprintf(names[i], sizeof(names[i]), "node-%05d", i);
        assert_int_equal(hmap_put_str(&m, names[i], names[i]), 0);
    }
    /* Found by content, not by pointer. */
    snprintf(probe, sizeof(probe), "node-%05d", 123);
    assert_ptr_equal(hmap_get_str(&m, probe), names[123]);
    assert_null(hmap_get_str(&m, "node-01000"));
    assert_null(hmap_get_str(&m, ""));
    for (int i = 0; i < 1000; i += 2)
        assert_ptr_equal(hmap_del_str(&m, names[i]), names[i]);
    for (int i = 0; i < 1000; i++)
        assert_ptr_equal(hmap_get_str(&m, names[i]),
                         i % 2 != 0 ? names[i] : NULL);
    assert_int_equal(m.n, 500);
    hmap_fini(&m);
}

/* Out of memory when it must grow: -1 with ENOMEM, every entry still
 * there. In a child, whose address space is capped just above what the
 * full map uses. */
static void
test_grow_fails_cleanly(void **state)
{
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    (void)state;
    skip(); /* the sanitizers reserve more address space than any cap */
#else
    pid_t pid;
    int status;
    (void)state;
    pid = fork();
    assert_true(pid != -1);
    if (pid == 0) {
        struct hmap m;
        struct rlimit rl;
        unsigned long vm = 0;
        char line[128];
        FILE *f;
        int ok = 1;
        hmap_init(&m);
        for (uintptr_t k = 1; k <= GROW_FILL; k++)
            ok &= hmap_put_u64(&m, k, val(k)) == 0;
        f = fopen("/proc/self/status", "r");
        while (f != NULL && fgets(line, sizeof(line), f) != NULL)
            if (sscanf(line, "VmSize: %lu kB", &vm) == 1)
                break;
        if (f != NULL)
            fclose(f);
        rl.rlim_cur = rl.rlim_max = vm * 1024 + GROW_HEADROOM;
        ok &= vm > 0 && setrlimit(RLIMIT_AS, &rl) == 0;
        errno = 0;
        ok &= hmap_put_u64(&m, GROW_FILL + 1, val(1)) == -1 && errno == ENOMEM;
        ok &= m.n == GROW_FILL && hmap_get_u64(&m, GROW_FILL + 1) == NULL;
        for (uintptr_t k = 1; k <= GROW_FILL; k++)
            ok &= hmap_get_u64(&m, k) == val(k);
        _exit(ok ? 0 : 1);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
#endif
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_get_del_u64),
        cmocka_unit_test(test_random_against_array),
        cmocka_unit_test(test_string_keys),
        cmocka_unit_test(test_grow_fails_cleanly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
