/*
 * encsel.h - a render node's choice of encoder for each set, and its
 * memory of the hardware encoders that failed at run time. The policy is
 * media/encchoice.c's pure encchoice_choose (the set's encoder, else the
 * node's; the probe results; a circuit breaker per hardware encoder; the
 * job's and the node's fallback policy); encsel owns the breakers, applies
 * the node's --preset, and logs every fallback so that a CPU encode is
 * never passed off as a GPU one.
 *
 * Threads: encsel_assign runs on the session thread, encsel_retry and
 * encsel_finish on the worker that rendered the set (or whoever frees the
 * work). A mutex guards the breakers and is held only around the pure
 * breaker calls, never across a render or I/O. Lives as long as the node.
 */
#ifndef FF_ENCSEL_H
#define FF_ENCSEL_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "media/encprobe.h"

struct work;
struct encsel;

/* enc[0..n) are the probe results (borrowed, for the node's life);
 * encoder is the node's --encoder, fallback_cpu its --fallback, preset its
 * --preset ("" or NULL: the job's), fault the fault_encoder() test hook
 * (NULL: none). NULL when out of memory. */
struct encsel *encsel_new(const struct encprobe_entry *enc, size_t n,
                          const char *encoder, int fallback_cpu,
                          const char *preset, const char *fault, uint64_t seed);
void encsel_free(struct encsel *s); /* NULL ok */

/* Choose w's encoder (w->m must be set): fills w->encoder, w->retry and
 * w->fallback, applies the node's preset to w->m, and logs a fallback.
 * A hardware choice then awaits its outcome (encsel_retry/_finish). 0, or
 * -1 with err: the set cannot be rendered on this node. */
int encsel_assign(struct encsel *s, struct work *w, uint64_t now_ms, char *err,
                  size_t errlen);
/* After a failed render of w: when the encoder was a hardware one and
 * failed itself (render_result.encoder_failed), record that in its
 * breaker; then the CPU encoder to render w again with, when the policy
 * allows (w->fallback says why; logged), else NULL. w->encoder is left
 * as chosen: the session may read it while the worker holds w. */
const char *encsel_retry(struct encsel *s, struct work *w, uint64_t now_ms);
/* w's render is over, or w is dropped unrendered: a hardware encoder
 * still awaiting this outcome records success (w->ok), or gives back the
 * half-open probe it held. Idempotent. */
void encsel_finish(struct encsel *s, struct work *w, uint64_t now_ms);
/* The encoder the test hook breaks, or NULL. */
const char *encsel_fault(const struct encsel *s);

#endif
