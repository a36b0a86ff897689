#!/bin/bash
# tests/lab/lab.sh - the lab in a box: framefarm as a lab runs it, on this
# one machine. A share server (sshd, SFTP), the ambassador and
# $LAB_NODES render nodes are network namespaces on a bridge; the
# ambassador and every node mount the share over the network with sshfs
# (a soft-like or a hard-like mount) in their own mount namespaces; real
# jobs run (a one-job ambassador: --input/--output, the zip on the share)
# while one fault a run is injected: a pulled cable, a cut path, packet
# loss, the share's host down, a silent unmount, a killed ambassador, a
# node restarted with its clock stepped. One table sums it up.
#
#   tests/lab/lab.sh [short|medium|full]      (make lab; make test: short)
#   tests/lab/lab.sh retally DIR               (a campaign's table again)
#
# Profiles: short (make test, ~2 min: baseline, a long cable pull, a
# silent unmount), medium (every fault once, soft mounts: CI), full (every
# fault on soft mounts, and those where it differs on hard mounts, each
# $LAB_RUNS times). Environment: BUILD (build), LAB_RUNS (1), LAB_OUT
# ($BUILD/lab-<profile>: table.md, runs.tsv, every run's logs), LAB_FAULTS
# and LAB_MOUNTS (override the profile: "node-unmount amb-kill", "soft
# hard"), LAB_NODES (3), LAB_FRAMES (240), LAB_SIZE (640x360),
# LAB_SET_SIZE (12), LAB_RUN_TIMEOUT (300 s), LAB_SSHFS_OPTS (more sshfs
# options), LAB_LABEL (a note for the table's header: which code it
# ran), LAB_STRICT (1: also fail on false reclaims, a dead
# ambassador or a missing video), the durations in faults.sh. docs/
# operations.md ("The lab in a box") says how to read the table.
#
# Exit: 0 the campaign ran and no set was counted twice and every video
# written verified (short profile: and every run ended with a verified
# video and no false reclaim); 1 otherwise, or the lab could not be built;
# 77 this machine cannot run it (not root, no FUSE, no namespaces, tools
# missing), with the reason on a "SKIP:" line.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
here=$top/tests/lab
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$top/$BUILD ;; esac
BIN=$BUILD/test-bin
PROFILE=${1:-full}
LAB_RUNS=${LAB_RUNS:-1}
LAB_NODES=${LAB_NODES:-3}
LAB_FRAMES=${LAB_FRAMES:-240}
LAB_SIZE=${LAB_SIZE:-640x360}
LAB_SET_SIZE=${LAB_SET_SIZE:-12}
LAB_RUN_TIMEOUT=${LAB_RUN_TIMEOUT:-300}
LAB_OUT=${LAB_OUT:-$BUILD/lab-$PROFILE}
AMB_PORT=7700
ALL_FAULTS="baseline node-cable-short node-cable-long amb-cable node-share-cut
node-amb-cut loss share-down node-unmount amb-kill node-clock-step"
# On a hard mount only these differ from the soft one: what an outage does
# to operations in flight.
HARD_FAULTS="baseline node-cable-short node-cable-long amb-cable node-share-cut
share-down"

# The ambassador's default timings (its --help says them): the faults'
# durations are set against them (faults.sh), so a change of the defaults
# keeps a short pull short and a long one long.
timing() { # name default
    v=$("$BIN/framefarm-coordinator" --help 2>&1 | grep -o -- "--$1 N ([0-9]*)" |
        tr -dc 0-9)
    echo $(((${v:-$2} + 999) / 1000))
}
RECLAIM_S=$(timing reclaim-ms 15000)
FENCE_S=$(timing fence-ms 10000)

. "$here/hosts.sh"
. "$here/faults.sh"

skip() { echo "SKIP: $*"; exit 77; }
die() { echo "lab: $*" >&2; exit 1; }

# Every exit path (the end, a failure, Ctrl-C, a signal): the background
# helpers, then everything the lab made (hosts.sh, lab_teardown).
on_exit() {
    for p in ${BG_PIDS:-}; do kill -9 "$p" 2>/dev/null || true; done
    lab_teardown
}

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

