#!/bin/bash
# Ambassador recovery at full-scale (default) timings, over RUNS runs:
#  - restart-to-ready: an ambassador killed with SIGKILL mid-job is started
#    again on the same share; from its start to "nodes find this
#    ambassador" (journal replayed, counted files re-verified, generation
#    claimed, listening);
#  - standby takeover: a --standby ambassador watches the active one; from
#    the active one's SIGKILL to the standby serving (it waits until the
#    active one has been silent on the share for reclaim_ms = 15 s).
# Prints every run, the median and the worst.  bench/takeover.sh [BUILD] [RUNS]
set -u
BUILD=${1:-build}
RUNS=${2:-5}
top=$(cd "$(dirname "$0")/.." && pwd)
BIN=$top/$BUILD/bin
tmp=$(mktemp -d "${TMPDIR:-/tmp}/framefarm-takeover-XXXXXX")
trap 'kill -9 $(jobs -p) 2>/dev/null; rm -rf "$tmp"' EXIT
"$BIN/framefarm" sample -o "$tmp/s.zip" --frames 240 --size 640x360 >/dev/null

. "$top/bench/lib.sh"

run_restart() {
    local d=$tmp/r$RANDOM port t0 t1
    mkdir -p "$d/share"
    "$BIN/framefarm-coordinator" --share "$d/share" --input "$tmp/s.zip" \
        --output "$d/out.mp4" --listen 127.0.0.1:0 --set-size 12 >"$d/out" 2>"$d/log" &
    local coord=$!
    waitfor "$d/out" '^listening'
    port=$(sed -n 's/.*:\([0-9]*\)$/\1/p' "$d/out")
    "$BIN/framefarm-node" --coordinator "127.0.0.1:$port" --share "$d/share" --name a 2>/dev/null &
    local node=$!
    waitfor "$d/log" 'set 5 epoch [0-9]*: counted'
    kill -9 "$coord"; wait "$coord" 2>/dev/null
    t0=$(now_ms)
    "$BIN/framefarm-coordinator" --share "$d/share" --input "$tmp/s.zip" \
        --output "$d/out.mp4" --listen "127.0.0.1:$port" --set-size 12 >"$d/out2" 2>"$d/log2" &
    coord=$!
    waitfor "$d/log2" 'nodes find this ambassador'
    t1=$(log_ms "$(grep -m1 'nodes find this ambassador' "$d/log2" | cut -d' ' -f1)")
    echo $((t1 - t0))
    wait "$coord" 2>/dev/null; kill -9 "$node" 2>/dev/null; wait "$node" 2>/dev/null
}

run_standby() {
    local d=$tmp/s$RANDOM port t0 t1
    mkdir -p "$d/share"
    "$BIN/framefarm-coordinator" --share "$d/share" --input "$tmp/s.zip" \
        --output "$d/out.mp4" --listen 127.0.0.1:0 --set-size 12 >"$d/out" 2>"$d/log" &
    local coord=$!
    waitfor "$d/out" '^listening'
    port=$(sed -n 's/.*:\([0-9]*\)$/\1/p' "$d/out")
    "$BIN/framefarm-coordinator" --share "$d/share" --input "$tmp/s.zip" \
        --output "$d/out.mp4" --listen 127.0.0.1:0 --set-size 12 --standby >/dev/null 2>"$d/slog" &
    local sb=$!
    "$BIN/framefarm-node" --coordinator "127.0.0.1:$port" --share "$d/share" --name a 2>/dev/null &
    local node=$!
    waitfor "$d/log" 'set 5 epoch [0-9]*: counted'
    t0=$(now_ms)
    kill -9 "$coord"; wait "$coord" 2>/dev/null
    waitfor "$d/slog" 'nodes find this ambassador'
    t1=$(log_ms "$(grep -m1 'nodes find this ambassador' "$d/slog" | cut -d' ' -f1)")
    echo $((t1 - t0))
    wait "$sb" 2>/dev/null; kill -9 "$node" 2>/dev/null; wait "$node" 2>/dev/null
}

r=() s=()
for _ in $(seq "$RUNS"); do r+=("$(run_restart)"); done
printf 'restart-to-ready over %d runs: %s   (runs: %s ms)\n' "$RUNS" "$(printf '%s\n' "${r[@]}" | stats)" "${r[*]}"
for _ in $(seq "$RUNS"); do s+=("$(run_standby)"); done
printf 'standby takeover over %d runs: %s   (runs: %s ms)\n' "$RUNS" "$(printf '%s\n' "${s[@]}" | stats)" "${s[*]}"
