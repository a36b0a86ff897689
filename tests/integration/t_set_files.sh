# A set's folder and manifest are made when it is first dispatched, not
# when the job is prepared (a job of 100,000 sets made 100,000 folders
# first). When the share refuses the folder (FRAMEFARM_FAULT_SET_FILES: EIO
# the first time, for set 3) the assign is not sent: the set goes back to
# Available with no failure counted, is made and dispatched again, and the
# job completes with every set counted once and every manifest in place.
. "$(dirname "$0")/lib.sh"
zip=$(sample s60 60 320x180)
FRAMEFARM_FAULT_SET_FILES=3 start_coord --input "$zip" --output "$T/out.mp4" \
    --set-size 6
wait_for "$T/coord.log" 'sets ready' 30
job=$SHARE/jobs/out
n=$(find "$job/out" "$job/sets" -mindepth 1 2>/dev/null | wc -l)
[ "$n" -eq 0 ] || fail "the prepared job already holds $n set folders or manifests"
start_node a
start_node b
wait_exit "$COORD_PID" 90
[ "$STATUS" -eq 0 ] || fail "coordinator exit $STATUS"
grep -q 'set 3: cannot make its folder on the share: .*Available again' \
    "$T/coord.log" || fail "the refused folder was not reported"
verify "$T/out.mp4" "$zip"
check_no_double_count 10
# Nothing was counted against set 3: its attempt was taken back, not failed.
if grep -a -o '{"t":"fail"[^}]*"set":3[,}]' "$job/journal" >/dev/null 2>&1; then
    fail "set 3's refused folder was journaled as a failure"
fi
grep -q -a '"t":"unassign","set":3,' "$job/journal" ||
    grep -q 'compacted' "$T/coord.log" || fail "no unassign journaled for set 3"
for s in 0 1 2 3 4 5 6 7 8 9; do
    [ -f "$job/sets/$s.json" ] || fail "no manifest for set $s"
    [ -d "$job/out/$s" ] || fail "no folder for set $s"
done
echo ok
