/*
 * version.h - framefarm's version: the one place it is set, and the git
 * commit the binaries were built from. The Makefile passes FF_GIT_HASH
 * to version.c alone (so a new commit rebuilds one object); a build
 * outside a git checkout says "unknown". Any thread.
 */
#ifndef FF_VERSION_H
#define FF_VERSION_H

#include <stddef.h>

#define FF_VERSION "0.1"

/* "PROGRAM 0.1 (git abc1234)" into buf. */
void version_text(char *buf, size_t len, const char *program);

#endif
