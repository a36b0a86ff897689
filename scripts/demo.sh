#!/bin/sh
# make demo: a sample zip like a nuScenes CAM_FRONT download, rendered by
# the embedded default (one ambassador and local nodes), then verified.
set -eu
BUILD=${1:-build}
mkdir -p out
"$BUILD/bin/framefarm" sample -o out/demo.zip --frames 240 --size 1600x900
"$BUILD/bin/framefarm" render out/demo.zip -o out/demo.mp4 --nodes 2
"$BUILD/bin/framefarm" verify out/demo.mp4 --input out/demo.zip
