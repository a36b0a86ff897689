#!/bin/sh
# GPU encoders end to end (`make test-gpu`). Asks framefarm-node --probe
# which hardware encoders really work here; for NVENC and VAAPI (h264) in
# turn, when the probe passed, renders a small sample with
# `framefarm render --encoder KIND --fallback none` (so a CPU encode can
# never stand in for the GPU), then checks that every set was counted with
# that hardware encoder and no fallback, that the video decodes with no
# error, and that it verifies frame by frame. A kind whose probe failed is
# skipped with the probe's reason; a skip is never reported as a pass.
# Then the same for each GPU JPEG decoder (nvdec, vaapi) that passed its
# probe, with `framefarm render --decoder NAME` and the CPU encoder.
# Prints one line per kind and "N passed, N failed, N skipped"; exits 1
# when anything failed, 0 otherwise (all skipped included).
set -u
BUILD=${BUILD:-build}
top=$(cd "$(dirname "$0")/../.." && pwd)
BIN=$top/$BUILD/bin
FRAMES=48
SIZE=640x360
T=$(mktemp -d "${TMPDIR:-/tmp}/ff-gpu-XXXXXX")
trap 'if [ "${KEEP:-0}" = 1 ]; then echo "kept $T"; else rm -rf "$T"; fi' EXIT
pass=0 fail=0 skip=0

"$BIN/framefarm-node" --probe >"$T/probe.txt" 2>&1 || {
    cat "$T/probe.txt"
    echo "FAIL gpu/probe: framefarm-node --probe exited non-zero"
    echo "0 passed, 1 failed, 0 skipped"
    exit 1
}
cat "$T/probe.txt"
"$BIN/framefarm" sample -o "$T/sample.zip" --frames "$FRAMES" --size "$SIZE" \
    >/dev/null || { echo "FAIL gpu/sample: cannot make a sample"; exit 1; }

# The video in dir verifies frame by frame, or the test named fails.
verified() { # name dir
    "$BIN/framefarm" verify "$2/out.mp4" --input "$T/sample.zip" \
        >"$2/verify.out" 2>&1 && return 0
    fail=$((fail + 1))
    echo "FAIL gpu/$1: verify failed:"
    sed 's/^/    /' "$2/verify.out"
    return 1
}

check() { # kind encoder
    kind=$1 enc=$2 dir=$T/$kind
    status=$(awk -v e="$enc" '$1 == e { print $4 }' "$T/probe.txt")
    if [ "$status" != ok ]; then
        why=$(awk -v e="$enc" '$1 == e { sub(/.*unavailable: /, ""); print }' \
            "$T/probe.txt")
        skip=$((skip + 1))
        echo "SKIP gpu/$kind: $enc did not pass its probe: ${why:-not in the probe table}"
        return
    fi
    mkdir -p "$dir"
    if ! "$BIN/framefarm" render "$T/sample.zip" -o "$dir/out.mp4" --nodes 1 \
        --set-size 12 --encoder "$kind" --fallback none --share "$dir/share" \
        >"$dir/render.out" 2>&1; then
        fail=$((fail + 1))
        echo "FAIL gpu/$kind: framefarm render failed:"
        tail -n 20 "$dir/render.out" "$dir/share/logs/"*.log 2>/dev/null | sed 's/^/    /'
        return
    fi
    log=$dir/share/logs/coordinator.log
    counted=$(grep -c ": counted (node [^,]*, [0-9]* frames, $enc " "$log")
    others=$(grep ': counted (' "$log" | grep -v ", $enc " | grep -c . )
    if [ "$counted" -ne $((FRAMES / 12)) ] || [ "$others" -ne 0 ] ||
        grep -q ': counted (.*fallback' "$log"; then
        fail=$((fail + 1))
        echo "FAIL gpu/$kind: want every set counted with $enc and no fallback:"
        grep ': counted (' "$log" | sed 's/^/    /'
        return
    fi
    errs=$(ffmpeg -nostdin -v error -i "$dir/out.mp4" -f null - 2>&1)
    if [ -n "$errs" ]; then
        fail=$((fail + 1))
        echo "FAIL gpu/$kind: decoding the video reports errors:"
        echo "$errs" | head -n 10 | sed 's/^/    /'
        return
    fi
    verified "$kind" "$dir" || return
    pass=$((pass + 1))
    echo "PASS gpu/$kind: $FRAMES frames with $enc, decoded cleanly, verified"
}

# A GPU JPEG decoder: every picture decoded on it (none on the CPU), and
# the video verifies. The encoder is the CPU's, so only decoding differs.
check_dec() { # decoder
    dec=$1 dir=$T/dec-$1
    line=$(grep -E "^$dec +" "$T/probe.txt" | head -n 1)
    case "$line" in
    *" ok: "*) ;;
    *)
        skip=$((skip + 1))
        echo "SKIP gpu/decode-$dec: $(echo "${line#"$dec"}" | sed 's/^ *//')"
        return
        ;;
    esac
    mkdir -p "$dir"
    if ! "$BIN/framefarm" render "$T/sample.zip" -o "$dir/out.mp4" --nodes 1 \
        --set-size 12 --encoder cpu --decoder "$dec" --share "$dir/share" \
        >"$dir/render.out" 2>&1; then
        fail=$((fail + 1))
        echo "FAIL gpu/decode-$dec: framefarm render failed:"
        tail -n 20 "$dir/render.out" "$dir/share/logs/"*.log 2>/dev/null | sed 's/^/    /'
        return
    fi
    on_gpu=$(grep -c "(JPEGs: 12 on $dec, 0 on the CPU)" "$dir/share/logs/local-1.log")
    if [ "$on_gpu" -ne $((FRAMES / 12)) ]; then
        fail=$((fail + 1))
        echo "FAIL gpu/decode-$dec: want every picture of every set decoded on $dec:"
        grep -E 'rendered|decoded' "$dir/share/logs/local-1.log" | sed 's/^/    /'
        return
    fi
    verified "decode-$dec" "$dir" || return
    pass=$((pass + 1))
    echo "PASS gpu/decode-$dec: $FRAMES pictures decoded on $dec, verified"
}

check nvenc h264_nvenc
check vaapi h264_vaapi
check_dec nvdec
check_dec vaapi
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
