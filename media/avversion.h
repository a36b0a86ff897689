/*
 * avversion.h - `--version` for every framefarm program: its own version
 * (common/version.h) and the FFmpeg it runs on, read from the libraries
 * loaded at run time (not the headers it was built with). Any thread.
 */
#ifndef FF_AVVERSION_H
#define FF_AVVERSION_H

/* Print "PROGRAM 0.1 (git abc1234), FFmpeg 5.1.6 (libavcodec 59.37.100)"
 * and a newline on stdout. */
void avversion_print(const char *program);

#endif
