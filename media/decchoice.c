/*
 * decchoice.c - see decchoice.h. The names it knows are hwjpeg's back-end
 * table (a lookup, no libav call), so --decoder takes exactly what the
 * probe tries.
 */
#include "media/decchoice.h"

#include <errno.h>
#include <string.h>

#include "media/hwjpeg.h"

int
decchoice_known(const char *want)
{
    if (want == NULL || strcmp(want, "auto") == 0 ||
        strcmp(want, DECPROBE_CPU) == 0)
        return 1;
    return hwjpeg_backend_find(want) != NULL;
}

int
decchoice_choose(const struct decprobe *p, const char *want,
                 struct decchoice *out, char *err, size_t errlen)
{
    const struct decprobe_entry *best = NULL;
    double cpu_aggregate;

    memset(out, 0, sizeof(*out));
    out->name = DECPROBE_CPU;
    if (want != NULL && strcmp(want, "auto") != 0) {
        if (strcmp(want, DECPROBE_CPU) == 0)
            return 0;
        for (size_t i = 0; i < p->n; i++) {
            const struct decprobe_entry *e = &p->hw[i];
            if (strcmp(e->name, want) != 0)
                continue;
            if (e->ok) {
                out->name = e->name;
                return 0;
            }
            out->fallback = 1;
            errf(out->why, sizeof(out->why), "decoder %s unavailable (%s)",
                 want, e->reason);
            return 0;
        }
        errf(err, errlen, "unknown decoder \"%s\" (auto, cpu, nvdec, vaapi)",
             want);
        errno = EINVAL;
        return -1;
    }
    for (size_t i = 0; i < p->n; i++)
        if (p->hw[i].ok && (best == NULL || p->hw[i].ms < best->ms))
            best = &p->hw[i];
    if (best == NULL)
        return 0;
    cpu_aggregate = p->cpu_ms / (p->cpu_threads > 0 ? p->cpu_threads : 1);
    if (best->ms < cpu_aggregate) {
        out->name = best->name;
        errf(out->why, sizeof(out->why),
             "%s: %.2f ms/picture, faster than the CPU's %.2f (%.2f ms on "
             "each of %d threads)",
             best->name, best->ms, cpu_aggregate, p->cpu_ms, p->cpu_threads);
        return 0;
    }
    errf(out->why, sizeof(out->why),
         "%s: %.2f ms/picture, slower than the CPU's %.2f (%.2f ms on each "
         "of %d threads)",
         best->name, best->ms, cpu_aggregate, p->cpu_ms, p->cpu_threads);
    return 0;
}
