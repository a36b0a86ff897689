# A long job's journal stays small: with a tiny compaction threshold the
# journal is replaced by a snapshot several times during the job; an
# ambassador killed after that resumes from the compacted journal, and the
# job finishes and verifies without rendering a counted set again.
. "$(dirname "$0")/lib.sh"
zip=$(sample s240s 240 640x360)
start_coord --input "$zip" --output "$T/out.mp4" --set-size 6 \
    --journal-compact-bytes 2048
port=$PORT
start_node a
start_node b
wait_for "$T/coord.log" 'journal compacted' 60
wait_for "$T/coord.log" 'set 2[0-9] epoch [0-9]*: counted' 60
kill -9 "$COORD_PID"
wait "$COORD_PID" 2>/dev/null || true
size=$(stat -c %s "$SHARE/jobs/out/journal")
echo "journal after compactions: $size bytes"
mv "$T/coord.log" "$T/coord-killed.log"
start_coord --input "$zip" --output "$T/out.mp4" --set-size 6 \
    --journal-compact-bytes 2048 --listen "127.0.0.1:$port"
wait_exit "$COORD_PID" 120
[ "$STATUS" -eq 0 ] || { tail -n 30 "$T/coord.log"; fail "restart exit $STATUS"; }
verify "$T/out.mp4" "$zip"
check_no_rerender "$T/coord.log"
echo "ok"
