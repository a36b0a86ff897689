# A hardware encoder that passed its probe but breaks at run time, made
# with the node's test hook FRAMEFARM_FAULT_ENCODER=h264_nvenc (offered as
# if it worked; every open fails). Each set first fails on NVENC and is
# rendered again with libx264 on the same node; after 3 failures the
# encoder's breaker holds it back and sets go straight to the CPU (until
# its cool-down lets one set probe it again). Every
# counted line says libx264 with the reason, the video verifies. With the
# job's --fallback none the sets fail with the encoder's error instead and
# the job stops with a report.
. "$(dirname "$0")/lib.sh"
zip=$(sample s48 48 320x180)
export FRAMEFARM_FAULT_ENCODER=h264_nvenc

# 1. Fallback allowed: the job completes on the CPU.
start_coord --input "$zip" --output "$T/out.mp4" --set-size 6
start_node a --encoder nvenc
wait_exit "$COORD_PID" 120
[ "$STATUS" -eq 0 ] || { tail -n 30 "$T/coord.log"; fail "coordinator exit $STATUS"; }
verify "$T/out.mp4" "$zip"
check_no_double_count 8
grep -q 'test hook FRAMEFARM_FAULT_ENCODER=h264_nvenc' "$T/node-a.log" ||
    fail "the node does not announce the test hook"
retried=$(grep -c 'h264_nvenc failed at run time: .*injected fault.*; rendering set [0-9]* again with libx264 (CPU fallback)' "$T/node-a.log" || true)
# 3 in a row open the breaker; after a (jittered) cool-down one more set
# may probe the encoder again.
[ "$retried" -ge 3 ] || fail "$retried sets retried on the CPU, want at least 3: $(cat "$T/node-a.log")"
grep -q 'h264_nvenc: held back after failing at run time' "$T/node-a.log" ||
    fail "the breaker never held h264_nvenc back: $(cat "$T/node-a.log")"
n=$(grep -c ': counted (node a, 6 frames, libx264 veryfast, fallback: .*h264_nvenc' "$T/coord.log" || true)
[ "$n" -eq 8 ] || fail "$n of 8 counted lines say libx264 with a reason: $(grep counted "$T/coord.log")"
wait_exit "$(node_pid a)" 15
[ "$STATUS" -eq 0 ] || fail "node exit $STATUS"

# 2. The job's --fallback none: the encoder's error fails the sets.
mv "$T/coord.log" "$T/coord1.log"
mv "$T/coord.out" "$T/coord1.out" # start_coord waits for a fresh one
start_coord --input "$zip" --output "$T/out2.mp4" --job nofallback \
    --set-size 24 --fallback none --time-scale 40
start_node b --encoder nvenc
wait_exit "$COORD_PID" 120
[ "$STATUS" -eq 1 ] || fail "coordinator exit $STATUS with --fallback none, want 1"
grep -q 'failed on node b: node error: cannot open h264_nvenc: injected fault' "$T/coord.log" ||
    fail "no set failed with the encoder's error: $(grep 'failed on' "$T/coord.log")"
grep -q 'stopping: set ' "$T/coord.log" || fail "no report"
! grep -q ': counted (' "$T/coord.log" || fail "a set was counted with --fallback none"
[ ! -e "$T/out2.mp4" ] || fail "an output video was written"
echo "ok"
