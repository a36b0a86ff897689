/*
 * rusage_run.c - runs a command and prints, on stderr, its wall seconds and
 * the CPU seconds (user + system) of it and of every descendant it waited
 * for (framefarm render waits for its ambassador and nodes, so theirs are
 * in it): what `/usr/bin/time` would say, which a machine may lack.
 *   rusage_run CMD [ARG...]  ->  "rusage wall=S cpu=S user=S sys=S"
 * Exits with the command's status.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/clock.h"

#define RUSAGE_MS_PER_S 1000.0
#define RUSAGE_US_PER_S 1e6
#define RUSAGE_EXIT_NOEXEC 127

static double
rusage_seconds(const struct timeval *tv)
{
    return (double)tv->tv_sec + (double)tv->tv_usec / RUSAGE_US_PER_S;
}

int
main(int argc, char **argv)
{
    struct rusage ru;
    int status;
    uint64_t t0;
    pid_t pid;

    if (argc < 2) {
        fprintf(stderr, "usage: rusage_run CMD [ARG...]\n");
        return 2;
    }
    t0 = clock_now_ms();
    pid = fork();
    if (pid == -1) {
        fprintf(stderr, "rusage_run: fork: %s\n", strerror(errno));
        return 1;
    }
    if (pid == 0) {
        execvp(argv[1], argv + 1);
        fprintf(stderr, "rusage_run: %s: %s\n", argv[1], strerror(errno));
        _exit(RUSAGE_EXIT_NOEXEC);
    }
    if (wait4(pid, &status, 0, &ru) == -1) {
        fprintf(stderr, "rusage_run: wait4: %s\n", strerror(errno));
        return 1;
    }
    double user = rusage_seconds(&ru.ru_utime);
    double sys = rusage_seconds(&ru.ru_stime);
    fprintf(stderr, "rusage wall=%.3f cpu=%.3f user=%.3f sys=%.3f\n",
            (double)(clock_now_ms() - t0) / RUSAGE_MS_PER_S, user + sys, user,
            sys);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
