/*
 * main.c - `framefarm COMMAND ...`: dispatches to render, sample, verify,
 * submit, status, cancel, wait, check-share and bench; `--version` is
 * answered here, for every command.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "common/log.h"
#include "media/avversion.h"

static const struct {
    const char *name;
    int (*fn)(int, char **);
    const char *help;
} commands[] = {
    {"render", cli_render,
     "render ZIP -o OUT.mp4 [--nodes N] [--set-size N] [--fps F]: run an\n"
     "             ambassador and N local render nodes on a share of their\n"
     "             own (the embedded default), with a progress bar"},
    {"sample", cli_sample,
     "sample -o ZIP [--frames N] [--size WxH] [--seed S]: write a zip like\n"
     "             a nuScenes CAM_FRONT download, with indexed frames"},
    {"verify", cli_verify,
     "verify OUT.mp4 --input ZIP [--min-psnr DB]: check every frame of a\n"
     "             video against the zip's frames, in order"},
    {"submit", cli_submit,
     "submit ZIP -o OUT [--priority N] [job flags] [--wait]: queue a job on\n"
     "             the ambassador service; prints the job id"},
    {"status", cli_status,
     "status [JOB] [--json]: the service's jobs, their sets and the nodes"},
    {"cancel", cli_cancel, "cancel JOB: stop a queued or running job"},
    {"wait", cli_wait,
     "wait JOB: exit 0 when the job's video is written and verified"},
    {"check-share", cli_check_share,
     "check-share DIR [--coordinator HOST:PORT]: on a render machine, is\n"
     "             the share mounted, the ambassador's, and sound (PASS,\n"
     "             WARN or FAIL a check, with what to change)"},
    {"bench", cli_bench,
     "bench ZIP [--frames N] [--encoders LIST] [--json] [--svg FILE]: encode\n"
     "             the same frames with every encoder here and with the\n"
     "             ffmpeg command line; speed, CPU, memory, size, PSNR, SSIM"},
};

static void
usage(FILE *f)
{
    fprintf(f, "usage: framefarm COMMAND [ARGS]\n\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(f, "  %s\n", commands[i].help);
    fprintf(f, "\nRun `framefarm COMMAND --help` for a command's flags;\n"
               "`framefarm --version` (or `framefarm COMMAND --version`)\n"
               "prints the version and the FFmpeg it runs on.\n");
}

/* --version anywhere among a command's flags (before "--"). */
static int
wants_version(int argc, char **argv)
{
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
        if (strcmp(argv[i], "--version") == 0)
            return 1;
    return 0;
}

int
main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    log_init("framefarm");
    if (argc < 2) {
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (wants_version(argc, argv) || strcmp(argv[1], "version") == 0) {
        avversion_print("framefarm");
        return 0;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "framefarm: unknown command \"%s\"\n", argv[1]);
    usage(stderr);
    return CLI_EXIT_USAGE;
}
