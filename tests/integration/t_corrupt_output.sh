# A node whose mini-video is cut short after it hashed it and before it
# reports done (a failing disk, a bad NFS write): the ambassador's check
# catches the size mismatch, removes the file, and the set is rendered
# again (epoch 2); the job verifies with every set counted once.
. "$(dirname "$0")/lib.sh"
zip=$(sample s96 96 640x360)
start_coord --input "$zip" --output "$T/out.mp4" --set-size 16
export FRAMEFARM_FAULT_CORRUPT_SET=2
start_node flaky
unset FRAMEFARM_FAULT_CORRUPT_SET
wait_exit "$COORD_PID" 120
[ "$STATUS" -eq 0 ] || { tail -n 30 "$T/coord.log"; fail "coordinator exit $STATUS"; }
grep -q 'fault injected' "$T/node-flaky.log" || fail "the fault was never injected"
grep -q 'set 2 epoch 1: result from node .* rejected: result is .* bytes, the node said' "$T/coord.log" ||
    fail "the truncated result was not caught: $(grep 'set 2' "$T/coord.log")"
[ ! -e "$SHARE/jobs/out/out/2/1-flaky.mp4" ] || fail "the rejected file was not removed"
verify "$T/out.mp4" "$zip"
check_no_double_count 6
echo "ok"
