/*
 * media_cmds.c - `framefarm sample` and `framefarm verify`: thin argument
 * parsing around media/sample and media/verify.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/encparams.h"
#include "common/err.h"
#include "common/frameorder.h"
#include "common/log.h"
#include "media/avlog.h"
#include "media/sample.h"
#include "media/verify.h"

#define CLI_MAX_SAMPLE_FRAMES 100000

static const char sample_usage[] =
    "usage: framefarm sample -o ZIP [--frames N] [--size WxH] [--seed S]\n"
    "           [--cameras N]\n"
    "Writes a zip (-o, --output) that looks like a nuScenes CAM_FRONT\n"
    "download (default 240 frames of 1600x900 at ~12 Hz), each frame's\n"
    "index drawn in.\n"
    "--cameras N (1..6): also CAM_FRONT_RIGHT, CAM_BACK_RIGHT, CAM_BACK,\n"
    "CAM_BACK_LEFT, CAM_FRONT_LEFT, each with one frame fewer than the one\n"
    "before, its own scene and capture times, and a few lidar and radar\n"
    "files.\n";

static const char verify_usage[] =
    "usage: framefarm verify OUT.mp4 --input ZIP [--min-psnr DB]\n"
    "           [--camera CAM_NAME] [--timing auto|fps|timestamps]\n"
    "           [-v|--verbose]\n"
    "Decodes OUT.mp4 and checks the frame count, the size, that every\n"
    "frame is the right source frame in the right order, and its time:\n"
    "a constant rate (fps) or each frame's capture time from the names\n"
    "(timestamps); auto (the default) takes either and says which. The\n"
    "frames are the zip's --camera (default CAM_FRONT), as a job takes\n"
    "them. Exit 0 when it matches, 1 when it does not, 2 when it cannot be\n"
    "checked. A video of another size (--size) is compared with its frames\n"
    "scaled to its size.\n"
    "-v: libav's own lines too (the decoder's banner, its warnings).\n";

/* s as a whole number in 1..max into *out; -1 when it is not, said as
 * flag's error. */
static int
sample_count(const char *s, int max, const char *flag, int *out)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (*end != '\0' || errno != 0 || v < 1 || v > max) {
        fprintf(stderr, "framefarm sample: %s: 1..%d\n", flag, max);
        return -1;
    }
    *out = (int)v;
    return 0;
}

