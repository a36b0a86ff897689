# Two nodes that encode with different parameters: one is an old slow
# machine told --preset ultrafast (Constrained Baseline, no CABAC), the
# other uses the job's veryfast (High). Their sets' stream fingerprints
# differ, so the concat may not simply stream-copy them: it re-encodes the
# odd sets and says so, and the result decodes with no error from end to
# end and verifies frame by frame.
. "$(dirname "$0")/lib.sh"
zip=$(sample s120 120 1600x900)
start_coord --input "$zip" --output "$T/out.mp4"
# b (the job's preset) first, so that both nodes get sets.
start_node b
wait_for "$T/coord.log" 'node b: connected' 30
start_node a --preset ultrafast
wait_exit "$COORD_PID" 240
[ "$STATUS" -eq 0 ] || { tail -n 30 "$T/coord.log"; fail "coordinator exit $STATUS"; }
grep -q ': counted (node a, 24 frames, libx264 ultrafast' "$T/coord.log" ||
    fail "node a counted no ultrafast set: $(grep counted "$T/coord.log")"
grep -q ': counted (node b, 24 frames, libx264 veryfast' "$T/coord.log" ||
    fail "node b counted no veryfast set: $(grep counted "$T/coord.log")"
grep 'concat: ' "$T/coord.log"
grep -qE 'concat: re-encoded [1-9][0-9]* of 5 sets' "$T/coord.log" ||
    fail "the log does not say that sets were re-encoded"
grep -q 'concat: set [0-9]*: its stream differs from .*profile' "$T/coord.log" ||
    fail "the log does not say why a set was re-encoded"
errs=$(ffmpeg -nostdin -v error -i "$T/out.mp4" -f null - 2>&1)
[ -z "$errs" ] || fail "decoding the video reports errors: $errs"
verify "$T/out.mp4" "$zip"
check_no_double_count 5
ls "$T" | grep -q 'out.mp4.tmp' && fail "temp files left beside the output: $(ls "$T")"
echo "ok"
