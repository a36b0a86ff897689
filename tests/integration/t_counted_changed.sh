# A counted mini-video that is replaced or removed on the share before
# the concat must not reach the final video (issue 11, item 5): the run
# used to say "verified" with another set's frames in it, and a removed
# one forced the whole job to be redone ("cannot resume safely"). The
# ambassador stops at the crash point after-concat-begun (every set
# counted); set 0's mini-video is then replaced by set 1's (same size and
# frame count), set 2's is removed and set 3's emptied; a restart loses
# sets 2 and 3 at once (gone, empty: a stat per counted set) and set 0 at
# the concat (its hash is not the one counted), renders them again, and
# the video verifies frame by frame.
. "$(dirname "$0")/lib.sh"
zip=$(sample s96 96 640x360)
FRAMEFARM_CRASH_AT=after-concat-begun start_coord --input "$zip" \
    --output "$T/out.mp4" --set-size 24 --time-scale 5
start_node a
wait_exit "$COORD_PID" 120
[ "$STATUS" -eq 97 ] || fail "first run: exit $STATUS, want the crash point's 97"
kill "$(node_pid a)" 2>/dev/null || true
out=$SHARE/jobs/out/out
cp "$(ls "$out"/1/*.mp4 | head -n1)" "$(ls "$out"/0/*.mp4 | head -n1)"
rm "$(ls "$out"/2/*.mp4 | head -n1)"
: >"$(ls "$out"/3/*.mp4 | head -n1)"

start_coord --input "$zip" --output "$T/out.mp4" --set-size 24 --time-scale 5
start_node b
wait_exit "$COORD_PID" 120
[ "$STATUS" -eq 0 ] || fail "restart: exit $STATUS"
grep -q 'set 2: its counted mini-video .* is gone or damaged; rendering it again' "$T/coord.log" ||
    fail "set 2's missing mini-video was not noticed at the restart"
grep -q 'set 3: its counted mini-video .* is gone or damaged; rendering it again' "$T/coord.log" ||
    fail "set 3's emptied mini-video was not noticed at the restart"
grep -q '1 counted mini-video(s) are missing or changed since they were counted (set 0)' "$T/coord.log" ||
    fail "set 0's replaced mini-video was not noticed at the concat"
grep -q 'set 0 epoch [0-9]*: counted (node b' "$T/coord.log" || fail "set 0 was not rendered again"
grep -q 'set 2 epoch [0-9]*: counted (node b' "$T/coord.log" || fail "set 2 was not rendered again"
grep -q 'set 3 epoch [0-9]*: counted (node b' "$T/coord.log" || fail "set 3 was not rendered again"
verify "$T/out.mp4" "$zip"
echo "ok"
