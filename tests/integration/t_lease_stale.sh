# Each node's breaker watches its lease as well as its heartbeats. Node a
# stays connected and healthy, but its lease on the share stops advancing
# (the test swaps a frozen copy in; the node keeps writing to the old
# file, as a node whose writes no longer reach the share the ambassador
# reads would). Within fence + renew + poll time the ambassador says so,
# node a's breaker opens and it is given nothing more; node b finishes the
# job; no set is counted twice and the video verifies. (Under load node a
# may also fence itself, dropping its set for node b: that is allowed.)
. "$(dirname "$0")/lib.sh"
zip=$(sample s240 240 1600x900)
# The old, tighter lease timings (the defaults follow NFS now, 25/30 s):
# the job must still be running when the lease is judged still.
start_coord --input "$zip" --output "$T/out.mp4" --set-size 40 --time-scale 5 \
    --fence-ms 10000 --reclaim-ms 15000
start_node a
wait_for "$T/coord.log" 'set 0 epoch 1: assigned to node a' 30
[ -s "$SHARE/nodes/a/lease" ] || fail "node a has a set but no lease"
cp "$SHARE/nodes/a/lease" "$SHARE/nodes/a/lease.frozen"
mv "$SHARE/nodes/a/lease.frozen" "$SHARE/nodes/a/lease"
wait_for "$T/coord.log" 'node a: connected, but its lease has not advanced for [0-9]+ ms: no new work for it' 30
wait_for "$T/coord.log" 'node a: breaker open: its lease stopped advancing' 10
stale_line=$(grep -n 'node a: breaker open: its lease stopped advancing' "$T/coord.log" | head -n 1 | cut -d: -f1)
start_node b
wait_exit "$COORD_PID" 240
[ "$STATUS" -eq 0 ] || fail "coordinator exit $STATUS"
verify "$T/out.mp4" "$zip"
check_no_double_count 6
late=$(tail -n "+$((stale_line + 1))" "$T/coord.log" | grep -c 'assigned to node a' || true)
[ "$late" -eq 0 ] || fail "node a was given $late set(s) after its lease stopped advancing"
echo "ok"
