# The control link is cut while the share keeps working: the node reaches
# the ambassador through a relay that the test freezes (SIGSTOP: no FIN, no
# RST, bytes just stop, as with a pulled cable on the TCP path only).
# Both sides time the silence out; the node detaches but keeps rendering
# (its lease stays fresh), the ambassador keeps the node's set because the
# lease keeps advancing, and when the link heals the node reconnects,
# reattaches the set and reports it. Nothing is rendered twice.
. "$(dirname "$0")/lib.sh"
zip=$(sample s240 240 1600x900)
# --backups 0: this counts assignments to show nothing is rendered twice
# across the partition; a speculative backup would be a second one.
start_coord --input "$zip" --output "$T/out.mp4" --set-size 120 --time-scale 5 --backups 0
"$TOOLS/tcpproxy" "$PORT" >"$T/proxy.port" &
PROXY=$!
PIDS="$PIDS $PROXY"
wait_for "$T/proxy.port" '^[0-9]+$' 10
COORD_PORT=$PORT
PORT=$(cat "$T/proxy.port")
# The ambassador is reached through the relay: say so where nodes look it
# up (as --advertise would for an address behind NAT), or a node would go
# around the relay to the address the ambassador published.
wait_for "$T/coord.log" 'nodes find this ambassador' 20
echo "127.0.0.1:$PORT 1" >"$SHARE/coord/current.tmp"
mv "$SHARE/coord/current.tmp" "$SHARE/coord/current"
start_node cut
wait_for "$T/node-cut.log" 'set 0 epoch 1: rendering' 30
kill -STOP "$PROXY"
wait_for "$T/coord.log" 'node cut: session ended: heartbeat timeout.*wait for it' 20
wait_for "$T/node-cut.log" 'detaching and reconnecting' 20
# The lease keeps the set: nothing is reclaimed while the link is down for
# longer than the (scaled) reclaim time.
sleep_until=$(( $(date +%s) + 4 ))
while [ "$(date +%s)" -lt "$sleep_until" ]; do
    ! grep -q 'reclaimed from node cut' "$T/coord.log" || fail "a set was reclaimed from a node whose lease is fresh"
    sleep 0.2
done
kill -CONT "$PROXY"
wait_for "$T/coord.log" 'reattached to node cut' 30
# Its breaker opened on the heartbeat timeout; reconnecting does not reset it.
wait_for "$T/coord.log" 'node cut: breaker open, carried over from its last session' 10
wait_exit "$COORD_PID" 240
[ "$STATUS" -eq 0 ] || { tail -n 30 "$T/coord.log"; fail "coordinator exit $STATUS"; }
verify "$T/out.mp4" "$zip"
check_no_double_count 2
assigned=$(grep -c 'assigned to node' "$T/coord.log")
[ "$assigned" -eq 2 ] || fail "$assigned assignments for 2 sets: something was rendered twice"
echo "ok (port $COORD_PORT via relay $PORT)"
