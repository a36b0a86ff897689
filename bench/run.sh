#!/bin/bash
# make bench: a render node's pipeline (JPEGs read from the zip, decoded on
# several threads, converted, encoded with libx264) against the ffmpeg
# command line doing the same work on the same frames with the same
# settings (frames pre-extracted for it, which favours ffmpeg), measured in
# the same run. Prints medians of RUNS runs and the ratio.
#   bench/run.sh [BUILD] [ZIP]   env: RUNS=3 PRESET=veryfast CRF=23 FPS=12
set -eu
BUILD=${1:-build}
RUNS=${RUNS:-3}
PRESET=${PRESET:-veryfast}
CRF=${CRF:-23}
FPS=${FPS:-12}
top=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/framefarm-bench-XXXXXX")
trap 'rm -rf "$tmp"' EXIT

zip=${2:-}
if [ -z "$zip" ]; then
    zip=$tmp/sample.zip
    "$top/$BUILD/bin/framefarm" sample -o "$zip" --frames 240 --size 1600x900 >/dev/null
fi
mkdir -p "$tmp/x" "$tmp/seq"
unzip -q "$zip" -d "$tmp/x"
i=0
# nuScenes names sort by time, so name order is frame order.
find "$tmp/x" -iname '*.jpg' | sort | while read -r f; do
    ln -s "$f" "$tmp/seq/$(printf '%05d' $i).jpg"; i=$((i + 1))
done
frames=$(ls "$tmp/seq" | wc -l)
gop=$((FPS * 2))

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
now() { date +%s.%N; }
calc() { awk "BEGIN {printf \"%.3f\", $1}"; }

ff=() node=()
for r in $(seq "$RUNS"); do
    t0=$(now)
    ffmpeg -v error -framerate "$FPS" -i "$tmp/seq/%05d.jpg" -c:v libx264 \
        -preset "$PRESET" -crf "$CRF" -g "$gop" -keyint_min "$gop" \
        -sc_threshold 0 -pix_fmt yuv420p -y "$tmp/ff.mp4"
    ff+=("$(calc "$(now) - $t0")")
    line=$("$top/$BUILD/bench/render_bench" "$zip" "$tmp/node.mp4" "$PRESET" "$CRF" "$FPS")
    node+=("$(echo "$line" | sed 's/.*wall=\([0-9.]*\).*/\1/')")
done
ffm=$(printf '%s\n' "${ff[@]}" | median)
nm=$(printf '%s\n' "${node[@]}" | median)
printf 'machine: %s, %s cores\n' "$(uname -m)" "$(nproc)"
printf 'frames: %s (%s), libx264 preset %s crf %s, %s fps, GOP %s\n' \
    "$frames" "$(basename "$zip")" "$PRESET" "$CRF" "$FPS" "$gop"
printf '%-28s median %6.2f s  %6.1f fps   runs: %s\n' "ffmpeg command line" "$ffm" \
    "$(calc "$frames / $ffm")" "${ff[*]}"
printf '%-28s median %6.2f s  %6.1f fps   runs: %s\n' "framefarm node pipeline" "$nm" \
    "$(calc "$frames / $nm")" "${node[*]}"
printf 'node speed / ffmpeg speed: %.2fx\n' "$(calc "$ffm / $nm")"
