#!/bin/sh
# Scale of the ambassador in sets (issue 13): a job of N one-frame sets of
# tiny frames (136x80), for N in $SETS (default 1000 10000 100000; above
# 100,000 the zip is made by bench/bigzip.py, python3). Per N:
#   prepare s   ambassador start -> "sets ready" (zip listed, job tree
#               written, journal opened)
#   files       files and folders the job tree holds then
#   RSS MB      the ambassador's resident memory then
#   dispatch s  (N <= $DISPATCH_MAX, default 1000) the nodes take and
#               report every set: start of the nodes -> the ambassador's
#               exit (its replay below not counted)
#   ms/set      dispatch s / N
#   peak MB     (with dispatch) the ambassador's highest resident memory
#               (VmHWM, read every 50 ms) over prepare and dispatch, both
#               runs (the final concat included)
#   journal MB  bytes written to the journal in all (appends + every
#               compaction's rewrite, from the "journal compacted" lines)
#   compactions
#   replay s    an ambassador killed with -9 (half-way through dispatch
#               when there is one), started again: start -> "sets ready"
#               (zip listed again, journal replayed, results checked)
# With a BASE build (a build of the code before the change) every row is
# measured for both, alternating, and the ratio base/new printed.
#   bench/sets.sh BUILD [BASE_BUILD]
#   e.g. SETS="1000 10000" DISPATCH_MAX=10000 bench/sets.sh build base/build
set -u
BUILD=${1:-build}
BASE=${2:-}
SETS=${SETS:-1000 10000 100000}
DISPATCH_MAX=${DISPATCH_MAX:-1000}
# Dispatch by bench/loadgen's fake nodes (the real protocol, done at once)
# when it is built, NODES of them; else by two real framefarm-node.
LOADGEN=${LOADGEN:-$BUILD/bench/loadgen}
NODES=${NODES:-8}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
bench_tmp sets

zip_of() { # sets -> path (cached under BUILD/samples)
    z=$BUILD/samples/bench-sets-$1.zip
    mkdir -p "$BUILD/samples"
    if [ ! -f "$z" ] && [ "$1" -gt 100000 ]; then
        # beyond framefarm sample's limit: the 100,000 zip's frames reused
        python3 "$here/bigzip.py" "$(zip_of 100000)" "$z.part" "$1" &&
            mv "$z.part" "$z" || exit 1
    fi
    [ -f "$z" ] || "$BUILD/bin/framefarm" sample -o "$z" --frames "$1" \
        --size 136x80 >/dev/null || exit 1
    echo "$z"
}

# The journal's bytes written, from a log and its final size.
journal_bytes() { # coord.log final-size
    awk -v fin="$2" '
        /journal compacted:/ {
            for (i = 1; i <= NF; i++) if ($i == "->") { x = $(i-1); y = $(i+1) }
            app += x - prev; rew += y; prev = y; n++
        }
        END { if (prev == 0) prev = 8; app += fin - prev;
              printf "%.1f %d\n", (app + rew) / 1048576, n }' "$1"
}

start_amb() { # bin-dir share zip log out extra...
    b=$1 sh=$2 z=$3 lg=$4 o=$5
    shift 5
    rm -f "$lg" "$o" # waitfor must not read the last run's lines
    "$b/framefarm-coordinator" --share "$sh" --listen 127.0.0.1:0 \
        --input "$z" --output "$sh/out.mp4" --set-size 1 --job bench \
        --http off "$@" >"$o" 2>"$lg" &
    AMB=$!
    PIDS="$PIDS $AMB"
    waitfor "$lg" 'sets ready'
    PORT=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$o" | head -n1)
}

start_nodes() { # bin-dir share
    if [ -x "$LOADGEN" ]; then
        # --duration: loadgen's default (60 s) ended a 100,000-set
        # dispatch on a loaded machine before its half-way kill point.
        "$LOADGEN" --coordinator "127.0.0.1:$PORT" --share "$2" \
            --nodes "$NODES" --report done --duration 36000 --quiet \
            >"$T/lg.out" 2>"$T/lg.log" &
        NODEPIDS=$!
    else
        NODEPIDS=""
        for nd in a b; do
            "$1/framefarm-node" --coordinator "127.0.0.1:$PORT" \
                --share "$2" --name "$nd" --retry-for 20 \
                2>"$T/node-$nd.log" &
            NODEPIDS="$NODEPIDS $!"
        done
    fi
    PIDS="$PIDS $NODEPIDS"
}

# The ambassador's VmHWM in MB, or the larger PEAK seen so far.
hwm() { # pid
    h=$(awk '/VmHWM/ {printf "%.0f", $2 / 1024}' "/proc/$1/status" 2>/dev/null)
    [ -n "$h" ] && [ "$h" -gt "$PEAK" ] && PEAK=$h
}

