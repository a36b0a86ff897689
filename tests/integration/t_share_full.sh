# A full share pauses the job and it resumes by itself (issue 11, item 7):
# nodes used to fail sets with ENOSPC, their breakers backed off and the
# job sat silent. On a real (tmpfs) share filled up after the job's tree
# is written: the ambassador's probe sees less than --share-min-free-bytes
# free and says "share is full", nothing is handed out, the journal waits
# for space instead of ending the ambassador, the progress line says
# "paused: share-full"; when space returns the job finishes, with no set
# failure counted. Then the node's side: with the share left a few
# hundred KiB (more than the minimum, less than a mini-video), a node whose
# render runs out of space reports it, the set goes back without a failure
# counted, and nothing more is handed out until the share has more space.
# Needs root (a tmpfs mount); unmounted on every exit.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root to mount a tmpfs share"
mount -t tmpfs -o size=24m tmpfs "$SHARE" 2>/dev/null || skip "cannot mount a tmpfs here"
trap 'for p in $PIDS; do kill -9 "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; umount -l "$SHARE" 2>/dev/null || true; cleanup' EXIT
zip=$(sample s96 96 640x360)

fill_to() { # leave about N bytes free on the share
    avail=$(df --output=avail -B1 "$SHARE" | tail -n 1 | tr -d ' ')
    [ "$avail" -gt "$1" ] || return 0
    fallocate -l $((avail - $1)) "$SHARE/filler.$(date +%s%N)"
}

# 1. The probe: full below the minimum; paused; resumes when space returns.
start_coord --input "$zip" --output "$T/out.mp4" --set-size 24 --time-scale 5 \
    --share-min-free-bytes 4194304 --progress
wait_for "$T/coord.log" 'sets ready' 10
fill_to 1048576
wait_for "$T/coord.log" 'share is full \([0-9]+ MiB free, 4 MiB wanted\): no new work' 20
start_node a
wait_for "$T/coord.log" 'node a: connected' 20
wait_for "$T/coord.out" 'progress 0 4 0 96 paused share-full' 10
sleep 1
grep -q 'assigned to node' "$T/coord.log" && fail "a set was assigned while the share was full"
rm -f "$SHARE"/filler.*
wait_for "$T/coord.log" 'share has space again' 20
wait_exit "$COORD_PID" 120
[ "$STATUS" -eq 0 ] || fail "coordinator exit $STATUS"
verify "$T/out.mp4" "$zip"
grep -q 'failed on node' "$T/coord.log" && fail "a set failure was counted"
check_no_double_count 4
kill "$(node_pid a)" 2>/dev/null || true

# 2. A node out of space: its set goes back, no failure counted.
rm -rf "$SHARE/jobs" "$T/out.mp4"
start_coord --input "$zip" --output "$T/out.mp4" --set-size 24 --time-scale 5 \
    --share-min-free-bytes 0
wait_for "$T/coord.log" 'sets ready' 10
fill_to 262144
start_node b
wait_for "$T/coord.log" 'node b has no space on the share \(.*\); Available again, no failure counted' 30
sleep 1
[ "$(grep -c 'has no space on the share' "$T/coord.log")" -eq 1 ] ||
    fail "sets were handed out again while the share had no more space: $(grep -c 'has no space' "$T/coord.log") refusals"
rm -f "$SHARE"/filler.*
wait_exit "$COORD_PID" 120
[ "$STATUS" -eq 0 ] || fail "coordinator exit $STATUS (node out of space)"
verify "$T/out.mp4" "$zip"
grep -q 'failed on node' "$T/coord.log" && fail "a set failure was counted (node out of space)"
echo "ok"