amb_pid() {
    for p in $(ip netns pids "${LAB_PFX}amb" 2>/dev/null); do
        [ "$(cat "/proc/$p/comm" 2>/dev/null)" = framefarm-coord ] && { echo "$p"; return; }
    done
}

node_pid() { # host
    for p in $(ip netns pids "$LAB_PFX$1" 2>/dev/null); do
        [ "$(cat "/proc/$p/comm" 2>/dev/null)" = framefarm-node ] && { echo "$p"; return; }
    done
}

# The N-th ambassador of the run (a restart is N+1: same command, it
# resumes from its journal). Its status and end time go to amb-N.rc.
amb_start() { # N
    echo "$1" >"$RD/amb.cur"
    (
        on amb "$BIN/framefarm-coordinator" --share "$MNT" \
            --input "$MNT/in/lab.zip" --output "$RD/out.mp4" --job lab \
            --set-size "$LAB_SET_SIZE" --listen "$AMB_IP:$AMB_PORT" \
            >"$RD/amb-$1.out" 2>"$RD/amb-$1.log"
        echo "$? $(now)" >"$RD/amb-$1.rc"
    ) &
    BG_PIDS="$BG_PIDS $!"
    disown
}

node_start() { # host (FAKE_CLOCK: a wall-clock offset for faketime)
    clock=()
    [ -z "${FAKE_CLOCK:-}" ] || clock=(faketime -m -f "$FAKE_CLOCK")
    echo "$(date +%T.%3N) lab: node $1 starts${FAKE_CLOCK:+ with its clock $FAKE_CLOCK}" >>"$RD/node-$1.log"
    on "$1" "${clock[@]}" "$BIN/framefarm-node" --coordinator "$AMB_IP:$AMB_PORT" \
        --share "$MNT" --name "$1" --retry-for 600 2>>"$RD/node-$1.log" &
    disown
}

