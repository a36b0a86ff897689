# A set whose frame no node can decode (a JPEG that lists and looks valid
# but uses a coding process libjpeg-turbo refuses). With only two nodes the
# set can never fail on three distinct nodes, so the failure cap must stop
# the job: exit 1 with a report naming the set and its frames, no output
# video, and no endless retry loop.
. "$(dirname "$0")/lib.sh"
src=$(sample s48 48 320x180)
poison_zip "$src" "$T/x" "$T/poison.zip"
start_coord --input "$T/poison.zip" --output "$T/out.mp4" --set-size 12 \
    --time-scale 20
start_node a
start_node b
wait_exit "$COORD_PID" 120
[ "$STATUS" -eq 1 ] || fail "coordinator exit $STATUS, want 1"
grep -q 'stopping: set 1 (frames 12..23' "$T/coord.log" || fail "no report naming set 1: $(grep stopping "$T/coord.log")"
grep 'stopping:' "$T/coord.log"
[ ! -e "$T/out.mp4" ] || fail "an output video was written"
for n in a b; do
    wait_exit "$(node_pid $n)" 15
    [ "$STATUS" -eq 1 ] || fail "node $n exit $STATUS, want 1 (job failed)"
done
echo "ok"
