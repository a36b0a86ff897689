/*
 * frameorder.h - the video order of frame names. nuScenes names carry the
 * capture time: "<log>__<CHANNEL>__<microseconds>.jpg"; when every name has
 * one, frames go in timestamp order, otherwise in natural order ("f2" before
 * "f10"). Zip entry order is never trusted. A nuScenes download holds six
 * cameras; a name also says which one took the frame. Pure.
 */
#ifndef FF_FRAMEORDER_H
#define FF_FRAMEORDER_H

#include <stddef.h>
#include <stdint.h>

#define FRAMEORDER_CAMERA_MAX 32 /* a camera's name, its NUL included */
#define FRAMEORDER_CAMERA_PREFIX "CAM_"

/* 1 with *ts when the basename ends in "__<digits>.jpg" (or .jpeg, any
 * case), else 0. */
int frameorder_timestamp(const char *name, uint64_t *ts);
/* 1 with the camera's name in cam (FRAMEORDER_CAMERA_MAX bytes) when name
 * says which camera took the frame, else 0: the channel in its basename,
 * "<log>__CAM_FRONT__<us>.jpg" (or "<log>_CAM_FRONT__<us>.jpg"), else the
 * folder it sits in, "samples/CAM_FRONT/<file>". A camera's name is
 * "CAM_" then capitals, digits and single underscores (LIDAR_TOP and
 * RADAR_* are no cameras). */
int frameorder_camera(const char *name, char *cam);
/* 1 when cam is a well-formed camera name (above), else 0. */
int frameorder_camera_valid(const char *cam);
/* strcmp-like, digit runs compared by value. */
int frameorder_natural_cmp(const char *a, const char *b);
/* Fill order[0..n) with the indices of names in video order. Returns 1
 * when ordered by timestamp, 0 when by natural order, -1 + errno. */
int frameorder_sort(const char *const *names, size_t n, size_t *order);

#endif
