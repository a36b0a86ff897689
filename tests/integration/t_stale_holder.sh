# A connected node that never reports must not stall the job. Node a takes
# set 0 and then reports nothing (the test hook FRAMEFARM_FAULT_STALL_SET
# holds its first attempt until it is cancelled, as a render stuck in a
# driver would), while its lease on the share stops advancing (a frozen
# copy swapped in, as in t_lease_stale). Node a stays connected and keeps
# its heartbeats. Its breaker opens, and reclaim_ms after its lease last
# advanced set 0 is taken back from it, while it is still connected, by
# the same rule as a silent node's; node a is told to drop it, node b
# renders it, and the job finishes with no set counted twice. (Before,
# the set was reclaimed only when node a disconnected: never, here.)
. "$(dirname "$0")/lib.sh"
zip=$(sample s96 96 640x360)
# --backups 0: the lease rule is what this tests; a speculative backup of
# the stalled set on node b would count it first.
start_coord --input "$zip" --output "$T/out.mp4" --set-size 24 --time-scale 5 --backups 0
FRAMEFARM_FAULT_STALL_SET=0 start_node a --slots 1
wait_for "$T/coord.log" 'set 0 epoch 1: assigned to node a' 30
wait_for "$T/node-a.log" 'fault injected: set 0 epoch 1 stalls' 10
[ -s "$SHARE/nodes/a/lease" ] || fail "node a has a set but no lease"
cp "$SHARE/nodes/a/lease" "$SHARE/nodes/a/lease.frozen"
mv "$SHARE/nodes/a/lease.frozen" "$SHARE/nodes/a/lease"
wait_for "$T/coord.log" 'node a: breaker open: its lease stopped advancing' 30
start_node b
wait_for "$T/coord.log" \
    'set 0 epoch 1: reclaimed from node a \(connected, but its lease last advanced [0-9]+ ms ago\)' 30
grep -q 'node a: session ended' "$T/coord.log" &&
    fail "node a's session ended: the reclaim must not wait for that"
wait_for "$T/node-a.log" 'set 0 epoch 1: cancelled by the ambassador' 10
wait_exit "$COORD_PID" 120
[ "$STATUS" -eq 0 ] || fail "coordinator exit $STATUS"
verify "$T/out.mp4" "$zip"
check_no_double_count 4
echo "ok"
