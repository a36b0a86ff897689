# Peers that misbehave do not hurt the job: one connects and disconnects at
# once, one sends garbage, one sends an oversized frame header, one says
# hello with the wrong protocol version. A real node still renders
# everything and the video verifies.
. "$(dirname "$0")/lib.sh"
zip=$(sample s48 48 320x180)
start_coord --input "$zip" --output "$T/out.mp4" --set-size 12
exec 3<>"/dev/tcp/127.0.0.1/$PORT"; exec 3>&-
exec 3<>"/dev/tcp/127.0.0.1/$PORT"; printf 'GET / HTTP/1.0\r\n\r\n' >&3; exec 3>&-
exec 3<>"/dev/tcp/127.0.0.1/$PORT"; printf '\177\377\377\377{}' >&3; exec 3>&-
exec 3<>"/dev/tcp/127.0.0.1/$PORT"
msg='{"type":"hello","proto":99,"node":"old","slots":1,"encoders":[]}'
printf "\\000\\000\\000\\$(printf '%03o' ${#msg})%s" "$msg" >&3
exec 3>&-
# Each of those took one of the few unauthenticated places a host gets
# (AMB_PREAUTH_PER_HOST): let them be dropped before the next peer comes.
wait_for "$T/coord.log" 'protocol version mismatch' 10
wait_for "$T/coord.log" 'frame length 2147483647' 10
# A peer that says a proper hello and then sends garbage inside a valid
# frame: a protocol error after the handshake trips its breaker and drops it.
exec 3<>"/dev/tcp/127.0.0.1/$PORT"
sid=$(cat "$SHARE/coord/share-id")
msg='{"type":"hello","proto":1,"node":"rogue","slots":1,"encoders":["libx264"],"share_id":"'$sid'"}'
printf "\\000\\000\\000\\$(printf '%03o' ${#msg})%s" "$msg" >&3
wait_for "$T/coord.log" 'node rogue: connected' 10
bad='{"type":"steal","set":0}'
printf "\\000\\000\\000\\$(printf '%03o' ${#bad})%s" "$bad" >&3
wait_for "$T/coord.log" 'node rogue: session ended: protocol error: unexpected "steal"' 10
exec 3>&-
start_node good
wait_exit "$COORD_PID" 120
[ "$STATUS" -eq 0 ] || { tail -n 30 "$T/coord.log"; fail "coordinator exit $STATUS"; }
grep -q 'dropped before hello' "$T/coord.log" || fail "bad peers not logged"
grep -q 'protocol version mismatch' "$T/coord.log" || fail "version mismatch not logged"
grep -q 'outside 1..' "$T/coord.log" || fail "oversized frame not logged"
verify "$T/out.mp4" "$zip"
check_no_double_count 4
echo "ok"
