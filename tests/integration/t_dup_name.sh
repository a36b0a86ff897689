# Two nodes with the same name: the second is refused with a clear error
# before any welcome,
# backs off instead of hammering the ambassador, and gives up after its
# --retry-for; the first renders the job.
. "$(dirname "$0")/lib.sh"
zip=$(sample s240s 240 640x360)
start_coord --input "$zip" --output "$T/out.mp4" --set-size 24
start_node twin
wait_for "$T/coord.log" 'node twin: connected' 20
"$BIN/framefarm-node" --coordinator "127.0.0.1:$PORT" --share "$SHARE" \
    --name twin --retry-for 3 2>"$T/node-twin2.log" &
twin2=$!
PIDS="$PIDS $twin2"
wait_exit "$twin2" 30
[ "$STATUS" -ne 0 ] || fail "the second twin exited 0"
grep -q 'is in use' "$T/node-twin2.log" || fail "refusal not explained to the node: $(cat "$T/node-twin2.log")"
# Refused before any welcome: the impostor never had a session.
if grep -q 'connected to the ambassador' "$T/node-twin2.log"; then
    fail "the second twin was welcomed before it was refused"
fi
refusals=$(grep -c 'refused: node name' "$T/coord.log" || true)
[ "$refusals" -ge 1 ] && [ "$refusals" -le 8 ] || fail "$refusals refusals in 3 s: no backoff"
wait_exit "$COORD_PID" 240
[ "$STATUS" -eq 0 ] || fail "coordinator exit $STATUS"
verify "$T/out.mp4" "$zip"
echo "ok (refused $refusals times)"
