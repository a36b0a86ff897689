#!/bin/sh
# Installs the Debian packages framefarm needs when any is missing.
# Called by every Makefile target that builds; a no-op (a few pkg-config
# calls) when everything is present. `deps.sh fuzz`, called only by
# `make fuzz`, does the same for clang and its libFuzzer runtime instead,
# so that building and testing never need clang. `deps.sh browser`, called
# by .ci/run, brings chromium and promtool for the dashboard and /metrics
# tests (they skip without them). `deps.sh lab`, called by
# `make lab` (tests/lab/), does it for the lab in a box: sshd and sshfs for
# the share over the network, nftables for cut paths and loss, iproute2
# for namespaces and cables, faketime for a node's stepped clock.
# `deps.sh bench` (below) brings what `make bench` measures with.
set -eu

PKGS="pkg-config libavcodec-dev libavformat-dev libavutil-dev libswscale-dev \
libavfilter-dev libzip-dev libcjson-dev libcmocka-dev libssl-dev \
libturbojpeg0-dev zlib1g-dev libmicrohttpd-dev ffmpeg mesa-vulkan-drivers"
MODS="libavcodec libavformat libavutil libswscale libavfilter libzip libcjson \
cmocka libcrypto libturbojpeg zlib libmicrohttpd"
# Debian 12: clang 14; libclang_rt.fuzzer comes in libclang-rt-14-dev,
# which clang does not pull in without recommends.
FUZZ_PKGS="clang libclang-rt-14-dev"
FUZZ_CC=${FUZZ_CC:-clang}
# What the HTTP tests check the ambassador with: a real browser (Debian's
# chromium, headless) on the dashboard, and promtool (in Debian's
# prometheus) on /metrics. Without them those tests skip.
BROWSER_PKGS="chromium prometheus"
BROWSER_CMDS="chromium promtool"
LAB_PKGS="openssh-server openssh-client sshfs fuse3 nftables iproute2 \
faketime util-linux"
LAB_CMDS="/usr/sbin/sshd ssh ssh-keygen sshfs fusermount3 nft ip unshare \
nsenter flock faketime"
# `deps.sh deploy`, called by .ci/run: what the deployment kit's tests
# (nfs-setup/, tests/integration/t_deploy_*.sh) run: shellcheck on the
# scripts, systemd-analyze verify on the units, nft -c on the firewall
# table, and a one-machine Slurm cluster (slurm-wlm and munge). Without
# them those tests skip.
DEPLOY_PKGS="shellcheck systemd slurm-wlm munge nftables iproute2"
DEPLOY_CMDS="shellcheck systemd-analyze slurmctld slurmd sbatch munged \
mungekey nft ss unshare"
# `deps.sh bench`, called by `make bench`: the real footage bench/corpus.sh
# makes its frames from (OpenCV's vtest.avi, in opencv-doc), zip and unzip
# for the corpus, and perf for profiling.
BENCH_PKGS="opencv-doc zip unzip linux-perf"
BENCH_FILES="/usr/share/doc/opencv-doc/examples/data/vtest.avi"
BENCH_CMDS="zip unzip perf"
mode=${1:-build}

# Adds to missing what building and testing lack.
check_build() {
    if command -v pkg-config >/dev/null 2>&1; then
        for m in $MODS; do
            pkg-config --exists "$m" || missing="$missing $m"
        done
    else
        missing="pkg-config"
    fi
    command -v ffmpeg >/dev/null 2>&1 || missing="$missing ffmpeg"
    command -v ffprobe >/dev/null 2>&1 || missing="$missing ffprobe"
    # Mesa's CPU Vulkan driver: a real hardware-device context without a
    # GPU, for the test that devices are created once and shared.
    ls /usr/share/vulkan/icd.d/lvp_icd.*.json >/dev/null 2>&1 ||
        missing="$missing mesa-vulkan-drivers"
}

# Links an empty fuzz target with every sanitizer the fuzz build uses.
fuzz_links() {
    command -v "$FUZZ_CC" >/dev/null 2>&1 || return 1
    dir=$(mktemp -d)
    printf '%s\n' '#include <stddef.h>' '#include <stdint.h>' \
        'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);' \
        'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)' \
        '{ (void)d; (void)n; return 0; }' >"$dir/probe.c"
    rc=0
    "$FUZZ_CC" -fsanitize=fuzzer,address,undefined "$dir/probe.c" \
        -o "$dir/probe" >/dev/null 2>&1 || rc=1
    rm -rf "$dir"
    return $rc
}

missing=""
if [ "$mode" = fuzz ]; then
    PKGS=$FUZZ_PKGS
    fuzz_links || missing=" $FUZZ_CC with libFuzzer"
elif [ "$mode" = browser ]; then
    PKGS=$BROWSER_PKGS
    for c in $BROWSER_CMDS; do
        command -v "$c" >/dev/null 2>&1 || missing="$missing $c"
    done
elif [ "$mode" = deploy ]; then
    PKGS=$DEPLOY_PKGS
    for c in $DEPLOY_CMDS; do
        command -v "$c" >/dev/null 2>&1 || missing="$missing $c"
    done
elif [ "$mode" = bench ]; then
    PKGS=$BENCH_PKGS
    for c in $BENCH_CMDS; do
        command -v "$c" >/dev/null 2>&1 || missing="$missing $c"
    done
    for f in $BENCH_FILES; do
        [ -f "$f" ] || missing="$missing $f"
    done
elif [ "$mode" = lab ]; then
    PKGS=$LAB_PKGS
    for c in $LAB_CMDS; do
        command -v "$c" >/dev/null 2>&1 || missing="$missing $c"
    done
else
    check_build
fi
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
if [ "$mode" = fuzz ] && ! fuzz_links; then
    echo "deps: $FUZZ_CC still cannot link a libFuzzer target" >&2
    exit 1
fi
echo "deps: installed" >&2
