#!/bin/sh
# A queue of jobs on one ambassador (issue 13, "Scale of the ambassador":
# a queue of jobs totalling many sets). The ambassador runs as a service;
# JOBS jobs of SETS one-frame sets of tiny frames (136x80) each are
# submitted at once, then NODES of bench/loadgen's fake nodes (the real
# protocol; each set reported done at once with a real mini-video) take
# them in turn. Per job:
#   submit ms   `framefarm submit` (the zip listed, the job queued)
#   run s       "job J: starting" -> "job J: done" in the log (sets made
#               ready, dispatched, checked, concatenated)
#   ms/set      run s / SETS: what a set costs at that depth of the queue
#   cpu ms/set  the ambassador's CPU time (user + system) from the last
#               job's end to this one's, over SETS: unlike run s, it
#               hardly moves with other load on the machine
#   RSS MB      the ambassador's resident memory when the job is done
# and at the end the ambassador's CPU seconds over all sets. The cost per
# set must not grow down the queue, nor RSS with the jobs done.
#   bench/queue.sh BUILD           e.g. JOBS=10 SETS=10000 bench/queue.sh build
set -u
BUILD=${1:-build}
JOBS=${JOBS:-10}
SETS=${SETS:-10000}
NODES=${NODES:-8}
LOADGEN=$BUILD/bench/loadgen
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
[ -x "$LOADGEN" ] || { echo "queue.sh: no $LOADGEN (make binaries)" >&2; exit 2; }
bench_tmp queue

z=$BUILD/samples/bench-sets-$SETS.zip
mkdir -p "$BUILD/samples"
[ -f "$z" ] || "$BUILD/bin/framefarm" sample -o "$z" --frames "$SETS" \
    --size 136x80 >/dev/null || exit 1
mkdir -p "$T/share" "$T/out"
"$BUILD/bin/framefarm-coordinator" --share "$T/share" --listen 127.0.0.1:0 \
    --set-size 1 --http off >"$T/amb.out" 2>"$T/amb.log" &
AMB=$!
PIDS="$PIDS $AMB"
waitfor "$T/amb.out" '^listening on'
PORT=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$T/amb.out" | head -n1)

echo "machine: $(uname -m), $(nproc) cores, load at start $(cut -d' ' -f1-3 /proc/loadavg)"
echo "$JOBS jobs of $SETS one-frame sets ($((JOBS * SETS)) sets), $NODES loadgen nodes"
j=1
while [ "$j" -le "$JOBS" ]; do
    t0=$(now_ms)
    "$BUILD/bin/framefarm" submit "$z" -o "$T/out/q$j.mp4" --job "q$j" \
        --set-size 1 --coordinator "127.0.0.1:$PORT" >/dev/null ||
        { echo "queue.sh: submit q$j failed" >&2; exit 1; }
    echo "$(($(now_ms) - t0))" >"$T/submit-$j"
    j=$((j + 1))
done
"$LOADGEN" --coordinator "127.0.0.1:$PORT" --share "$T/share" \
    --nodes "$NODES" --report "done" --duration 36000 --quiet \
    >"$T/lg.out" 2>"$T/lg.log" &
PIDS="$PIDS $!"

hz=$(getconf CLK_TCK)
ticks() { awk '{print $14 + $15}' "/proc/$AMB/stat"; }
printf '%-5s %9s %8s %7s %10s %7s\n' job "submit ms" "run s" ms/set \
    "cpu ms/set" "RSS MB"
c0=$(ticks)
j=1
while [ "$j" -le "$JOBS" ]; do
    until grep -q "job q$j: done\$" "$T/amb.log"; do
        if grep -q "job q$j: failed" "$T/amb.log" || ! kill -0 "$AMB" 2>/dev/null; then
            echo "queue.sh: job q$j did not finish:" >&2
            tail -n 5 "$T/amb.log" >&2
            exit 1
        fi
        sleep 0.05
    done
    rss=$(awk '/VmRSS/ {printf "%.0f", $2 / 1024}' "/proc/$AMB/status")
    c1=$(ticks)
    a=$(log_ms "$(grep -m1 "job q$j: starting" "$T/amb.log" | cut -d' ' -f1)")
    b=$(log_ms "$(grep -m1 "job q$j: done\$" "$T/amb.log" | cut -d' ' -f1)")
    printf '%-5s %9s %8s %7s %10s %7s\n' "q$j" "$(cat "$T/submit-$j")" \
        "$(echo "$a $b" | awk '{printf "%.2f", ($2 - $1) / 1000}')" \
        "$(echo "$a $b $SETS" | awk '{printf "%.3f", ($2 - $1) / $3}')" \
        "$(echo "$c0 $c1 $hz $SETS" | awk '{printf "%.3f", ($2 - $1) * 1000 / $3 / $4}')" \
        "$rss"
    c0=$c1
    j=$((j + 1))
done
cpu=$(awk -v hz="$hz" '{printf "%.1f", ($14 + $15) / hz}' "/proc/$AMB/stat")
echo "ambassador CPU: $cpu s for $((JOBS * SETS)) sets ($(echo "$cpu $JOBS $SETS" |
    awk '{printf "%.3f", $1 * 1000 / ($2 * $3)}') ms a set)"
echo "load at end: $(cut -d' ' -f1-3 /proc/loadavg)"
