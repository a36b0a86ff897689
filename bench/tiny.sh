#!/bin/sh
# Many small sets (issue 11's tiny frames, issue 13's per-set overhead):
# a zip of FRAMES (default 50000) frames of 136x80, rendered by
#   render   framefarm render at its defaults (render's set plan)
#   set24    framefarm render --set-size 24 (the ambassador's default)
#   direct   framefarm-coordinator --set-size 24 and NODES (default 2)
#            framefarm-node --slots SLOTS (default 1 2: a row per value)
# against the same frames through the ffmpeg command line (unzipped
# first, not timed) as the baseline:
#   ffmpeg -framerate 12 -i %05d.jpg -c:v libx264 -preset veryfast
#          -crf 23 -g 24 -pix_fmt yuv420p
# RUNS (default 3) alternating runs; each row prints frames, sets, the
# median wall, sets/s, and wall / ffmpeg's median wall.
#   bench/tiny.sh [BUILD]
#   e.g. FRAMES=10000 RUNS=1 bench/tiny.sh build
set -u
BUILD=$(cd "${1:-build}" && pwd) || exit 1
FRAMES=${FRAMES:-50000}
RUNS=${RUNS:-3}
NODES=${NODES:-2}
SLOTS=${SLOTS:-1 2}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
bench_tmp tiny

Z=$BUILD/samples/bench-tiny-$FRAMES.zip
mkdir -p "$BUILD/samples"
[ -f "$Z" ] || "$BUILD/bin/framefarm" sample -o "$Z" --frames "$FRAMES" \
    --size 136x80 >/dev/null || exit 1
# ffmpeg's input: the frames in the job's order (names sort as timestamps).
mkdir -p "$T/jpg"
(cd "$T/jpg" && unzip -q "$Z") || exit 1
i=0
find "$T/jpg" -name '*.jpg' | sort | while read -r f; do
    i=$((i + 1))
    mv "$f" "$T/jpg/$(printf %05d "$i").jpg"
done

# Each prints "wall_ms sets" on one line.
run_ffmpeg() {
    rm -f "$T/ff.mp4"
    t0=$(now_ms)
    ffmpeg -loglevel error -framerate 12 -i "$T/jpg/%05d.jpg" -c:v libx264 \
        -preset veryfast -crf 23 -g 24 -pix_fmt yuv420p "$T/ff.mp4" || exit 1
    echo "$(($(now_ms) - t0)) 1"
}
run_render() { # extra render flags...
    rm -rf "$T/sh" "$T/out.mp4"
    mkdir -p "$T/sh"
    t0=$(now_ms)
    "$BUILD/bin/framefarm" render "$Z" -o "$T/out.mp4" --share "$T/sh" \
        "$@" >"$T/render.out" 2>&1 || {
        cat "$T/render.out" >&2
        exit 1
    }
    ms=$(($(now_ms) - t0))
    echo "$ms $(sed -n 's/.*: done; assigned \([0-9]*\),.*/\1/p' \
        "$T/sh/logs/coordinator.log")"
}
run_direct() { # slots
    rm -rf "$T/sh" "$T/out.mp4" "$T/amb.out" "$T/amb.log"
    mkdir -p "$T/sh"
    t0=$(now_ms)
    "$BUILD/bin/framefarm-coordinator" --share "$T/sh" --listen 127.0.0.1:0 \
        --input "$Z" --output "$T/out.mp4" --set-size 24 --job tiny \
        --http off --backups 0 >"$T/amb.out" 2>"$T/amb.log" &
    amb=$!
    PIDS="$PIDS $amb"
    waitfor "$T/amb.out" '^listening on'
    port=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$T/amb.out" | head -n1)
    th=$(($(nproc) / NODES))
    [ "$th" -ge 1 ] || th=1
    for n in $(seq "$NODES"); do
        "$BUILD/bin/framefarm-node" --coordinator "127.0.0.1:$port" \
            --share "$T/sh" --name "n$n" --retry-for 20 --threads "$th" \
            --slots "$1" 2>"$T/node-$n.log" &
        PIDS="$PIDS $!"
    done
    wait "$amb"
    ms=$(($(now_ms) - t0))
    echo "$ms $(sed -n 's/.*: done; assigned \([0-9]*\),.*/\1/p' "$T/amb.log")"
}

med() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "load: $(uptime | sed 's/.*load average: //')"
: >"$T/rows"
for r in $(seq "$RUNS"); do
    echo "ffmpeg $(run_ffmpeg)" >>"$T/rows"
    echo "render $(run_render)" >>"$T/rows"
    echo "set24 $(run_render --set-size 24)" >>"$T/rows"
    for s in $SLOTS; do
        echo "direct-slots$s $(run_direct "$s")" >>"$T/rows"
    done
done
base=$(awk '$1 == "ffmpeg" {print $2}' "$T/rows" | med)
printf '%-14s %7s %6s %8s %7s %9s\n' run frames sets wall_s sets/s x_ffmpeg
for k in ffmpeg render set24 $(for s in $SLOTS; do echo "direct-slots$s"; done); do
    w=$(awk -v k="$k" '$1 == k {print $2}' "$T/rows" | med)
    s=$(awk -v k="$k" '$1 == k {print $3}' "$T/rows" | head -n1)
    awk -v k="$k" -v f="$FRAMES" -v w="$w" -v s="$s" -v b="$base" 'BEGIN {
        printf "%-14s %7d %6d %8.2f %7.1f %9.2f\n", k, f, s, w / 1000,
            s / (w / 1000), w / b }'
done
echo "load: $(uptime | sed 's/.*load average: //')"