one() { # bin-dir sets -> "prepare files rss dispatch ms/set MB compactions replay peak"
    b=$1 n=$2
    z=$(zip_of "$n")
    sh=$T/share-$n
    rm -rf "$sh"
    mkdir -p "$sh"
    t0=$(now_ms)
    start_amb "$b" "$sh" "$z" "$T/amb.log" "$T/amb.out"
    prep=$(($(now_ms) - t0))
    files=$(find "$sh/jobs" | wc -l)
    rss=$(awk '/VmRSS/ {printf "%.0f", $2 / 1024}' "/proc/$AMB/status")
    disp=- mps=- mb=- nc=- rep=- PEAK=0
    if [ "$n" -le "$DISPATCH_MAX" ]; then
        t0=$(now_ms)
        start_nodes "$b" "$sh"
        # Kill the ambassador half-way, time its replay, let it finish.
        until [ "$(grep -c ': counted' "$T/amb.log")" -ge $((n / 2)) ]; do
            hwm "$AMB"
            sleep 0.05
        done
        hwm "$AMB"
        kill -9 "$AMB" $NODEPIDS
        wait "$AMB" $NODEPIDS 2>/dev/null
        half=$(journal_bytes "$T/amb.log" "$(stat -c %s "$sh/jobs/bench/journal")")
        t1=$(now_ms)
        start_amb "$b" "$sh" "$z" "$T/amb2.log" "$T/amb.out" \
            --listen "127.0.0.1:$PORT"
        rep=$(($(now_ms) - t1))
        start_nodes "$b" "$sh"
        while kill -0 "$AMB" 2>/dev/null; do
            hwm "$AMB"
            sleep 0.05
        done
        wait "$AMB"
        disp=$(($(now_ms) - t0 - rep))
        set -- $half $(journal_bytes "$T/amb2.log" \
            "$(stat -c %s "$sh/jobs/bench/journal")")
        mb=$(echo "$1 $3" | awk '{printf "%.1f", $1 + $2}')
        nc=$(($2 + $4))
        mps=$(echo "$disp $n" | awk '{printf "%.2f", $1 / $2}')
        disp=$(echo "$disp" | awk '{printf "%.1f", $1 / 1000}')
        rep=$(echo "$rep" | awk '{printf "%.2f", $1 / 1000}')
    else
        kill -9 "$AMB"
        wait "$AMB" 2>/dev/null
        t1=$(now_ms)
        start_amb "$b" "$sh" "$z" "$T/amb2.log" "$T/amb.out"
        rep=$(echo "$(($(now_ms) - t1))" | awk '{printf "%.2f", $1 / 1000}')
        kill -9 "$AMB"
        wait "$AMB" 2>/dev/null
    fi
    for p in $PIDS; do kill -9 "$p" 2>/dev/null; done
    PIDS=""
    rm -rf "$sh"
    [ "$PEAK" -gt 0 ] || PEAK=-
    echo "$(echo "$prep" | awk '{printf "%.2f", $1 / 1000}') $files $rss $disp $mps $mb $nc $rep $PEAK"
}

# Each row: the median of REPEAT runs per column (default 3; the builds
# alternate run by run), then for a BASE the ratio base/new of prepare,
# dispatch and replay.
REPEAT=${REPEAT:-3}
median() { # file column
    awk -v c="$2" '{print $c}' "$1" | sort -g | awk '
        {a[NR] = $1} END {print (NR == 0 || a[1] == "-") ? "-" : a[int((NR + 1) / 2)]}'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {
    if (a == "-" || b == "-" || b + 0 == 0) print "-"; else printf "%.1fx", a / b }'; }
row() { # sets label file
    printf '%-6s %-8s %10s %9s %7s %10s %7s %10s %6s %8s %7s\n' "$1" "$2" \
        "$(median "$3" 1)" "$(median "$3" 2)" "$(median "$3" 3)" \
        "$(median "$3" 4)" "$(median "$3" 5)" "$(median "$3" 6)" \
        "$(median "$3" 7)" "$(median "$3" 8)" "$(median "$3" 9)"
}
echo "medians of $REPEAT alternating runs"
printf '%-6s %-8s %10s %9s %7s %10s %7s %10s %6s %8s %7s\n' sets build \
    "prepare s" files "RSS MB" "dispatch s" ms/set "journal MB" \
    compact "replay s" "peak MB"
for n in $SETS; do
    : >"$T/base.txt"
    : >"$T/new.txt"
    r=0
    while [ "$r" -lt "$REPEAT" ]; do
        [ -z "$BASE" ] || one "$BASE/bin" "$n" >>"$T/base.txt"
        one "$BUILD/bin" "$n" >>"$T/new.txt"
        r=$((r + 1))
    done
    [ -z "$BASE" ] || row "$n" base "$T/base.txt"
    row "$n" new "$T/new.txt"
    if [ -n "$BASE" ]; then
        printf '%-6s %-8s %10s %9s %7s %10s %7s %10s %6s %8s\n' "$n" \
            base/new "$(ratio "$(median "$T/base.txt" 1)" "$(median "$T/new.txt" 1)")" \
            "" "" "$(ratio "$(median "$T/base.txt" 4)" "$(median "$T/new.txt" 4)")" \
            "" "" "" "$(ratio "$(median "$T/base.txt" 8)" "$(median "$T/new.txt" 8)")"
    fi
done
