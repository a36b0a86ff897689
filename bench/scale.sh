#!/bin/bash
# The ambassador's scale (issue 13): a real framefarm-coordinator on a
# temporary share holds N fake nodes (bench/loadgen: the real protocol,
# heartbeats, lease renewals); idle nodes at 250, 500, 1000 and 2000, then
# 1000 nodes working through a job (each set reported done WORK_MS after
# its assign, with progress heartbeats meanwhile). For
# each: the ambassador's CPU as % of one core (utime + stime from
# /proc/PID/stat over the window), RSS, threads, descriptors, the "suspect"
# verdicts of live nodes logged in the window, and the load generator's own
# CPU.
#   bash bench/scale.sh [BUILD]
#   env: WINDOW=10 (s), WARMUP=3 (s), IDLE="250 500 1000 2000", WORK=1000,
#        WORK_FRAMES=4000, WORK_SET=1, WORK_MS=4000 (a set's "render"
#        time on a fake node, progress heartbeats meanwhile), BASE=path/to/another/
#        framefarm-coordinator (measured alternately with this build's:
#        ratios against it), RUNS=1 (medians of alternating runs)
set -eu
BUILD=${1:-build}
WINDOW=${WINDOW:-10}
WARMUP=${WARMUP:-3}
IDLE=${IDLE:-250 500 1000 2000}
WORK=${WORK:-1000}
WORK_FRAMES=${WORK_FRAMES:-4000}
WORK_SET=${WORK_SET:-1}
WORK_MS=${WORK_MS:-4000}
RUNS=${RUNS:-1}
BASE=${BASE:-}
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/bench/lib.sh"
COORD=$top/$BUILD/bin/framefarm-coordinator
LOADGEN=$top/$BUILD/bench/loadgen
[ -x "$COORD" ] && [ -x "$LOADGEN" ] || { echo "build $BUILD first (make binaries)" >&2; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/framefarm-scale-XXXXXX")
pids=""
trap 'for p in $pids; do kill -9 "$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$tmp"' EXIT
# 2000 nodes: a socket each on both sides and a lease file in the load
# generator.
ulimit -n "$(ulimit -Hn)"
export FRAMEFARM_HTTP=off
hz=$(getconf CLK_TCK)

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
status_kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
nfds() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }
connected() { grep -c ': connected from ' "$1" 2>/dev/null || true; }
suspects() { grep -c ': suspect: ' "$1" 2>/dev/null || true; }

zip=$tmp/work.zip
"$top/$BUILD/bin/framefarm" sample -o "$zip" --frames "$WORK_FRAMES" --size 160x90 >/dev/null

