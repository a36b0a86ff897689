/*
 * test_nodenames.c - the names live node sessions hold
 * (coordinator/nodenames.h): a second session of a name is refused and
 * told who holds it; only the holder's end lets the name go; many names
 * at once (the table grows).
 */
#include "tests/unit/unit.h"

#include "coordinator/nodenames.h"

#define MANY 100

static void
test_claim_refuse_release(void **state)
{
    struct nodenames *n = nodenames_new();
    char holder[64] = "";
    (void)state;

    assert_non_null(n);
    assert_int_equal(
        nodenames_claim(n, "a", 1, "10.0.0.1:5000", holder, sizeof(holder)), 0);
    assert_int_equal(
        nodenames_claim(n, "a", 2, "10.0.0.2:6000", holder, sizeof(holder)),
        -1);
    assert_string_equal(holder, "10.0.0.1:5000");
    /* The same session saying hello again keeps its name. */
    assert_int_equal(
        nodenames_claim(n, "a", 1, "10.0.0.1:5000", holder, sizeof(holder)), 0);
    nodenames_release(n, "a", 2); /* not the holder: nothing */
    assert_int_equal(
        nodenames_claim(n, "a", 2, "10.0.0.2:6000", holder, sizeof(holder)),
        -1);
    nodenames_release(n, "a", 1);
    nodenames_release(n, "a", 1);
    assert_int_equal(
        nodenames_claim(n, "a", 2, "10.0.0.2:6000", holder, sizeof(holder)), 0);
    assert_int_equal(nodenames_claim(NULL, "a", 3, "x", holder, sizeof(holder)),
                     0);
    nodenames_free(n);
}

static void
test_many(void **state)
{
    struct nodenames *n = nodenames_new();
    char name[16], holder[64];
    (void)state;

    for (int i = 0; i < MANY; i++) {
        snprintf(name, sizeof(name), "n%d", i);
        assert_int_equal(nodenames_claim(n, name, (uint64_t)i + 1, "p", holder,
                                         sizeof(holder)),
                         0);
    }
    for (int i = 0; i < MANY; i++) {
        snprintf(name, sizeof(name), "n%d", i);
        assert_int_equal(
            nodenames_claim(n, name, 1000, "q", holder, sizeof(holder)), -1);
        nodenames_release(n, name, (uint64_t)i + 1);
        assert_int_equal(
            nodenames_claim(n, name, 1000, "q", holder, sizeof(holder)), 0);
    }
    nodenames_free(n);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_claim_refuse_release),
        cmocka_unit_test(test_many),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
