# A 240-frame nuScenes-like sample (1600x900) rendered by 3 real node
# processes over loopback; the final video must verify frame by frame and
# every set be counted exactly once.
. "$(dirname "$0")/lib.sh"
zip=$(sample s240 240 1600x900)
start_coord --input "$zip" --output "$T/out.mp4"
for n in a b c; do start_node "$n"; done
wait_exit "$COORD_PID" 240
[ "$STATUS" -eq 0 ] || { tail -n 30 "$T/coord.log"; fail "coordinator exit $STATUS"; }
grep -q "out.mp4: 240 frames, 1600x900, 12 fps, h264" "$T/coord.out" || fail "summary: $(cat "$T/coord.out")"
verify "$T/out.mp4" "$zip"
check_no_double_count 10
for n in a b c; do
    wait_exit "$(node_pid $n)" 15
    [ "$STATUS" -eq 0 ] || fail "node $n exit $STATUS"
done
# Nothing outside the job's tree but the leases (nodes/) and the share probe (coord/).
[ -z "$(find "$SHARE" -mindepth 1 -maxdepth 1 ! -name jobs ! -name nodes ! -name coord)" ] || fail "stray files in the share: $(ls "$SHARE")"
[ -z "$(find "$SHARE/nodes" -type f ! -name lease)" ] || fail "stray files under nodes/: $(find "$SHARE/nodes" -type f)"
echo "ok"
