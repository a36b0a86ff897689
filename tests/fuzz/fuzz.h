/*
 * fuzz.h - what every libFuzzer harness in tests/fuzz/ shares: the entry
 * point's prototype (the project builds with -Wmissing-prototypes) and a
 * check that aborts, so that a broken property is a crash libFuzzer keeps
 * as an artifact. Harness code only; one harness per decoder of untrusted
 * bytes, each fed by tests/fuzz/corpus/<harness>/.
 */
#ifndef FF_TESTS_FUZZ_H
#define FF_TESTS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Abort, printing the condition and why (a decoder's err, or ""), when a
 * property does not hold. */
#define FUZZ_CHECK(cond, why)                                                  \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s:%d: property failed: %s (%s)\n", __FILE__,     \
                    __LINE__, #cond, (why));                                   \
            abort();                                                           \
        }                                                                      \
    } while (0)

#endif
