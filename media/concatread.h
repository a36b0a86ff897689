/*
 * concatread.h - the concat's one pass reads its inputs ahead of the
 * writer (private to media/concat.c): each input is read whole into
 * memory (one open, one read), its sha256 checked against the one it was
 * counted with, and it is probed and opened for stream copy from those
 * same bytes, so what is copied is what was hashed. Reader threads do
 * that for the next inputs while the writer (the caller's thread) copies
 * the current one; at most CONCATREAD_SLOTS (8) inputs are in memory at
 * once, and no reader starts one while 32 MiB of them wait to be copied.
 * The writer takes the inputs in order; each viddec handed to it is its
 * own until it gives it back (no reader touches it meanwhile). With no
 * reader thread (none could start) the writer reads each input itself.
 */
#ifndef FF_CONCATREAD_H
#define FF_CONCATREAD_H

#include <stddef.h>

struct concatread;
struct vidinfo;
struct viddec;

/* Start reading inputs[0..n) ahead: shas as concat_videos takes them
 * (NULL, or per input its sha256 as counted, NULL entries unchecked);
 * vi[i] is input i's fingerprint once concatread_next gave it. Every
 * argument is borrowed until concatread_free. NULL: out of memory. */
struct concatread *concatread_start(const char *const *inputs,
                                    const char *const *shas, size_t n,
                                    struct vidinfo *vi);
/* The same, with readers that start no input while held_max bytes of
 * inputs are read and not yet given back (concatread_start: 32 MiB). */
struct concatread *concatread_start_held(const char *const *inputs,
                                         const char *const *shas, size_t n,
                                         struct vidinfo *vi, size_t held_max);
/* Input i, the one after the last given back (0 first): wait for it. 0
 * with *vd its demuxer, opened for stream copy with no packet read and
 * its frames counted from its index; 1 when it cannot be taken this way
 * (not MP4, unreadable, over the size read whole, frames not in its
 * index); -1 with err when its sha256 is not the one counted. */
int concatread_next(struct concatread *r, size_t i, struct viddec **vd,
                    char *err, size_t errlen);
/* The writer is done with input i (its viddec is closed here). */
void concatread_done(struct concatread *r, size_t i);
/* Stop the readers and free everything. NULL ok. */
void concatread_free(struct concatread *r);

/* 0 when input i's sha256 (hex, got) is the one it was counted with
 * (want; NULL: none to compare); else -1 with err. */
int concatread_same_sha(const char *const *inputs, size_t i, const char *got,
                        const char *want, char *err, size_t errlen);

#endif
