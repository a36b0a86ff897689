# A node told to use NVENC on a machine without it (this one, or any
# whose probe fails). With the default fallback the job completes on the
# CPU and says so: the node logs the probe's reason (libcuda), and every
# counted line names libx264, never nvenc, with the reason. With the job's
# --fallback none every set fails with that reason and the job stops with
# a report (exit 1), no video, and no crash.
. "$(dirname "$0")/lib.sh"
"$BIN/framefarm-node" --probe >"$T/probe.txt"
if grep -qE '^h264_nvenc +h264 +nvenc +ok' "$T/probe.txt"; then
    skip "h264_nvenc works on this machine: no fallback to see"
fi
zip=$(sample s48 48 320x180)

# 1. Default fallback (cpu): completes on libx264, and says why.
start_coord --input "$zip" --output "$T/out.mp4" --set-size 12
start_node a --encoder nvenc
wait_exit "$COORD_PID" 120
[ "$STATUS" -eq 0 ] || { tail -n 30 "$T/coord.log"; fail "coordinator exit $STATUS"; }
verify "$T/out.mp4" "$zip"
check_no_double_count 4
grep -q 'encoder nvenc unavailable (h264_nvenc: .*libcuda.*rendering set [0-9]* with libx264 (CPU fallback)' \
    "$T/node-a.log" || fail "no CPU-fallback line naming libcuda in the node log: $(cat "$T/node-a.log")"
n=$(grep -c ': counted (node a, 12 frames, libx264 veryfast, fallback: encoder nvenc unavailable (h264_nvenc: .*libcuda' "$T/coord.log" || true)
[ "$n" -eq 4 ] || fail "$n of 4 counted lines say libx264 with the fallback reason: $(grep counted "$T/coord.log")"
! grep -q ': counted (node [^,]*, [0-9]* frames, [a-z0-9]*nvenc' "$T/coord.log" ||
    fail "a CPU encode counted as nvenc: $(grep counted "$T/coord.log")"
grep -q '^note: 4 of 4 sets were encoded with libx264 on the CPU: encoder nvenc unavailable (h264_nvenc: .*libcuda' \
    "$T/coord.out" || fail "the ambassador's output does not say the sets were encoded on the CPU: $(cat "$T/coord.out")"
wait_exit "$(node_pid a)" 15
[ "$STATUS" -eq 0 ] || fail "node exit $STATUS"

# 2. The job's --fallback none: every set fails with the reason; the job
#    stops with a report.
mv "$T/coord.log" "$T/coord1.log"
mv "$T/coord.out" "$T/coord1.out" # start_coord waits for a fresh one
rm -f "$T/out.mp4"
start_coord --input "$zip" --output "$T/out.mp4" --job nofallback \
    --set-size 12 --fallback none --time-scale 40
start_node b --encoder nvenc
wait_exit "$COORD_PID" 120
[ "$STATUS" -eq 1 ] || fail "coordinator exit $STATUS with --fallback none, want 1"
grep 'stopping:' "$T/coord.log"
grep -q 'stopping: set .*encoder nvenc unavailable (h264_nvenc: .*libcuda' "$T/coord.log" ||
    fail "the report does not give the reason: $(grep stopping "$T/coord.log")"
grep -q "no CPU fallback (the job's --fallback none)" "$T/node-b.log" ||
    fail "the node does not say the job forbade the fallback: $(tail -n 5 "$T/node-b.log")"
! grep -q ': counted (' "$T/coord.log" || fail "a set was counted with --fallback none"
[ ! -e "$T/out.mp4" ] || fail "an output video was written"
wait_exit "$(node_pid b)" 15
[ "$STATUS" -eq 1 ] || fail "node exit $STATUS, want 1 (job failed)"
echo "ok"
