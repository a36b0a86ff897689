# A standby ambassador watches the active one through the share; when the
# active one is killed, the standby takes the job over from its journal,
# publishes itself in coord/current, the three rendering nodes follow it,
# and the job completes and verifies with no counted set rendered again.
. "$(dirname "$0")/lib.sh"
zip=$(sample s240s 240 640x360)
start_coord --input "$zip" --output "$T/out.mp4" --set-size 12 --time-scale 5
active=$COORD_PID
"$BIN/framefarm-coordinator" --share "$SHARE" --listen 127.0.0.1:0 \
    --input "$zip" --output "$T/out.mp4" --set-size 12 --time-scale 5 \
    --standby >"$T/standby.out" 2>"$T/standby.log" &
standby=$!
PIDS="$PIDS $standby"
wait_for "$T/standby.log" 'standby for job out' 10
for n in a b c; do start_node "$n"; done
wait_for "$T/coord.log" ': counted \(' 60
t0=$(date +%s%3N)
kill -9 "$active"
wait_for "$T/standby.log" 'nodes find this ambassador' 30
t1=$(date +%s%3N)
echo "takeover: $((t1 - t0)) ms from kill -9 to the standby serving"
wait_exit "$standby" 120
[ "$STATUS" -eq 0 ] || { tail -n 30 "$T/standby.log"; fail "standby exit $STATUS"; }
verify "$T/out.mp4" "$zip"
check_no_rerender "$T/standby.log"
echo "ok"