# One measurement: coordinator binary, nodes, mode (idle|work). Prints
# "cpu% rss_kb threads fds suspects loadgen_cpu% sets_in_window".
measure() {
    local bin=$1 n=$2 mode=$3 d=$tmp/run.$RANDOM args=() report=none work=0
    mkdir -p "$d/share"
    if [ "$mode" = work ]; then
        args=(--input "$zip" --output "$d/out.mp4" --set-size "$WORK_SET")
        report=done
        work=$WORK_MS
    fi
    "$bin" --share "$d/share" --listen 127.0.0.1:0 "${args[@]}" \
        >"$d/coord.out" 2>"$d/coord.log" &
    local cpid=$!
    pids="$pids $cpid"
    waitfor "$d/coord.out" '^listening on '
    local port
    port=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$d/coord.out" | head -n1)
    "$LOADGEN" --coordinator "127.0.0.1:$port" --share "$d/share" --nodes "$n" \
        --report "$report" --work-ms "$work" --duration $((WINDOW + WARMUP + 120)) --quiet \
        >"$d/lg.out" 2>"$d/lg.err" &
    local lpid=$!
    pids="$pids $lpid"
    # All nodes in (at most 90 s), then the warm-up.
    local end=$(( $(date +%s) + 90 ))
    while [ "$(connected "$d/coord.log")" -lt "$n" ] && [ "$(date +%s)" -lt "$end" ]; do
        sleep 0.2
    done
    sleep "$WARMUP"
    local c0 l0 s0 k0 t0 c1 l1 k1 t1 rss thr fds
    c0=$(cpu_ticks "$cpid"); l0=$(cpu_ticks "$lpid"); s0=$(suspects "$d/coord.log")
    k0=$(grep -c ': counted (' "$d/coord.log" || true); t0=$(now_ms)
    c1=$c0; l1=$l0; t1=$t0; rss=0; thr=0; fds=0
    # Sampled every 0.5 s so a job that ends inside the window still has
    # its last figures.
    while [ $(( $(now_ms) - t0 )) -lt $((WINDOW * 1000)) ] && kill -0 "$cpid" 2>/dev/null; do
        local c r
        c=$(cpu_ticks "$cpid"); r=$(status_kb "$cpid" VmRSS)
        [ "$c" -gt 0 ] && [ -n "$r" ] || break
        c1=$c; t1=$(now_ms); l1=$(cpu_ticks "$lpid")
        rss=$r; thr=$(status_kb "$cpid" Threads); fds=$(nfds "$cpid")
        sleep 0.5
    done
    k1=$(grep -c ': counted (' "$d/coord.log" || true)
    local sus=$(( $(suspects "$d/coord.log") - s0 ))
    local ms=$((t1 - t0))
    [ "$ms" -gt 0 ] || ms=1
    kill "$lpid" 2>/dev/null || true
    kill "$cpid" 2>/dev/null || true
    wait "$lpid" "$cpid" 2>/dev/null || true
    awk -v c=$((c1 - c0)) -v l=$((l1 - l0)) -v ms="$ms" -v hz="$hz" \
        -v rss="$rss" -v thr="$thr" -v fds="$fds" -v sus="$sus" -v k=$((k1 - k0)) \
        'BEGIN {printf "%.1f %d %d %d %d %.1f %d %.0f\n", 100 * c / hz * 1000 / ms,
                rss, thr, fds, sus, 100 * l / hz * 1000 / ms, k, k * 1000 / ms}'
    rm -rf "$d"
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# Median of RUNS runs of each field; with BASE, runs alternate.
row() { # label n mode
    local label=$1 n=$2 mode=$3 r
    : >"$tmp/new" ; : >"$tmp/base"
    for r in $(seq "$RUNS"); do
        [ -n "$BASE" ] && measure "$BASE" "$n" "$mode" >>"$tmp/base"
        measure "$COORD" "$n" "$mode" >>"$tmp/new"
    done
    pick() { awk -v f="$2" '{print $f}' "$1" | median; }
    local cpu rss thr fds sus lg k rate
    cpu=$(pick "$tmp/new" 1); rss=$(pick "$tmp/new" 2); thr=$(pick "$tmp/new" 3)
    fds=$(pick "$tmp/new" 4); sus=$(pick "$tmp/new" 5); lg=$(pick "$tmp/new" 6)
    k=$(pick "$tmp/new" 7); rate=$(pick "$tmp/new" 8)
    printf "%-14s %6d %7s %9s %8s %6s %8s %8s %9s" "$label" "$n" "$cpu" \
        "$((rss / 1024))" "$thr" "$fds" "$sus" "$lg" "$rate"
    if [ -n "$BASE" ]; then
        local bcpu bsus brss
        bcpu=$(pick "$tmp/base" 1); bsus=$(pick "$tmp/base" 5); brss=$(pick "$tmp/base" 2)
        awk -v a="$cpu" -v b="$bcpu" -v s="$bsus" -v r="$brss" \
            'BEGIN {printf "   base: %.1f%% (%.2fx), %d MiB, %d suspect", b, (a > 0 ? b / a : 0), r / 1024, s}'
    fi
    echo
}

echo "ambassador scale: window ${WINDOW} s after all nodes connected + ${WARMUP} s; medians of $RUNS run(s)"
printf "%-14s %6s %7s %9s %8s %6s %8s %8s %9s\n" mode nodes "cpu%" "rss_MiB" threads fds suspect "lg_cpu%" "sets/s"
for n in $IDLE; do
    row idle "$n" idle
done
[ "$WORK" -gt 0 ] && row working "$WORK" work
