#!/bin/sh
# The benchmark's real footage: frames of a real camera clip that a Debian
# package ships (OpenCV's vtest.avi, a street seen from a fixed camera, in
# opencv-doc: `scripts/deps.sh bench`), scaled and cropped to 1600x900 and
# written as JPEG at quality ~90 (like nuScenes CAM_FRONT) under nuScenes
# names at 12 Hz, stored in a zip. The clip (795 frames) is looped for
# more frames. Cached in the build dir like the tests' sample zips. SIZE
# (WxH, default 1600x900) makes smaller frames of the same footage, for
# jobs of many frames (bench/run.sh's 1,000 sets of 24 frames).
#   bench/corpus.sh BUILD FRAMES [SIZE] -> prints the zip's path
set -eu
BUILD=${1:-build}
FRAMES=${2:-150}
SIZE=${3:-1600x900}
W=${SIZE%x*}
H=${SIZE#*x}
CLIP=${CLIP:-/usr/share/doc/opencv-doc/examples/data/vtest.avi}
top=$(cd "$(dirname "$0")/.." && pwd)
cache=$top/$BUILD/bench-corpus
z=$cache/real-$FRAMES.zip
[ "$SIZE" = 1600x900 ] || z=$cache/real-$FRAMES-$SIZE.zip
if [ -f "$z" ]; then
    echo "$z"
    exit 0
fi
[ -f "$CLIP" ] || {
    echo "corpus: $CLIP missing: run scripts/deps.sh bench" >&2
    exit 1
}
mkdir -p "$cache"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/framefarm-corpus-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cam=samples/CAM_FRONT
mkdir -p "$tmp/$cam"
# -q:v 2 is libjpeg quality ~90 for ffmpeg's mjpeg encoder.
ffmpeg -v error -stream_loop -1 -i "$CLIP" -frames:v "$FRAMES" \
    -vf "scale=$W:-2:flags=bicubic,crop=$W:$H" -pix_fmt yuvj420p \
    -q:v 2 "$tmp/%05d.jpg"
# nuScenes names: log__CAMERA__microseconds, 12 Hz (83,333 us apart).
t=1533151603512404
for f in $(cd "$tmp" && ls ./*.jpg | sort); do
    mv "$tmp/$f" "$tmp/$cam/n008-2018-08-01-15-16-36-0400__CAM_FRONT__$t.jpg"
    t=$((t + 83333))
done
(cd "$tmp" && zip -q -0 -r "$z.part" samples)
mv "$z.part" "$z"
echo "$z"
