# An ambassador started again on a job that is finished reports it done at
# once (exit 0, "already done") without claiming a generation or writing
# to the journal, even after a counted mini-video was removed (the video
# is whole; t_counted_changed covers a job not yet concatenated, whose
# lost sets are rendered again). Started on the same job with another
# split, it refuses to resume (exit 1) and writes nothing.
. "$(dirname "$0")/lib.sh"
zip=$(sample s48d 48 320x180)
start_coord --input "$zip" --output "$T/out.mp4" --set-size 12
start_node a
wait_exit "$COORD_PID" 60
[ "$STATUS" -eq 0 ] || fail "first run exit $STATUS"
kill "$(node_pid a)" 2>/dev/null || true
journal=$SHARE/jobs/out/journal
before=$(sha256sum "$journal" "$SHARE/coord/current" "$T/out.mp4")
ls "$SHARE/coord" >"$T/coord-before"

start_coord --input "$zip" --output "$T/out.mp4" --set-size 12
wait_exit "$COORD_PID" 30
[ "$STATUS" -eq 0 ] || { cat "$T/coord.log"; fail "restart of a done job: exit $STATUS, want 0"; }
grep -q "out.mp4: 48 frames, .*(already done)" "$T/coord.out" || fail "no \"already done\" line: $(cat "$T/coord.out")"
grep -q 'counted before the restart: 0,1,2,3$' "$T/coord.log" || fail "the restart did not name the 4 counted sets"
after=$(sha256sum "$journal" "$SHARE/coord/current" "$T/out.mp4")
[ "$before" = "$after" ] || fail "a done job's restart changed the share or the video"
ls "$SHARE/coord" | cmp -s - "$T/coord-before" || fail "a done job's restart claimed a generation: $(ls "$SHARE/coord")"

start_coord --input "$zip" --output "$T/out.mp4" --set-size 8
wait_exit "$COORD_PID" 30
[ "$STATUS" -eq 1 ] || fail "another split of the same job: exit $STATUS, want 1"
grep -q 'describes 4 sets of 48 frames; the zip gives 6 sets of 48: not the same job' "$T/coord.log" ||
    fail "no \"not the same job\" message: $(tail -n 3 "$T/coord.log")"

counted=$(ls "$SHARE"/jobs/out/out/2/*.mp4 | head -n1)
rm "$counted"
start_coord --input "$zip" --output "$T/out.mp4" --set-size 12
wait_exit "$COORD_PID" 30
[ "$STATUS" -eq 0 ] || fail "a done job with a counted mini-video gone: exit $STATUS, want 0"
grep -q "out.mp4: 48 frames, .*(already done)" "$T/coord.out" || fail "no \"already done\" line: $(cat "$T/coord.out")"
after=$(sha256sum "$journal" "$SHARE/coord/current" "$T/out.mp4")
[ "$before" = "$after" ] || fail "a done job's restart changed the share or the video"
ls "$SHARE/coord" | cmp -s - "$T/coord-before" || fail "a done job's restart claimed a generation: $(ls "$SHARE/coord")"
echo "ok"
