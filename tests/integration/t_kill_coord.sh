# kill -9 of the ambassador at random moments during a real render, three
# times: each restart resumes from the journal, the job finishes and
# verifies, and no set counted before a kill is rendered again.
. "$(dirname "$0")/lib.sh"
zip=$(sample s240s 240 640x360)
runs=${KILL_RUNS:-3}
for run in $(seq "$runs"); do
    rm -rf "$SHARE" "$T"/node-*.log "$T/out.mp4"
    mkdir -p "$SHARE"
    start_coord --input "$zip" --output "$T/out.mp4" --set-size 12
    port=$PORT
    start_node a
    start_node b
    wait_for "$T/coord.log" ': counted \(' 60
    # A random moment after the first counted set (a fault's timing, not
    # a wait for an event).
    sleep "0.$(( (RANDOM % 9) + 1 ))"
    # The job may have ended just before the kill: the restart must then
    # say it is done, without rendering anything again.
    kill -9 "$COORD_PID" 2>/dev/null || true
    wait "$COORD_PID" 2>/dev/null || true
    echo "run $run: killed after $(grep -c ': counted (' "$T/coord.log") counted lines"
    mv "$T/coord.log" "$T/coord-killed.log"
    start_coord --input "$zip" --output "$T/out.mp4" --set-size 12 --listen "127.0.0.1:$port"
    wait_exit "$COORD_PID" 120
    [ "$STATUS" -eq 0 ] || { tail -n 30 "$T/coord.log"; fail "run $run: restart exit $STATUS"; }
    verify "$T/out.mp4" "$zip"
    check_no_rerender "$T/coord.log"
    # A node between connections at the end never hears "finish".
    for n in a b; do kill "$(node_pid $n)" 2>/dev/null || true; done
    wait 2>/dev/null || true
done
echo "ok"
