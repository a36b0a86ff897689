#!/bin/bash
# Reclaim latency at full-scale (default) timings: how long from a fault to
# the node's set being Available again, for a node killed with SIGKILL (the
# connection drops: immediate) and for a node stopped with SIGSTOP (silent:
# the lease decides, 15 s after it last advanced). Prints every run, the
# median and the worst.  bench/reclaim.sh [BUILD] [RUNS]
set -u
BUILD=${1:-build}
RUNS=${2:-5}
top=$(cd "$(dirname "$0")/.." && pwd)
BIN=$top/$BUILD/bin
tmp=$(mktemp -d "${TMPDIR:-/tmp}/framefarm-reclaim-XXXXXX")
trap 'kill -9 $(jobs -p) 2>/dev/null; rm -rf "$tmp"' EXIT
"$BIN/framefarm" sample -o "$tmp/s.zip" --frames 96 --size 640x360 >/dev/null

. "$top/bench/lib.sh"

run_one() { # signal
    local d=$tmp/run$RANDOM port t0 line ts
    mkdir -p "$d/share"
    "$BIN/framefarm-coordinator" --share "$d/share" --input "$tmp/s.zip" \
        --output "$d/out.mp4" --listen 127.0.0.1:0 --set-size 96 \
        >"$d/out" 2>"$d/log" &
    local coord=$!
    waitfor "$d/out" '^listening'
    port=$(sed -n 's/.*:\([0-9]*\)$/\1/p' "$d/out")
    "$BIN/framefarm-node" --coordinator "127.0.0.1:$port" --share "$d/share" \
        --name victim 2>"$d/node.log" &
    local node=$!
    waitfor "$d/node.log" 'rendering'
    t0=$(now_ms)
    kill -"$1" "$node"
    until grep -q 'reclaimed from node victim' "$d/log" 2>/dev/null; do
        sleep 0.05
        [ $(( $(now_ms) - t0 )) -lt 60000 ] || { echo "no reclaim" >&2; break; }
    done
    line=$(grep -m1 'reclaimed from node victim' "$d/log")
    ts=$(log_ms "$(echo "$line" | cut -d' ' -f1)")
    echo $(( ts - t0 ))
    kill -9 "$coord" "$node" 2>/dev/null
    kill -CONT "$node" 2>/dev/null
    wait "$coord" "$node" 2>/dev/null
}


for sig in KILL STOP; do
    res=()
    for _ in $(seq "$RUNS"); do res+=("$(run_one $sig)"); done
    printf 'SIG%-4s reclaim latency over %d runs: %s   (runs: %s ms)\n' "$sig" \
        "$RUNS" "$(printf '%s\n' "${res[@]}" | stats)" "${res[*]}"
done
