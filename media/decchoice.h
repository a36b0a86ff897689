/*
 * decchoice.h - where a node decodes its JPEGs: the pure policy over
 * decprobe's results (the probe, the user's --decoder -> a decoder and
 * why). No clock, no I/O, no libav types: any thread.
 */
#ifndef FF_DECCHOICE_H
#define FF_DECCHOICE_H

#include <stddef.h>

#include "common/err.h"
#include "media/decprobe.h"

struct decchoice {
    const char *name;  /* DECPROBE_CPU or a hardware entry's name */
    int fallback;      /* a hardware decoder was asked for and is unusable */
    char why[ERR_MAX]; /* the reason for the choice, "" when plain */
};

/* The decoder under policy want (NULL or "auto", "cpu", "nvdec",
 * "vaapi"), given the probe p:
 *   auto: the fastest hardware decoder that passed, when one stream of it
 *         decodes faster than all the CPU threads together (cpu_ms /
 *         cpu_threads); else the CPU, saying why.
 *   cpu:  the CPU.
 *   a hardware name: that decoder when it passed (even if slower: asked
 *         for by name); else the CPU, as a fallback with the reason.
 * 0 with *out, or -1 with err for a name that is none of these. */
int decchoice_choose(const struct decprobe *p, const char *want,
                     struct decchoice *out, char *err, size_t errlen);
/* 1 when want is a decoder policy decchoice_choose takes. */
int decchoice_known(const char *want);

#endif
