#!/bin/sh
# Installs the Debian packages framefarm needs when any is missing.
# Called by every Makefile target that builds; a no-op (a few pkg-config
# calls) when everything is present.
set -eu

PKGS="pkg-config libavcodec-dev libavformat-dev libavutil-dev libswscale-dev \
libavfilter-dev libzip-dev libcjson-dev libcmocka-dev libssl-dev \
libturbojpeg0-dev zlib1g-dev ffmpeg mesa-vulkan-drivers"
MODS="libavcodec libavformat libavutil libswscale libavfilter libzip libcjson \
cmocka libcrypto libturbojpeg zlib"

missing=""
if command -v pkg-config >/dev/null 2>&1; then
    for m in $MODS; do
        pkg-config --exists "$m" || missing="$missing $m"
    done
else
    missing="pkg-config"
fi
command -v ffmpeg >/dev/null 2>&1 || missing="$missing ffmpeg"
command -v ffprobe >/dev/null 2>&1 || missing="$missing ffprobe"
# Mesa's CPU Vulkan driver: a real hardware-device context without a GPU,
# for the test that devices are created once and shared.
ls /usr/share/vulkan/icd.d/lvp_icd.*.json >/dev/null 2>&1 ||
    missing="$missing mesa-vulkan-drivers"
[ -z "$missing" ] && exit 0

echo "deps: missing:$missing; installing with apt-get" >&2
if [ "$(id -u)" != 0 ]; then
    echo "deps: not root; install these Debian packages first:" >&2
    echo "  apt-get install --no-install-recommends $PKGS" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $PKGS >/dev/null
echo "deps: installed" >&2