int
cli_sample(int argc, char **argv)
{
    static const struct option opts[] = {
        {"output", required_argument, NULL, 'o'},
        {"frames", required_argument, NULL, 'n'},
        {"size", required_argument, NULL, 's'},
        {"seed", required_argument, NULL, 'S'},
        {"cameras", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct sample_opts so;
    const char *out = NULL;
    char err[ERR_MAX];
    int opt;

    sample_opts_init(&so);
    optind = 1;
    while ((opt = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (opt) {
        case 'o':
            out = optarg;
            break;
        case 'n':
            if (sample_count(optarg, CLI_MAX_SAMPLE_FRAMES, "--frames",
                             &so.frames) == -1)
                return CLI_EXIT_USAGE;
            break;
        case 's':
            if (sscanf(optarg, "%dx%d", &so.width, &so.height) != 2) {
                fprintf(stderr, "framefarm sample: --size: expected WxH\n");
                return CLI_EXIT_USAGE;
            }
            break;
        case 'S':
            so.seed = strtoull(optarg, NULL, 10);
            break;
        case 'c':
            if (sample_count(optarg, SAMPLE_MAX_CAMERAS, "--cameras",
                             &so.cameras) == -1)
                return CLI_EXIT_USAGE;
            break;
        case 'h':
            fputs(sample_usage, stdout);
            return 0;
        default:
            fputs(sample_usage, stderr);
            return CLI_EXIT_USAGE;
        }
    }
    if (out == NULL || optind != argc) {
        fputs(sample_usage, stderr);
        return CLI_EXIT_USAGE;
    }
    if (sample_write_zip(out, &so, err, sizeof(err)) == -1) {
        fprintf(stderr, "framefarm sample: %s\n", err);
        return 1;
    }
    if (so.cameras > 1)
        printf("%s: %d cameras, %d frames of CAM_FRONT (one fewer each "
               "further camera), %dx%d\n",
               out, so.cameras, so.frames, so.width, so.height);
    else
        printf("%s: %d frames, %dx%d\n", out, so.frames, so.width, so.height);
    return 0;
}

int
cli_verify(int argc, char **argv)
{
    static const struct option opts[] = {
        {"input", required_argument, NULL, 'i'},
        {"min-psnr", required_argument, NULL, 'p'},
        {"camera", required_argument, NULL, 'c'},
        {"timing", required_argument, NULL, 't'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct verify_report r;
    struct verify_opts vo;
    const char *zip = NULL, *video = NULL;
    char err[ERR_MAX];
    int opt, rc;

    verify_opts_init(&vo);
    optind = 1;
    while ((opt = getopt_long(argc, argv, "i:vh", opts, NULL)) != -1) {
        switch (opt) {
        case 'i':
            zip = optarg;
            break;
        case 'p':
            vo.min_psnr = strtod(optarg, NULL);
            break;
        case 'c':
            if (!frameorder_camera_valid(optarg)) {
                fprintf(stderr, "framefarm verify: --camera: expected a "
                                "camera such as CAM_FRONT\n");
                return CLI_EXIT_USAGE;
            }
            snprintf(vo.camera, sizeof(vo.camera), "%s", optarg);
            break;
        case 't':
            if (strcmp(optarg, "auto") == 0)
                vo.timing = VERIFY_TIMING_AUTO;
            else if (encparams_parse_timing(optarg, &vo.timing) == -1) {
                fprintf(stderr, "framefarm verify: --timing: expected auto, "
                                "fps or timestamps\n");
                return CLI_EXIT_USAGE;
            }
            break;
        case 'v':
            log_verbosity = 2;
            break;
        case 'h':
            fputs(verify_usage, stdout);
            return 0;
        default:
            fputs(verify_usage, stderr);
            return CLI_EXIT_USAGE;
        }
    }
    if (optind == argc - 1)
        video = argv[optind];
    if (video == NULL || zip == NULL) {
        fputs(verify_usage, stderr);
        return CLI_EXIT_USAGE;
    }
    /* Decode errors are counted in the report; libav's words for them
     * only with -v. */
    avlog_start(0);
    memset(&r, 0, sizeof(r));
    rc = verify_video(video, zip, &vo, &r, err, sizeof(err));
    if (rc == -1) {
        fprintf(stderr, "framefarm verify: %s\n", err);
        return CLI_EXIT_USAGE;
    }
    printf("%s: %llu frames (zip has %llu), %dx%d, %s, %g fps\n", video,
           (unsigned long long)r.video_frames, (unsigned long long)r.zip_frames,
           r.width, r.height, r.codec,
           r.fps_den > 0 ? (double)r.fps_num / r.fps_den : 0.0);
    if (r.src_width != r.width || r.src_height != r.height)
        printf("  the frames are %dx%d: each is scaled to the video's size "
               "before it is compared\n",
               r.src_width, r.src_height);
    printf("  frame marks: %s; order errors: %llu; PSNR min %.2f dB, avg "
           "%.2f dB (threshold %.1f); under threshold: %llu; decode errors: "
           "%llu\n",
           r.marked ? (r.mark_errors == 0 ? "all match" : "MISMATCH")
                    : "not a sample zip (checked by PSNR only)",
           (unsigned long long)r.order_errors, r.psnr_min, r.psnr_avg,
           vo.min_psnr, (unsigned long long)r.psnr_errors,
           (unsigned long long)r.decode_errors);
    printf("  frames: %s; times: %s\n",
           r.camera[0] != '\0' ? r.camera : "the whole zip (no camera names)",
           r.timing == ENC_TIMING_TIMESTAMPS
               ? "every frame at its capture time (timestamps)"
           : r.timing == ENC_TIMING_FPS ? "a constant frame rate (fps)"
                                        : "MISMATCH");
    if (rc == 0) {
        printf("OK: every frame is the right source frame, in order\n");
        return 0;
    }
    printf("MISMATCH: %s\n",
           r.first_problem[0] ? r.first_problem : "see above");
    return 1;
}
