/*
 * concat_bench.c - times media/concat_videos (the ambassador's concat)
 * on the mini-videos a job left on its share, RUNS times, and prints each
 * run and the median. Each input's sha256 is taken first, untimed, and
 * given to the concat, which checks every input against it as the
 * checker has it do (until 1bd86ec the check was a pass of its own before
 * the concat, not timed here).
 * Usage: concat_bench OUT.mp4 FRAMES RUNS LIST [nohash]
 * (LIST: the inputs' paths, one a line, in set order; FRAMES: their
 * total; nohash: give the concat no sha256s, nothing hashed at all, to
 * compare its CPU time with builds before 1a6d74d under perf stat)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/fsutil.h"
#include "common/hash.h"
#include "media/concat.h"

#define BENCH_RUNS_MAX 99

static int
bench_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

int
main(int argc, char **argv)
{
    uint64_t ms[BENCH_RUNS_MAX], frames, got = 0;
    char line[FS_PATH_MAX], err[ERR_MAX], **paths = NULL, **shas = NULL;
    size_t n = 0, cap = 0;
    int runs, rc = 1;
    FILE *f;

    if (argc != 5 && !(argc == 6 && strcmp(argv[5], "nohash") == 0)) {
        fprintf(stderr,
                "usage: concat_bench OUT.mp4 FRAMES RUNS LIST [nohash]\n");
        return 2;
    }
    frames = strtoull(argv[2], NULL, 10);
    runs = atoi(argv[3]);
    if (runs < 1 || runs > BENCH_RUNS_MAX) {
        fprintf(stderr, "concat_bench: RUNS must be 1 to %d\n", BENCH_RUNS_MAX);
        return 2;
    }
    f = fopen(argv[4], "r");
    if (f == NULL) {
        perror(argv[4]);
        return 1;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        if (n == cap) {
            char **p = realloc(paths, (cap = cap * 2 + 64) * sizeof(*p));
            if (p == NULL)
                goto out;
            paths = p;
        }
        paths[n] = strdup(line);
        if (paths[n++] == NULL)
            goto out;
    }
    shas = calloc(n > 0 ? n : 1, sizeof(*shas));
    if (shas == NULL)
        goto out;
    for (size_t i = 0; argc == 5 && i < n; i++) {
        shas[i] = malloc(HASH_HEX_LEN + 1);
        if (shas[i] == NULL ||
            hash_sha256_file(paths[i], shas[i], NULL) == -1) {
            perror(paths[i]);
            goto out;
        }
    }
    for (int r = 0; r < runs; r++) {
        uint64_t t0 = clock_now_ms();
        if (concat_videos((const char *const *)paths,
                          argc == 5 ? (const char *const *)shas : NULL, n,
                          argv[1], NULL, frames, &got, err,
                          sizeof(err)) == -1) {
            fprintf(stderr, "concat_bench: %s\n", err);
            goto out;
        }
        ms[r] = clock_now_ms() - t0;
        printf("%s%llu",
               r > 0 ? " " : "runs (ms): ", (unsigned long long)ms[r]);
    }
    qsort(ms, (size_t)runs, sizeof(ms[0]), bench_cmp);
    printf("\n%zu inputs, %llu frames: median %llu ms\n", n,
           (unsigned long long)got, (unsigned long long)ms[runs / 2]);
    rc = 0;
out:
    fclose(f);
    for (size_t i = 0; i < n; i++) {
        free(paths[i]);
        if (shas != NULL)
            free(shas[i]);
    }
    free(paths);
    free(shas);
    return rc;
}