# The leases as the share's own disk has them, a line each time one
# changes: whether a node renewed while the ambassador said it did not.
lease_watch() {
    prev=""
    while :; do
        cur=$(cd "$LABDIR/share/nodes" 2>/dev/null && cksum ./*/lease 2>/dev/null)
        if [ "$cur" != "$prev" ]; then
            t=$(date +%T.%3N)
            diff <(echo "$prev") <(echo "$cur") | sed -n "s|^> [0-9]* [0-9]* \./\([^/]*\)/lease|$t \1 renewed|p"
            prev=$cur
        fi
        sleep 0.25
    done >>"$RD/leases.log"
}

amb_logs() { cat "$RD"/amb-[0-9]*.log 2>/dev/null; }
amb_done() { n=$(cat "$RD/amb.cur"); [ -s "$RD/amb-$n.rc" ]; }
counted() { amb_logs | grep -c ': counted (' || true; }

# Whether the ambassador's log says NODE holds a set now.
holds() { # node
    amb_logs | awk -v n="$1" '
        / assigned to node / { split($0, f, " set "); split(f[2], g, " "); h[g[1]] = $NF }
        /: counted \(|: failed on node|: reclaimed from node|rejected/ {
            split($0, f, " set "); split(f[2], g, " "); delete h[g[1]] }
        END { for (s in h) if (h[s] == n) { print "yes"; exit } }' | grep -q yes
}

# The run's figures from its logs in $RD (tally.awk): "assigned counted
# reclaimed rejected failed twice latency_ms false". A reclaim the tally
# calls false is not, when the node never started that set: the assign
# never reached it (the ambassador killed just after sending it), so no
# work was thrown away; those are counted in $RD/undelivered.
run_tally() { # hit expect
    # Stamps: the fault's start (or the ambassador's for a run without one).
    t0=$(awk '$2 == "start" { print $1; exit }' "$RD/fault.log" 2>/dev/null)
    t1=$(awk '$2 == "end" { print $1; exit }' "$RD/fault.log" 2>/dev/null)
    [ -n "$t0" ] || t0=$(cat "$RD/t_amb" 2>/dev/null)
    [ -n "$t0" ] || t0=$(amb_logs | awk '{ print $1; exit }')
    : >"$RD/false.list"
    read -r a c r j f w l x <<<"$(amb_logs | awk -v t0="$t0" -v t1="$t1" -v hit="$1" \
        -v expect="$2" -v falses="$RD/false.list" -f "$here/tally.awk")"
    u=0
    while read -r node set epoch; do
        grep -q "job [^ ]* set $set epoch $epoch: rendering" "$RD/node-$node.log" 2>/dev/null ||
            u=$((u + 1))
    done <"$RD/false.list"
    echo "$u" >"$RD/undelivered"
    [ "$x" = n/a ] || x=$((x - u))
    echo "$a $c $r $j $f $w $l $x"
}

# What went wrong, in a few words, for the table's notes.
run_notes() {
    notes=""
    n=$(cat "$RD/amb.cur")
    i=1
    while [ "$i" -le "$n" ]; do
        rc=$(cut -d' ' -f1 "$RD/amb-$i.rc" 2>/dev/null || echo "?")
        if [ "$rc" != 0 ] && ! { [ "$FAULT" = amb-kill ] && [ "$i" -lt "$n" ]; }; then
            last=$(grep -E ' (warn|error|fatal)' "$RD/amb-$i.log" | tail -n 1 |
                cut -d' ' -f4- | cut -c1-90)
            notes="$notes; ambassador $i exit $rc: $last"
        fi
        i=$((i + 1))
    done
    fails=$(amb_logs | sed -n 's/.*: failed on node \([^:]*\): \(.*\); Available again.*/\1: \2/p' |
        sed "s|$MNT|<share>|g" | cut -c1-80 | sort | uniq -c | sort -rn | head -n 2 |
        awk '{ c = $1; $1 = ""; printf "%s%dx%s", (NR > 1 ? ", " : ""), c, $0 }')
    [ -z "$fails" ] || notes="$notes; failures: $fails"
    recl=$(amb_logs | sed -n 's/.*: reclaimed from node \([^ ]*\) (\(.*\)); Available again.*/\1: \2/p' |
        cut -c1-60 | sort | uniq -c | sort -rn | head -n 2 |
        awk '{ c = $1; $1 = ""; printf "%s%dx%s", (NR > 1 ? ", " : ""), c, $0 }')
    [ -z "$recl" ] || notes="$notes; reclaims: $recl"
    lost=$(amb_logs | grep -c 'stopping: ' || true)
    [ "$lost" = 0 ] || notes="$notes; job stopped: $(amb_logs | sed -n 's/.*stopping: //p' | head -n 1 | cut -c1-80)"
    fenced=$(grep -ci 'fenc' "$RD/node-$LAB_VICTIM.log" 2>/dev/null || true)
    [ "${fenced:-0}" = 0 ] || notes="$notes; $LAB_VICTIM fence lines: $fenced"
    u=$(cat "$RD/undelivered" 2>/dev/null || echo 0)
    [ "$u" = 0 ] || notes="$notes; $u reclaim(s) of an assign that never reached its node (not false)"
    orphans=$(find "$LABDIR/share/jobs/lab/out" -type f 2>/dev/null | wc -l)
    [ "$orphans" -le "$SETS" ] || notes="$notes; files left in out/: $orphans for $SETS sets"
    # The lab's paths say nothing; a '|' would split the markdown cell.
    echo "${notes#; }" | sed "s|$MNT|<share>|g; s|$LABDIR|<lab>|g" | tr '|\t' '/ '
}

