/*
 * concat.h - joins the accepted mini-videos, in set order, into the final
 * video by stream copy with libavformat (timestamps shifted so each input
 * starts where the previous ended). Sets whose stream parameters differ
 * from the rest (a CPU set among GPU sets, a node with another preset) are
 * first re-encoded with the job's encode parameters, so the result plays
 * end to end. The output is written to a temp name beside out_path, its
 * frame count checked, fsynced, then renamed: the final name only ever
 * holds a complete, verified file. Its container is the one out_path's
 * extension names (media/container.h).
 */
#ifndef FF_CONCAT_H
#define FF_CONCAT_H

#include <stddef.h>
#include <stdint.h>

#include "common/encparams.h"

/* inputs[i] is set i's mini-video. shas: NULL, or shas[i] the sha256
 * (hex) input i was counted with (NULL: not checked): every input given
 * one must still hash to it before out_path is written, or the concat
 * fails naming the first that does not; the common path hashes the same
 * bytes it copies, as it reads them. enc: the job's encode parameters,
 * for re-encoding the sets that cannot be stream-copied (NULL: such
 * inputs fail the concat). 0 with *frames_out set, or -1 with err. Fails
 * (and leaves nothing under out_path) when the frame count of the result
 * is not expect_frames. Logs which sets it re-encoded and why. */
int concat_videos(const char *const *inputs, const char *const *shas, size_t n,
                  const char *out_path, const struct enc_params *enc,
                  uint64_t expect_frames, uint64_t *frames_out, char *err,
                  size_t errlen);

#endif
