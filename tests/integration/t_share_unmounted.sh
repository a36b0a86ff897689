# A node's share is unmounted under it mid-job (a silent unmount: the
# empty directory underneath shows through). The node finds the share's
# identity gone at its next lease renewal, fences at once and says so,
# writes nothing into the directory underneath (no lease, no result), and
# its sets go back; the job completes on the other node, each set counted
# once. Needs root (a bind mount stands in for the network mount; the lab,
# tests/lab, does it with sshfs); unmounted on every exit.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root for a bind mount"
mnt=$T/mnt-b
mkdir -p "$mnt"
mount --bind "$SHARE" "$mnt" 2>/dev/null || skip "cannot bind-mount here"
trap 'for p in $PIDS; do kill -9 "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; umount -l "$mnt" 2>/dev/null || true; cleanup' EXIT
zip=$(sample s240 240 320x180)
start_coord --input "$zip" --output "$T/out.mp4" --set-size 8 --time-scale 5
FRAMEFARM_FAULT_SLOW_MS=150 start_node a
"$BIN/framefarm-node" --coordinator "127.0.0.1:$PORT" --share "$mnt" \
    --name b --retry-for 20 2>"$T/node-b.log" &
pb=$!; PIDS="$PIDS $pb"
wait_for "$T/coord.log" 'set [0-9]+ epoch [0-9]+: counted \(node b' 60
umount -l "$mnt"
wait_for "$T/node-b.log" 'the share is gone from .*fencing now' 15
wait_exit "$COORD_PID" 120
[ "$STATUS" -eq 0 ] || fail "coordinator exit $STATUS"
verify "$T/out.mp4" "$zip"
check_no_double_count 30
[ -z "$(ls -A "$mnt")" ] || fail "the node wrote into the directory under its unmounted share: $(find "$mnt" | head)"
grep -q 'counted (node a' "$T/coord.log" || fail "node a counted nothing"
echo ok
