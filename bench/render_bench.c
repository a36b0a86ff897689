/*
 * render_bench.c - times a render node's pipeline (media/render_set) on
 * every frame of a zip as one set, the way a node renders an assignment,
 * and prints one line: frames, wall seconds, CPU seconds, fps.
 * Usage: render_bench ZIP OUT.mp4 [PRESET CRF FPS THREADS ENC_THREADS]
 * (THREADS: decode threads, ENC_THREADS: x264's; 0 = a node's defaults)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/manifest.h"
#include "media/render.h"
#include "media/zipframes.h"

#define BENCH_MS_PER_S 1000.0
#define BENCH_US_PER_S 1e6

static double
bench_cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
           ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) /
               BENCH_US_PER_S;
}

int
main(int argc, char **argv)
{
    struct zipf_limits lim;
    struct zipf_listing *l = NULL;
    struct manifest *m = manifest_new();
    struct render_result res;
    char err[ERR_MAX];
    uint64_t t0;
    double c0;

    if (argc < 3 || m == NULL) {
        fprintf(stderr, "usage: render_bench ZIP OUT.mp4 [PRESET CRF FPS "
                        "THREADS ENC_THREADS]\n");
        return 2;
    }
    zipf_limits_init(&lim);
    if (zipf_list(argv[1], &lim, &l, err, sizeof(err)) == -1) {
        fprintf(stderr, "render_bench: %s\n", err);
        return 1;
    }
    encparams_init(&m->enc);
    if (argc > 3)
        snprintf(m->enc.preset, sizeof(m->enc.preset), "%s", argv[3]);
    if (argc > 4)
        m->enc.crf = atoi(argv[4]);
    if (argc > 5)
        m->enc.fps_num = atoi(argv[5]);
    m->enc.gop = m->enc.fps_num * ENC_DEFAULT_GOP_SECONDS;
    m->enc.width = l->frames[0].width & ~1;
    m->enc.height = l->frames[0].height & ~1;
    snprintf(m->job, sizeof(m->job), "bench");
    m->sets = 1;
    m->total = l->count;
    if (manifest_set_zip(m, argv[1]) == -1 ||
        manifest_alloc_frames(m, l->count) == -1)
        return 1;
    for (size_t i = 0; i < l->count; i++) {
        char name[ZIPF_NAME_MAX];
        manifest_set_frame(m, i, zipf_frame_name(l, i, name), l->frames[i].size,
                           l->frames[i].crc);
    }
    unlink(argv[2]);
    struct render_request rq = {
        .m = m,
        .zip_path = argv[1],
        .out_path = argv[2],
        .encoder = "libx264",
        .threads = argc > 6 ? atoi(argv[6]) : 0,
        .enc_threads = argc > 7 ? atoi(argv[7]) : 0,
    };
    t0 = clock_now_ms();
    c0 = bench_cpu_seconds();
    if (render_set(&rq, NULL, NULL, &res, err, sizeof(err)) == -1) {
        fprintf(stderr, "render_bench: %s\n", err);
        return 1;
    }
    double wall = (double)(clock_now_ms() - t0) / BENCH_MS_PER_S;
    double cpu = bench_cpu_seconds() - c0;
    printf("frames=%llu wall=%.3f cpu=%.3f fps=%.1f bytes=%llu\n",
           (unsigned long long)res.frames, wall, cpu, (double)res.frames / wall,
           (unsigned long long)res.bytes);
    manifest_free(m);
    zipf_listing_free(l);
    return 0;
}
