#!/bin/bash
# Many machines: makespan against the ideal, with and without speculative
# backups.  bench/makespan.sh [BUILD]
#   env: RUNS=3 (alternating runs per mode of the real part)
#        FRAMES=288 SIZE=1600x900 SET=24 (the real job and its set size)
#        FAST=50000 SLOW=12500 (cgroup CPU quotas, us per 100 ms period)
#        KEEP=1 keeps the runs' logs (the directory is printed)
# 1. One set of SET real frames rendered by the node pipeline
#    (render_bench): its wall time is the per-set time of the simulation.
# 2. bench/makespan drives the real ambassador core with K = 2..64 virtual
#    nodes at that speed (all equal / one 4x slower / one dies mid-set).
# 3. Real processes on this machine: an ambassador and three framefarm-node
#    processes, each in its own CPU cgroup (v2 cpu.max, else v1 CFS quota),
#    two capped at FAST and one at SLOW (4x slower), render FRAMES frames;
#    alternating runs with --backups 1 and --backups 0. Each node's speed
#    is measured from its own sets (assigned -> counted, all runs); the
#    ideal is sets / (sum of the speeds) plus the concat; the makespan runs
#    from the first assignment to the verified video. Skipped, saying why,
#    when no cgroup CPU controller is writable (needs root). Cgroups and
#    processes are removed on every exit path.
set -u
BUILD=${1:-build}
RUNS=${RUNS:-3}
FRAMES=${FRAMES:-288}
SIZE=${SIZE:-1600x900}
SET=${SET:-24}
FAST=${FAST:-50000}
SLOW=${SLOW:-12500}
PERIOD=100000
top=$(cd "$(dirname "$0")/.." && pwd)
BIN=$top/$BUILD/bin
tmp=$(mktemp -d "${TMPDIR:-/tmp}/framefarm-makespan-XXXXXX")
pids=()
cgs=()
cleanup() {
    trap - EXIT INT TERM
    for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
    # Deepest first: the job cgroups, then their parent. What is still in
    # one was started by this script (each process joined its cgroup
    # itself): it is ended by its id before the cgroup goes.
    for ((i = ${#cgs[@]} - 1; i >= 0; i--)); do
        for _ in 1 2 3 4 5 6 7 8 9 10; do
            left=$(cat "${cgs[$i]}/cgroup.procs" 2>/dev/null)
            [ -z "$left" ] && break
            for p in $left; do kill -9 "$p" 2>/dev/null; done
            sleep 0.1
        done
        rmdir "${cgs[$i]}" 2>/dev/null || echo "makespan.sh: could not remove ${cgs[$i]}" >&2
    done
    if [ -n "${KEEP:-}" ]; then echo "logs kept in $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM
. "$top/bench/lib.sh"
calc() { awk "BEGIN {printf \"%.3f\", $1}"; }

# ---- 1 and 2: the simulation, at the speed of a real render ----
"$BIN/framefarm" sample -o "$tmp/set.zip" --frames "$SET" --size "$SIZE" >/dev/null
walls=()
for _ in 1 2 3; do
    line=$("$top/$BUILD/bench/render_bench" "$tmp/set.zip" "$tmp/set.mp4")
    walls+=("$(echo "$line" | sed 's/.*wall=\([0-9.]*\).*/\1/')")
done
set_s=$(printf '%s\n' "${walls[@]}" | sort -n | awk '{a[NR]=$1} END {print a[2]}')
set_ms=$(awk "BEGIN {printf \"%d\", $set_s * 1000}")
printf 'one set of %s frames (%s, framefarm sample) through render_bench: median %s s of %s\n' \
    "$SET" "$SIZE" "$set_s" "${walls[*]}"
echo "== simulation: the real ambassador core, K virtual nodes =="
"$top/$BUILD/bench/makespan" "$set_ms" "$((set_ms / 10))"

# ---- 3: real processes in CPU cgroups ----
echo "== real processes: ambassador + 3 nodes (2 at $FAST/$PERIOD us, 1 at $SLOW/$PERIOD us of CPU) =="
cgv=
if [ "$(id -u)" != 0 ]; then
    echo "skipped: not root (cgroups need it)"; exit 0
fi
for root in /sys/fs/cgroup /sys/fs/cgroup/unified; do
    if [ -f "$root/cgroup.controllers" ] && grep -qw cpu "$root/cgroup.controllers"; then
        cgv=2; cgroot=$root; break
    fi
done
if [ -z "$cgv" ] && [ -f /sys/fs/cgroup/cpu/cpu.cfs_quota_us ]; then
    cgv=1; cgroot=/sys/fs/cgroup/cpu
    echo "note: cgroup v2 has no cpu controller here (v2: $(cat /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null || echo none)); using the v1 cpu controller's CFS quota, the same throttle"
fi
if [ -z "$cgv" ]; then
    echo "skipped: no cgroup cpu controller (v2 cpu.max or v1 cpu.cfs_quota_us) on this machine"
    exit 0
fi
parent=$cgroot/framefarm-makespan-$$
if ! mkdir "$parent" 2>/dev/null; then
    echo "skipped: cannot create a cgroup under $cgroot"; exit 0
fi
cgs+=("$parent")
if [ "$cgv" = 2 ] && ! echo +cpu >"$parent/cgroup.subtree_control" 2>/dev/null; then
    echo "skipped: cannot enable the cpu controller under $parent"; exit 0
fi
# cg_new NAME QUOTA: a child cgroup with QUOTA us of CPU per PERIOD ("max").
cg_new() {
    local cg=$parent/$1
    mkdir "$cg" || return 1
    cgs+=("$cg")
    if [ "$cgv" = 2 ]; then
        echo "$2 $PERIOD" >"$cg/cpu.max"
    else
        echo "$PERIOD" >"$cg/cpu.cfs_period_us"
        if [ "$2" = max ]; then echo -1; else echo "$2"; fi >"$cg/cpu.cfs_quota_us"
    fi
}
cg_new amb max && cg_new n0 "$FAST" && cg_new n1 "$FAST" && cg_new n2 "$SLOW" ||
    { echo "skipped: cannot write the CPU quotas"; exit 0; }
# A command run as  sh -c "$CG_EXEC" CGROUP CMD...  joins CGROUP, then
# becomes CMD (same pid): in the cgroup from its first instruction.
CG_EXEC='echo $$ >"$0/cgroup.procs" && exec "$@"'

"$BIN/framefarm" sample -o "$tmp/job.zip" --frames "$FRAMES" --size "$SIZE" >/dev/null
nsets=$(( (FRAMES + SET - 1) / SET ))

# run_one MODE N: one job with --backups MODE; its log stays in $tmp/N.
run_one() {
    local d=$tmp/$2 port coord
    mkdir -p "$d/share"
    sh -c "$CG_EXEC" "$parent/amb" "$BIN/framefarm-coordinator" --share "$d/share" \
        --input "$tmp/job.zip" --output "$d/out.mp4" --listen 127.0.0.1:0 \
        --http off --set-size "$SET" --backups "$1" >"$d/out" 2>"$d/log" &
    coord=$!
    pids+=("$coord")
    waitfor "$d/out" '^listening'
    port=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$d/out")
    for n in n0 n1 n2; do
        sh -c "$CG_EXEC" "$parent/$n" "$BIN/framefarm-node" --coordinator "127.0.0.1:$port" \
            --share "$d/share" --name "$n" 2>"$d/$n.log" &
        pids+=("$!")
    done
    wait "$coord" || { echo "run $2: the job failed; see its log" >&2; tail -3 "$d/log" >&2; }
    # The nodes leave with a one-job ambassador; any still there is ended.
    sleep 1
    for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
    pids=()
}

# log_ms of a log line's time stamp.
line_ms() { log_ms "$(echo "$1" | cut -d' ' -f1)"; }

runs=()
for r in $(seq "$RUNS"); do
    for mode in 1 0; do
        run_one "$mode" "r$r-b$mode"
        runs+=("r$r-b$mode")
    done
done

# Each node's set time: "rendering" -> "rendered" of the same set and
# epoch in its own log, over every run (cancelled renders left out).
speeds=()
for n in n0 n1 n2; do
    for run in "${runs[@]}"; do
        grep -E ': (rendering|rendered) [0-9]+ frames' "$tmp/$run/$n.log" |
            while read -r l; do
                key=$(echo "$l" | sed -n 's/.* set \([0-9]*\) epoch \([0-9]*\): render.*/\1-\2/p')
                case $l in
                *": rendering "*) echo "start $key $(line_ms "$l")" ;;
                *) echo "end $key $(line_ms "$l")" ;;
                esac
            done
    done | awk '$1 == "start" {s[$2] = $3} $1 == "end" && ($2 in s) {print $3 - s[$2]}' \
        >"$tmp/$n.times"
    k=$(wc -l <"$tmp/$n.times")
    mean=$(awk '{s += $1} END {if (NR) printf "%d", s / NR}' "$tmp/$n.times")
    if [ "$k" -gt 0 ] && [ "${mean:-0}" -gt 0 ]; then
        printf 'node %s: %d sets rendered, mean %d ms a set\n' "$n" "$k" "$mean"
        speeds+=("$mean")
    else
        printf 'node %s: no set rendered (left out of the ideal)\n' "$n"
    fi
done
# sets per ms, all nodes together
speed_sum=$(printf '%s\n' "${speeds[@]}" | awk '{s += 1 / $1} END {printf "%.9f", s}')
printf '%-8s %8s %9s %9s %7s  %s\n' run backups "makespan" ideal ratio "backups ran/won"
for run in "${runs[@]}"; do
    log=$tmp/$run/log
    first=$(grep -m1 'assigned to node' "$log")
    cat_start=$(grep -m1 'concatenating in set order' "$log")
    wrote=$(grep -m1 ': wrote .*verified' "$log")
    summary=$(grep -m1 ': done; assigned' "$log")
    if [ -z "$first" ] || [ -z "$wrote" ] || [ -z "$summary" ]; then
        printf '%-8s did not finish\n' "$run"; continue
    fi
    span=$(( $(line_ms "$wrote") - $(line_ms "$first") ))
    concat=$(( $(line_ms "$wrote") - $(line_ms "$cat_start") ))
    ideal=$(awk "BEGIN {printf \"%d\", $nsets / $speed_sum + $concat}")
    bk=$(echo "$summary" | sed -n 's/.*backups \([0-9]*\) (won \([0-9]*\)).*/\1\/\2/p')
    printf '%-8s %8s %8.2fs %8.2fs %7.3f  %s\n' "$run" "${run##*-b}" \
        "$(calc "$span / 1000")" "$(calc "$ideal / 1000")" \
        "$(calc "$span / $ideal")" "$bk"
    echo "${run##*-b} $(calc "$span / $ideal")" >>"$tmp/ratios"
done
for mode in 1 0; do
    printf 'backups %s: median ratio %s over %s runs\n' "$mode" \
        "$(awk -v m="$mode" '$1 == m {print $2}' "$tmp/ratios" 2>/dev/null |
            sort -n | awk '{a[NR]=$1} END {print NR ? a[int((NR+1)/2)] : "-"}')" \
        "$(awk -v m="$mode" '$1 == m' "$tmp/ratios" 2>/dev/null | wc -l)"
done