# One run of FAULT on a MOUNT kind: build the lab, run the job, inject,
# wait, tally, tear down. Appends a line to runs.tsv.
run_one() { # fault mount index
    FAULT=$1 MOUNT=$2
    RD=$LAB_OUT/runs/$1-$2-$3
    rm -rf "$RD"
    mkdir -p "$RD"
    read -r hit expect when <<<"$(fault_spec "$FAULT")"
    printf '%-17s %-4s run %d: ' "$FAULT" "$MOUNT" "$3"
    verdict="" injected=no
    if ! lab_up "$MOUNT" "$RD" 2>>"$RD/lab.log"; then
        echo "the lab did not come up: $(tail -n 1 "$RD/lab.log")"
        # FUSE refused by this machine (a container without the right to
        # mount it): a reason to skip, not a failure.
        fuse=$(grep -h -m 1 -i 'fuse' "$RD"/sshfs-*.log 2>/dev/null | head -n 1)
        [ -z "$fuse" ] || skip "sshfs cannot mount here: $fuse"
        tail -n 5 "$RD/lab.log" >&2
        lab_down
        exit 1
    fi
    mkdir -p "$LABDIR/share/in"
    cp "$ZIP" "$LABDIR/share/in/lab.zip"
    for h in $(lab_nodes); do : >"$RD/node-$h.log"; done
    if [ "$when" = start ]; then "fault_$FAULT"; injected=yes; fi
    t_start=$(now)
    t_amb=$(date +%T.%3N)
    amb_start 1
    deadline=$(($(date +%s) + LAB_RUN_TIMEOUT))
    end=$(($(date +%s) + 30))
    until grep -q '^listening on ' "$RD/amb-1.out" 2>/dev/null || amb_done; do
        [ "$(date +%s)" -lt "$end" ] || break
        sleep 0.05
    done
    for h in $(lab_nodes); do node_start "$h"; done
    lease_watch &
    wpid=$!
    BG_PIDS="$BG_PIDS $wpid"
    fpid=""
    while ! amb_done; do
        if [ "$injected" = no ] && [ "$(counted)" -ge "$TRIGGER" ] &&
            { [ "$hit" = - ] || holds "$hit"; }; then
            "fault_$FAULT" 2>>"$RD/lab.log" &
            fpid=$!
            BG_PIDS="$BG_PIDS $fpid"
            injected=yes
        fi
        if [ "$(date +%s)" -ge "$deadline" ]; then
            verdict="timeout"
            p=$(amb_pid); [ -z "$p" ] || kill -9 "$p"
            [ -z "$fpid" ] || kill -9 "$fpid" 2>/dev/null
            break
        fi
        sleep 0.05
    done
    # A restart (amb-kill) starts the next ambassador from the fault.
    if [ -n "$fpid" ]; then
        wait "$fpid" 2>/dev/null
        while ! amb_done && [ "$(date +%s)" -lt "$deadline" ]; do sleep 0.05; done
    fi
    n=$(cat "$RD/amb.cur")
    while [ ! -s "$RD/amb-$n.rc" ]; do
        p=$(amb_pid); [ -z "$p" ] || kill -9 "$p"
        sleep 0.1
    done
    kill "$wpid" 2>/dev/null
    wait "$wpid" 2>/dev/null
    read -r rc t_end <"$RD/amb-$n.rc"
    jobtime=$(awk -v a="$t_start" -v b="$t_end" 'BEGIN { printf "%.1f", b - a }')
    exits=$(for i in $(seq 1 "$n"); do cut -d' ' -f1 "$RD/amb-$i.rc"; done | paste -sd/)
    [ "$verdict" = timeout ] && exits="$exits(timeout)"

    echo "$t_amb" >"$RD/t_amb"
    read -r assigned cnt reclaimed rejected failed twice lat false <<<"$(run_tally "$hit" "$expect")"
    if [ -s "$RD/out.mp4" ]; then
        if "$BIN/framefarm" verify "$RD/out.mp4" --input "$ZIP" >"$RD/verify.out" 2>&1; then
            verified=yes
        else
            verified="NO: $(tail -n 1 "$RD/verify.out" | cut -c1-60)"
        fi
    else
        verified="no video"
    fi
    notes=$(run_notes)
    [ "$FAULT" = baseline ] || [ "$injected" = yes ] || notes="fault not injected (the job ended first); $notes"
    [ "$verdict" != timeout ] || notes="timed out after $LAB_RUN_TIMEOUT s; $notes"
    [ "${LAB_KEEP_VIDEOS:-0}" = 1 ] || rm -f "$RD/out.mp4"
    echo "amb exit $exits, $assigned assigned, $cnt counted, $reclaimed reclaimed, lat $lat ms, false $false, ${jobtime}s, video $verified"
    [ -z "$notes" ] || echo "    ${notes%; }"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
        "$FAULT" "$MOUNT" "$3" "$assigned" "$cnt" "$reclaimed" "$rejected" \
        "$failed" "$twice" "$lat" "$false" "$jobtime" "$exits" "$verified" \
        "${notes%; }" >>"$LAB_OUT/runs.tsv"
    lab_down
}

