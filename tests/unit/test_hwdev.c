/*
 * test_hwdev.c - the process's hardware devices are created once and
 * shared by reference (media/hwdev.h), even when several threads ask at
 * the same moment, and a device that cannot open is reported with libav's
 * reason and tried again on the next ask. The shared device here is a
 * real one that needs no GPU: Vulkan on Mesa's CPU driver (lavapipe,
 * Debian's mesa-vulkan-drivers, which `make deps` installs).
 */
#include "tests/unit/unit.h"

#include <errno.h>
#include <pthread.h>

#include "common/err.h"
#include "media/hwdev.h"

#define ASKERS 4
#define NO_NODE "/nonexistent/renderD999"

struct asker {
    pthread_t th;
    AVBufferRef *dev;
    int rc;
    char err[ERR_MAX];
};

static pthread_barrier_t start;

static void *
ask(void *arg)
{
    struct asker *a = arg;
    pthread_barrier_wait(&start);
    a->rc = hwdev_get(AV_HWDEVICE_TYPE_VULKAN, NULL, &a->dev, a->err,
                      sizeof(a->err));
    return NULL;
}

static void
test_shared_once(void **state)
{
    struct asker a[ASKERS];
    unsigned before = hwdev_created();
    (void)state;

    memset(a, 0, sizeof(a));
    pthread_barrier_init(&start, NULL, ASKERS);
    for (int i = 0; i < ASKERS; i++)
        assert_int_equal(pthread_create(&a[i].th, NULL, ask, &a[i]), 0);
    for (int i = 0; i < ASKERS; i++)
        pthread_join(a[i].th, NULL);
    pthread_barrier_destroy(&start);
    for (int i = 0; i < ASKERS; i++) {
        if (a[i].rc != 0)
            fail_msg("asker %d: %s (is mesa-vulkan-drivers installed?)", i,
                     a[i].err);
        /* One device: every reference points at the same context. */
        assert_ptr_equal(a[i].dev->data, a[0].dev->data);
    }
    assert_int_equal(hwdev_created(), before + 1);
    for (int i = 0; i < ASKERS; i++)
        av_buffer_unref(&a[i].dev);

    /* Still there for the next asker, still not created again. */
    assert_int_equal(hwdev_get(AV_HWDEVICE_TYPE_VULKAN, NULL, &a[0].dev,
                               a[0].err, sizeof(a[0].err)),
                     0);
    assert_int_equal(hwdev_created(), before + 1);
    av_buffer_unref(&a[0].dev);
    /* The registry keeps it to the end (as a node does): Mesa's driver
     * stays loaded, so a sanitizer can still name what it allocated. */
}

static void
test_missing_device(void **state)
{
    AVBufferRef *dev = (AVBufferRef *)(uintptr_t)1;
    char err[ERR_MAX] = "";
    unsigned before = hwdev_created();
    (void)state;

    for (int attempt = 0; attempt < 2; attempt++) {
        assert_int_equal(
            hwdev_get(AV_HWDEVICE_TYPE_VAAPI, NO_NODE, &dev, err, sizeof(err)),
            -1);
        assert_null(dev);
        assert_contains(err, "vaapi");
        assert_contains(err, NO_NODE);
    }
    assert_int_equal(hwdev_created(), before);

    assert_int_equal(
        hwdev_get(AV_HWDEVICE_TYPE_NONE, NULL, &dev, err, sizeof(err)), -1);
    assert_int_equal(errno, EINVAL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shared_once),
        cmocka_unit_test(test_missing_device),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
