# Two ambassadors on one job: the active one is stopped (SIGSTOP), a new
# one is started on another port; it claims a newer generation, publishes
# itself in coord/current, resumes from the journal, and the nodes follow
# it. When the old one is resumed it sees it was replaced and exits (3)
# without writing. No set is counted twice; the video verifies.
. "$(dirname "$0")/lib.sh"
zip=$(sample s240s 240 640x360)
start_coord --input "$zip" --output "$T/out.mp4" --set-size 12 --time-scale 5
old=$COORD_PID
for n in a b c; do start_node "$n"; done
wait_for "$T/coord.log" ': counted \(' 60
kill -STOP "$old"
mv "$T/coord.log" "$T/coord-old.log"
start_coord --input "$zip" --output "$T/out.mp4" --set-size 12 --time-scale 5
new=$COORD_PID
grep -q 'generation 2' "$T/coord.log" || wait_for "$T/coord.log" 'generation 2' 10
wait_exit "$new" 120
[ "$STATUS" -eq 0 ] || { tail -n 30 "$T/coord.log"; fail "new ambassador exit $STATUS"; }
kill -CONT "$old"
wait_exit "$old" 30
[ "$STATUS" -eq 3 ] || { tail -n 10 "$T/coord-old.log"; fail "old ambassador exit $STATUS, want 3"; }
grep -q 'replaced by ambassador generation 2' "$T/coord-old.log" || fail "the old one did not say it was replaced"
verify "$T/out.mp4" "$zip"
check_no_rerender "$T/coord.log"
# Every set counted exactly once across both ambassadors' journals' view:
c=$(cat "$T/coord-old.log" "$T/coord.log" | grep -o 'set [0-9]* epoch [0-9]*: counted' | awk '{print $2}' | sort | uniq -d)
[ -z "$c" ] || fail "sets counted twice: $c"
echo "ok"
