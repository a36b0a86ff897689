# The share goes away under the journal (EIO in the middle of an append,
# as after a mount reconnects or NFS state is lost): the ambassador does
# not exit; it reopens the journal, keeps what reached the file, writes
# the rest, and the job completes with every set counted once. A restart
# then replays the journal cleanly (nothing written twice).
. "$(dirname "$0")/lib.sh"
zip=$(sample s96 96 320x180)
FRAMEFARM_FAULT_JOURNAL_EIO=6 start_coord --input "$zip" --output "$T/out.mp4" \
    --set-size 8 --time-scale 5
start_node a
start_node b
wait_exit "$COORD_PID" 90
[ "$STATUS" -eq 0 ] || fail "coordinator exit $STATUS (a journal EIO must not end it)"
grep -q 'reopening it' "$T/coord.log" || fail "the fault was not hit: $(grep -i journal "$T/coord.log" | head)"
grep -q 'reopened; [0-9]* of [0-9]* records of the batch were written' "$T/coord.log" || fail "no reopen line"
verify "$T/out.mp4" "$zip"
check_no_double_count 12
# The journal replays: the same job again is already done.
mv "$T/coord.log" "$T/coord-1.log"
start_coord --input "$zip" --output "$T/out.mp4" --set-size 8
wait_exit "$COORD_PID" 30
[ "$STATUS" -eq 0 ] || fail "restart after the EIO: exit $STATUS: $(tail -n 5 "$T/coord.log")"
grep -q 'already done' "$T/coord.out" || fail "the journal did not replay to done: $(cat "$T/coord.out")"
echo ok
