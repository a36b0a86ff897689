/*
 * shareid.h - the share's identity: coord/share-id, a random 128-bit id
 * in hex that the first ambassador on a share writes (exclusively, so
 * two at once agree) and nobody changes. A node reads it from its own
 * --share before it writes anything there and says it in its hello; the
 * ambassador refuses a node whose id differs or is missing: a node
 * started on another share, or on a mount point whose share is not
 * mounted (the empty directory underneath), never takes a set and never
 * writes a lease there.
 */
#ifndef FF_SHAREID_H
#define FF_SHAREID_H

#include <stddef.h>

#define SHAREID_HEX 32

/* The ambassador: read the id, or create it (with coord/ and nodes/) --
 * but never on a mount point /etc/fstab names while nothing is mounted
 * there. 0 with id (SHAREID_HEX + 1 bytes), or -1 with err. */
int shareid_ensure(const char *share, char *id, char *err, size_t errlen);
/* shareid_ensure with the fstab and mounts tables named (tests). */
int shareid_ensure_in(const char *share, const char *fstab, const char *mounts,
                      char *id, char *err, size_t errlen);
/* A node: read the id. 0 with id, or -1 with err and errno: ENOENT (no
 * share here: "is the share mounted?"), EINVAL (not an id), or the
 * share's transient trouble (err_is_share_io: it does not answer now).
 * Writes nothing. */
int shareid_read(const char *share, char *id, char *err, size_t errlen);
/* 1 when s is an id as written (SHAREID_HEX lower-case hex digits). */
int shareid_valid(const char *s);

#endif
