/*
 * err.h - error-message buffers filled by parsers of untrusted input and by
 * anything whose failure a user must be able to read. Any thread.
 */
#ifndef FF_ERR_H
#define FF_ERR_H

#include <stddef.h>

#include "common/log.h"

#define ERR_MAX 512 /* size of every err buffer in the project */

/* snprintf into err (NULL or errlen 0 is allowed); never fails. */
void errf(char *err, size_t errlen, const char *fmt, ...) PRINTFLIKE(3, 4);
/* Does a message say an operation ran out of space (ENOSPC, EDQUOT, in the
 * system's words, as ours and libav's messages carry them)? */
int err_is_nospace(const char *text);
/* ... or out of any resource that may come back (space, descriptors,
 * memory)? Then the same work may succeed later. */
int err_is_resource(const char *text);
/* Is errno a shared filesystem's transient trouble (EIO, ESTALE, ENOTCONN,
 * ETIMEDOUT, EHOSTDOWN, ECONNABORTED: a mount reconnecting, a server
 * away), not the file's content? */
int err_is_share_io(int e);

#endif
