# The ambassador dies at named steps (FRAMEFARM_CRASH_AT: mid-append of the
# journal, after an assignment is journaled but before it is sent, after an
# accept is journaled but before it is acknowledged, after the concat is
# journaled as begun, and with the verified concat written but not yet
# renamed). Restarted on the same share and port, it resumes from its
# journal; the nodes, which kept running, reconnect; the job finishes, the
# video verifies, and no set counted before the crash is rendered again.
. "$(dirname "$0")/lib.sh"
zip=$(sample s96q 96 320x180)
for point in journal-torn after-assign-journaled after-accept-journaled \
        after-concat-begun concat-before-rename; do
    echo "== crash point $point"
    rm -rf "$SHARE" "$T"/node-*.log "$T/out.mp4"
    mkdir -p "$SHARE"
    export FRAMEFARM_CRASH_AT=$point
    start_coord --input "$zip" --output "$T/out.mp4" --set-size 12
    unset FRAMEFARM_CRASH_AT
    port=$PORT
    start_node a
    start_node b
    wait_exit "$COORD_PID" 120
    case $point in journal-torn) want=99 ;; *) want=97 ;; esac
    [ "$STATUS" -eq "$want" ] || { tail -n 20 "$T/coord.log"; fail "$point: exit $STATUS, want $want"; }
    [ ! -e "$T/out.mp4" ] || fail "$point: a final video exists before the restart"
    mv "$T/coord.log" "$T/coord-crash.log"
    start_coord --input "$zip" --output "$T/out.mp4" --set-size 12 --listen "127.0.0.1:$port"
    wait_exit "$COORD_PID" 120
    [ "$STATUS" -eq 0 ] || { tail -n 30 "$T/coord.log"; fail "$point: restart exit $STATUS"; }
    verify "$T/out.mp4" "$zip"
    if [ "$point" != journal-torn ]; then check_no_rerender "$T/coord.log"; fi
    # A node that was between connections when the job ended never hears
    # "finish" (it would give up after --retry-for): stop both here.
    for n in a b; do kill "$(node_pid $n)" 2>/dev/null || true; done
    wait 2>/dev/null || true
done
echo "ok"
