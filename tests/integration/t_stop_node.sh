# A node stopped with SIGSTOP while it holds a set (a hung process: the
# kernel still holds its connection open, so only missing heartbeats can
# tell). With heartbeat timings scaled down, the ambassador drops the
# session, reclaims the set, another node renders it, and the job
# verifies. The stopped node is resumed afterwards; whatever it does then
# must not be counted.
. "$(dirname "$0")/lib.sh"
zip=$(sample s240s 240 640x360)
start_coord --input "$zip" --output "$T/out.mp4" --set-size 24 \
    --time-scale 5
start_node sleepy
wait_for "$T/node-sleepy.log" 'rendering' 30
kill -STOP "$(node_pid sleepy)"
wait_for "$T/coord.log" 'node sleepy: session ended: heartbeat timeout' 20
wait_for "$T/coord.log" 'reclaimed from node sleepy' 10
start_node b
wait_exit "$COORD_PID" 240
kill -CONT "$(node_pid sleepy)"
[ "$STATUS" -eq 0 ] || { tail -n 30 "$T/coord.log"; fail "coordinator exit $STATUS"; }
verify "$T/out.mp4" "$zip"
check_no_double_count 10
if grep -q 'counted (node sleepy' "$T/coord.log"; then
    fail "a set was counted from the stopped node's session"
fi
echo "ok"
