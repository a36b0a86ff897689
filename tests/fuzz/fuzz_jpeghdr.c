/*
 * fuzz_jpeghdr.c - libFuzzer harness for the JPEG header parser
 * (common/jpeghdr.h), which judges every zip entry by its first bytes.
 * Properties: the answer is -1, 0 or 1; a header found has a non-zero
 * size; and the parser is incremental: a prefix of the input answers
 * "need more" (0) or the same as the whole input, with the same size.
 */
#include "tests/fuzz/fuzz.h"

#include "common/jpeghdr.h"

static void
fuzz_jpeghdr_prefix(const uint8_t *data, size_t len, int whole,
                    const struct jpeghdr *h)
{
    struct jpeghdr ph = {0, 0, 0};
    int r = jpeghdr_parse(data, len, &ph);

    FUZZ_CHECK(r == 0 || r == whole, "a prefix answered differently");
    if (r == 1)
        FUZZ_CHECK(ph.width == h->width && ph.height == h->height &&
                       ph.components == h->components,
                   "a prefix gave another size");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct jpeghdr h = {0, 0, 0};
    int r = jpeghdr_parse(data, size, &h);

    FUZZ_CHECK(r >= -1 && r <= 1, "answer out of range");
    if (r == 1)
        FUZZ_CHECK(h.width > 0 && h.height > 0 && h.components > 0,
                   "a header with a zero size");
    if (size > 0) {
        fuzz_jpeghdr_prefix(data, size - 1, r, &h);
        fuzz_jpeghdr_prefix(data, size / 2, r, &h);
    }
    return 0;
}
