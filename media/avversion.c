/*
 * avversion.c - see avversion.h.
 */
#include "media/avversion.h"

#include <stdio.h>

#include <libavcodec/avcodec.h>
#include <libavutil/avutil.h>

#include "common/version.h"

#define AVVERSION_LINE_MAX 256

void
avversion_print(const char *program)
{
    char own[AVVERSION_LINE_MAX];
    unsigned v = avcodec_version();

    version_text(own, sizeof(own), program);
    printf("%s, FFmpeg %s (libavcodec %u.%u.%u)\n", own, av_version_info(),
           AV_VERSION_MAJOR(v), AV_VERSION_MINOR(v), AV_VERSION_MICRO(v));
}