# The table: one row per fault and mount, from runs.tsv; then the faults
# and how to read it.
table_write() {
    ver=$("$BIN/framefarm-coordinator" --version 2>/dev/null | head -n 1) || ver="no --version"
    echo "# framefarm lab: $PROFILE profile"
    echo
    echo "$(date -u '+%Y-%m-%d %H:%M UTC'); binaries: $BIN ($ver)${LAB_LABEL:+; $LAB_LABEL}."
    echo "$LAB_NODES nodes, the ambassador and the share's server (sshd) in network" \
        "namespaces on a bridge, sshfs mounts; a one-job ambassador; job: $LAB_FRAMES" \
        "frames $LAB_SIZE, set size $LAB_SET_SIZE ($SETS sets); the binaries' default" \
        "timings (reclaim_ms ${RECLAIM_S} s, fence_ms ${FENCE_S} s); $LAB_RUNS run(s) a row;" \
        "campaign $(since "$t_campaign") s."
    echo
    echo "| fault | mount | runs | assigned | counted | reclaimed | rejected | failed" \
        "| counted twice | reclaim latency med/worst (s) | false reclaims" \
        "| job time med (s) vs baseline | ambassador exit | video verified | notes |"
    echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    awk -F'\t' -f "$here/table.awk" "$LAB_OUT/runs.tsv"
    echo
    echo "Faults:"
    for f in $faults; do echo "- **$f**: $(fault_what "$f")"; done
    echo
    echo "Counts are per run (a/b/c for several runs). Counted twice and false" \
        "reclaims are summed and must be 0. Reclaim latency: from the fault's start" \
        "to the first legitimate reclaim (k/n: runs that had one). Ambassador exit:" \
        "each ambassador of the run in turn (amb-kill's first is the SIGKILL)." \
        "See docs/operations.md, \"The lab in a box\"."
}

# The whole run in one function: bash reads a script as it runs it, and
# a function is read whole first, so editing this file during a campaign
# cannot derail it.
# `lab.sh retally DIR`: the figures of a finished campaign read again from
# its logs (DIR/runs/*) by today's tally, e.g. after a change of what counts
# as a false reclaim; job time, exits and verification are kept from
# DIR/runs.tsv, and the table's header and legend from DIR/table.md.
retally() { # dir
    d=$1
    [ -s "$d/runs.tsv" ] && [ -s "$d/table.md" ] || die "no campaign in $d"
    : >"$d/runs.tsv.new"
    while IFS=$'\t' read -r f m i _ _ _ _ _ _ _ _ jt ex ver notes; do
        RD=$d/runs/$f-$m-$i
        read -r hit expect _ <<<"$(fault_spec "$f")"
        read -r a c r j fl w l x <<<"$(run_tally "$hit" "$expect")"
        u=$(cat "$RD/undelivered")
        notes=$(echo "$notes" | sed -E 's|/[^ ]*/fflab\.[A-Za-z0-9]+/mnt|<share>|g')
        if [ "$u" != 0 ] && [ "${notes#*never reached}" = "$notes" ]; then
            notes="${notes:+$notes; }$u reclaim(s) of an assign that never reached its node (not false)"
        fi
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
            "$f" "$m" "$i" "$a" "$c" "$r" "$j" "$fl" "$w" "$l" "$x" "$jt" "$ex" "$ver" \
            "$notes" >>"$d/runs.tsv.new"
    done <"$d/runs.tsv"
    mv "$d/runs.tsv.new" "$d/runs.tsv"
    {
        sed '/^| fault |/,$d' "$d/table.md"
        sed -n '/^| fault |/{p;n;p;q}' "$d/table.md"
        awk -F'\t' -f "$here/table.awk" "$d/runs.tsv"
        echo
        sed -n '/^Faults:/,$p' "$d/table.md" | sed '/^Figures re-read/,$d'
        echo
        echo "Figures re-read from the logs on $(date -u '+%Y-%m-%d %H:%M UTC') (lab.sh retally)."
    } >"$d/table.md.new"
    mv "$d/table.md.new" "$d/table.md"
    cat "$d/table.md"
}

