#!/bin/bash
# make bench: framefarm against the ffmpeg command line a user would type
# instead, on the same frames with the same settings, measured in the same
# run (runs alternate, so other load on the machine falls on both), medians
# of RUNS runs:
#  1. a render node's pipeline (JPEGs read from the zip, decoded on several
#     threads, converted, encoded with libx264; bench/render_bench.c) on
#     real footage, and on `framefarm sample` frames;
#  2. `framefarm render` at its defaults, end to end, on 150 and 1,000
#     frames of real footage: wall time, and CPU time of every process
#     (ambassador and nodes: getrusage of the waited-for children,
#     bench/rusage_run.c);
#  3. the concat's share of render time with 1,000 sets, from the
#     ambassador's log: of one frame each (--set-size 1 on 1,000 frames),
#     and of 24 frames each (24,000 frames of the same footage at 160x90,
#     bench/corpus.sh's SIZE, so that the job stays short).
# The real footage is bench/corpus.sh's (a clip from Debian's opencv-doc,
# `scripts/deps.sh bench`). ffmpeg reads the frames pre-extracted from the
# zip, which favours it.
#   bench/run.sh [BUILD]   env: RUNS=5 PRESET=veryfast CRF=23 FPS=12
#                               CONCAT=1 (0: skip part 3; only: part 3
#                               alone) CONCAT_RUNS=1 (renders a concat
#                               line; more: the median share, and each run)
#                               SAMPLE=1 (0: skip the sample line)
set -eu
BUILD=${1:-build}
RUNS=${RUNS:-5}
PRESET=${PRESET:-veryfast}
CRF=${CRF:-23}
FPS=${FPS:-12}
top=$(cd "$(dirname "$0")/.." && pwd)
bin=$top/$BUILD/bin
rr=$top/$BUILD/bench/rusage_run
tmp=$(mktemp -d "${TMPDIR:-/tmp}/framefarm-bench-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
gop=$((FPS * 2))

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
now() { date +%s.%N; }
calc() { awk "BEGIN {printf \"%.3f\", $1}"; }
# The median of a[i] / b[i] over two lists of runs (each pair ran back to
# back, so the load they met was alike): the ratio to trust on a busy
# machine.
pairmed() { # "a1 a2 ..." "b1 b2 ..."
    paste <(tr ' ' '\n' <<<"$1") <(tr ' ' '\n' <<<"$2") |
        awk '{print $1 / $2}' | median
}
# "HH:MM:SS.mmm" at the start of a log line -> seconds of the day, to the
# millisecond (awk's default print keeps 6 significant digits: 0.1 s).
logsec() { echo "$1" | awk '{split($1, t, ":"); printf "%.3f\n", t[1]*3600 + t[2]*60 + t[3]}'; }

# The frames of a zip as DIR/00000.jpg... (links; nuScenes names sort by
# time, so name order is frame order); prints the count.
unpack() { # zip dir
    mkdir -p "$2/x" "$2/seq"
    unzip -q "$1" -d "$2/x"
    local i=0
    find "$2/x" -iname '*.jpg' | sort >"$2/list"
    while read -r f; do
        ln -s "$f" "$2/seq/$(printf '%05d' $i).jpg"
        i=$((i + 1))
    done <"$2/list"
    echo "$i"
}

# The command line of the issue, with rusage: "wall cpu".
ffmpeg_run() { # dir
    "$rr" ffmpeg -v error -framerate "$FPS" -i "$1/seq/%05d.jpg" -c:v libx264 \
        -preset "$PRESET" -crf "$CRF" -g "$gop" -pix_fmt yuv420p \
        -y "$tmp/ff.mp4" 2>"$tmp/rusage" >/dev/null
    sed -n 's/.*wall=\([0-9.]*\) cpu=\([0-9.]*\).*/\1 \2/p' "$tmp/rusage"
}

render_run() { # zip [flags...]
    local zip=$1
    shift
    rm -f "$tmp/r.mp4"
    "$rr" "$bin/framefarm" render "$zip" -o "$tmp/r.mp4" --fps "$FPS" \
        --preset "$PRESET" --crf "$CRF" "$@" >"$tmp/render.out" \
        2>"$tmp/render.err" || {
        cat "$tmp/render.err" >&2
        exit 1
    }
    sed -n 's/.*wall=\([0-9.]*\) cpu=\([0-9.]*\).*/\1 \2/p' "$tmp/render.err"
}

printf 'machine: %s, %s cores, load at start %s\n' "$(uname -m)" "$(nproc)" \
    "$(cut -d' ' -f1-3 /proc/loadavg)"
printf 'libx264 preset %s crf %s, %s fps, GOP %s; medians of %s alternating runs\n' \
    "$PRESET" "$CRF" "$FPS" "$gop" "$RUNS"
printf 'ffmpeg: ffmpeg -framerate %s -i %%05d.jpg -c:v libx264 -preset %s -crf %s -g %s -pix_fmt yuv420p\n' \
    "$FPS" "$PRESET" "$CRF" "$gop"

# 1. The node pipeline against ffmpeg (the node's GOP settings on both).
node_line() { # zip label
    local dir frames ff=() node=() t0 line
    dir=$(mktemp -d "$tmp/n-XXXX")
    frames=$(unpack "$1" "$dir")
    for _ in $(seq "$RUNS"); do
        t0=$(now)
        ffmpeg -v error -framerate "$FPS" -i "$dir/seq/%05d.jpg" -c:v libx264 \
            -preset "$PRESET" -crf "$CRF" -g "$gop" -keyint_min "$gop" \
            -sc_threshold 0 -pix_fmt yuv420p -y "$tmp/ff.mp4"
        ff+=("$(calc "$(now) - $t0")")
        line=$("$top/$BUILD/bench/render_bench" "$1" "$tmp/node.mp4" "$PRESET" \
            "$CRF" "$FPS")
        node+=("$(echo "$line" | sed 's/.*wall=\([0-9.]*\).*/\1/')")
    done
    local ffm nm
    ffm=$(printf '%s\n' "${ff[@]}" | median)
    nm=$(printf '%s\n' "${node[@]}" | median)
    printf '%-34s %4s frames  ffmpeg %6.2f s  node %6.2f s  node speed / ffmpeg: %.2fx (pairs: %.2fx)\n' \
        "node pipeline, $2" "$frames" "$ffm" "$nm" "$(calc "$ffm / $nm")" \
        "$(pairmed "${ff[*]}" "${node[*]}")"
}

# 2. framefarm render at its defaults against ffmpeg, wall and CPU.
render_line() { # zip label
    local dir frames fw=() fc=() rw=() rc=() a b
    dir=$(mktemp -d "$tmp/r-XXXX")
    frames=$(unpack "$1" "$dir")
    for _ in $(seq "$RUNS"); do
        read -r a b <<<"$(ffmpeg_run "$dir")"
        fw+=("$a") fc+=("$b")
        read -r a b <<<"$(render_run "$1")"
        rw+=("$a") rc+=("$b")
    done
    local fwm fcm rwm rcm
    fwm=$(printf '%s\n' "${fw[@]}" | median)
    fcm=$(printf '%s\n' "${fc[@]}" | median)
    rwm=$(printf '%s\n' "${rw[@]}" | median)
    rcm=$(printf '%s\n' "${rc[@]}" | median)
    printf '%-34s %4s frames  ffmpeg %6.2f s %6.2f cpu-s  render %6.2f s %6.2f cpu-s\n' \
        "render (defaults), $2" "$frames" "$fwm" "$fcm" "$rwm" "$rcm"
    printf '%-34s render speed / ffmpeg: %.2fx (pairs: %.2fx)   render CPU / ffmpeg CPU: %.2fx (pairs: %.2fx)\n' \
        "" "$(calc "$fwm / $rwm")" "$(pairmed "${fw[*]}" "${rw[*]}")" \
        "$(calc "$rcm / $fcm")" "$(pairmed "${rc[*]}" "${fc[*]}")"
    printf '%-34s runs (wall): ffmpeg %s | render %s\n' "" "${fw[*]}" "${rw[*]}"
    printf '%-34s runs (CPU):  ffmpeg %s | render %s\n' "" "${fc[*]}" "${rc[*]}"
}

real150=$(sh "$top/bench/corpus.sh" "$BUILD" 150)
real1000=$(sh "$top/bench/corpus.sh" "$BUILD" 1000)
if [ "${CONCAT:-1}" != only ]; then
    node_line "$real150" "real footage"
    if [ "${SAMPLE:-1}" = 1 ]; then
        sample=$tmp/sample.zip
        "$bin/framefarm" sample -o "$sample" --frames 240 --size 1600x900 >/dev/null
        node_line "$sample" "framefarm sample"
    fi
    render_line "$real150" "real footage"
    render_line "$real1000" "real footage"
fi

# 3. The concat at 1,000 sets: from the ambassador's "concatenating" line
# to its "done" line, against the whole render's wall time.
concat_line() { # zip set-size
    local share w c0 c1 cs log runs=() line
    for _ in $(seq "${CONCAT_RUNS:-1}"); do
        share=$(mktemp -d "$tmp/share-concat-XXXX")
        read -r w _ <<<"$(render_run "$1" --set-size "$2" --share "$share")"
        log=$share/logs/coordinator.log
        c0=$(logsec "$(grep -m1 'concatenating' "$log")")
        c1=$(logsec "$(grep -m1 ': done;' "$log")")
        cs=$(calc "$c1 - $c0 + ($c1 < $c0 ? 86400 : 0)") # past midnight
        # "share render concat", sortable by the share
        runs+=("$(calc "100 * $cs / $w") $w $cs")
        rm -rf "$share"
    done
    # the run with the median share
    line=$(printf '%s\n' "${runs[@]}" | sort -n | awk '{a[NR]=$0} END {print a[int((NR+1)/2)]}')
    read -r _ w cs <<<"$line"
    printf '%-34s 1000 sets  render %6.2f s  concat %5.3f s = %.2f%% of render time\n' \
        "concat, --set-size $2" "$w" "$cs" "$(calc "100 * $cs / $w")"
    if [ "${#runs[@]}" -gt 1 ]; then
        printf '%-34s runs (%% render s concat s): %s\n' "" \
            "$(printf '%s, ' "${runs[@]}" | sed 's/, $//')"
    fi
}
if [ "${CONCAT:-1}" != 0 ]; then
    concat_line "$real1000" 1
    concat_line "$(sh "$top/bench/corpus.sh" "$BUILD" 24000 160x90)" 24
fi
printf 'load at end: %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
