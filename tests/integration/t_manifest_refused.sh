# A set's manifest on the share is for audit (nodes get theirs inside the
# assign): when it cannot be written (here jobs/<job>/sets is a file, not
# a folder) the checker says so and the job renders and verifies anyway.
. "$(dirname "$0")/lib.sh"
zip=$(sample s60 60 320x180)
start_coord --input "$zip" --output "$T/out.mp4" --set-size 6
wait_for "$T/coord.log" 'sets ready' 30
rm -rf "$SHARE/jobs/out/sets"
echo "not a folder" >"$SHARE/jobs/out/sets"
start_node a
start_node b
wait_exit "$COORD_PID" 90
[ "$STATUS" -eq 0 ] || fail "coordinator exit $STATUS"
grep -q 'checker: manifest .*/jobs/out/sets/[0-9]*\.json' "$T/coord.log" ||
    fail "the refused manifest was not reported"
verify "$T/out.mp4" "$zip"
check_no_double_count 10
echo ok