main() {
    [ "$PROFILE" != retally ] || { retally "${2:?usage: lab.sh retally DIR}"; exit 0; }
    case $PROFILE in
    short)
        faults=${LAB_FAULTS:-baseline node-cable-long node-unmount}
        mounts=${LAB_MOUNTS:-soft} ;;
    medium)
        faults=${LAB_FAULTS:-$ALL_FAULTS}
        mounts=${LAB_MOUNTS:-soft} ;;
    full)
        faults=${LAB_FAULTS:-$ALL_FAULTS}
        mounts=${LAB_MOUNTS:-soft hard} ;;
    *) die "unknown profile '$PROFILE' (short, medium or full)" ;;
    esac
    for f in $faults; do fault_spec "$f" >/dev/null || die "unknown fault '$f'"; done
    why=$(lab_cannot)
    [ -z "$why" ] || skip "$why"
    for b in framefarm framefarm-coordinator framefarm-node; do
        [ -x "$BIN/$b" ] || die "no $BIN/$b: build first (make BUILD=${BUILD#"$top"/} binaries)"
    done
    lab_lock || skip "another lab holds $LAB_LOCK"
    why=$(lab_cannot_ns)
    [ -z "$why" ] || skip "$why"

    LABDIR=
    BG_PIDS=
    trap on_exit EXIT
    trap 'echo "lab: interrupted" >&2; exit 130' INT
    trap 'exit 143' TERM HUP

    lab_dir_make
    mkdir -p "$LAB_OUT/runs"
    ZIP=$LABDIR/lab.zip
    "$BIN/framefarm" sample -o "$ZIP" --frames "$LAB_FRAMES" --size "$LAB_SIZE" >/dev/null ||
        die "framefarm sample failed"
    SETS=$(((LAB_FRAMES + LAB_SET_SIZE - 1) / LAB_SET_SIZE))
    # A fault goes in once this many sets are counted (and, for a node's
    # fault, while that node holds one).
    TRIGGER=${LAB_TRIGGER:-$(((SETS + 4) / 5))}

    echo "lab: $PROFILE profile: $LAB_NODES nodes, $LAB_FRAMES frames $LAB_SIZE, set size $LAB_SET_SIZE ($SETS sets), $LAB_RUNS run(s) a fault; logs in $LAB_OUT/runs"
    : >"$LAB_OUT/runs.tsv"
    t_campaign=$(now)
    for m in $mounts; do
        for f in $faults; do
            if [ "$m" = hard ] && [ -z "${LAB_FAULTS:-}" ]; then
                case " $(echo $HARD_FAULTS) " in *" $f "*) ;; *) continue ;; esac
            fi
            i=1
            while [ "$i" -le "$LAB_RUNS" ]; do
                run_one "$f" "$m" "$i"
                i=$((i + 1))
            done
        done
    done

    table_write >"$LAB_OUT/table.md"
    echo
    cat "$LAB_OUT/table.md"

    # The verdict: what must hold whatever the faults did; the short profile
    # (make test) and LAB_STRICT=1 also want every job done and no false
    # reclaim.
    status=0
    bad=$(awk -F'\t' -v strict="$([ "$PROFILE" = short ] && echo 1 || echo "${LAB_STRICT:-0}")" '
        { r = $1 "/" $2 " run " $3 ": " }
        $9 > 0 { print r $9 " set(s) counted twice" }
        $14 ~ /^NO/ { print r "the video does not verify" }
        strict && $11 != "n/a" && $11 > 0 { print r $11 " false reclaim(s)" }
        strict && $14 !~ /^(yes|NO)/ { print r "video: " $14 " (ambassador exit " $13 ")" }' \
        "$LAB_OUT/runs.tsv")
    if [ -n "$bad" ]; then
        echo
        echo "lab: FAILED:"
        echo "$bad" | sed 's/^/  /'
        status=1
    fi
    echo "lab: table in $LAB_OUT/table.md"
    exit $status
}

main "$@"
