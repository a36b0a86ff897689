# A node killed with SIGKILL while it holds a set: the set is reclaimed at
# once (the connection drops), rendered elsewhere, and the job still
# completes and verifies with every set counted once.
. "$(dirname "$0")/lib.sh"
zip=$(sample s240s 240 640x360)
start_coord --input "$zip" --output "$T/out.mp4" --set-size 24
start_node victim
wait_for "$T/coord.log" 'assigned to node victim' 30
wait_for "$T/node-victim.log" 'rendering' 30
kill -9 "$(node_pid victim)"
start_node b
start_node c
wait_exit "$COORD_PID" 240
[ "$STATUS" -eq 0 ] || { tail -n 30 "$T/coord.log"; fail "coordinator exit $STATUS"; }
grep -q 'reclaimed from node victim' "$T/coord.log" || fail "no reclaim logged"
verify "$T/out.mp4" "$zip"
check_no_double_count 10
echo "ok"
