# A host name that does not resolve says so, in the resolver's words,
# wherever a host is named (issue 9, what the user sees): before, every
# getaddrinfo failure read "No route to host". nosuch.invalid never
# resolves (RFC 2606). The control client, the ambassador's --listen
# (refused before anything is written) and --advertise (said), and a
# node told to connect there.
. "$(dirname "$0")/lib.sh"
bad=nosuch.invalid
said="cannot resolve host \"$bad\""

# framefarm status (submit, cancel and wait connect the same way).
set +e
"$BIN/framefarm" status --coordinator "$bad:7700" >"$T/status.out" 2>"$T/status.err"
rc=$?
set -e
cat "$T/status.err"
[ "$rc" -eq 3 ] || fail "status exit $rc, want 3 (unreachable)"
grep -qF "$said" "$T/status.err" || fail "status does not say the name does not resolve"
! grep -q 'No route to host' "$T/status.err" || fail "status says No route to host"

# The ambassador's --listen: a usage error, and the share untouched.
mkdir -p "$T/empty"
set +e
"$BIN/framefarm-coordinator" --share "$T/empty" --listen "$bad:0" >"$T/listen.out" 2>"$T/listen.err"
rc=$?
set -e
cat "$T/listen.err"
[ "$rc" -eq 2 ] || fail "--listen $bad: exit $rc, want 2"
grep -qF -- "--listen: $said" "$T/listen.err" || fail "--listen does not say the name does not resolve"
[ -z "$(ls -A "$T/empty")" ] || fail "--listen $bad wrote to the share: $(ls -A "$T/empty")"

# --advertise: said at start (nodes may resolve names this machine does
# not, so the ambassador still runs).
start_coord --advertise "$bad:7700"
grep -qF -- "--advertise $bad:7700: $said" "$T/coord.log" ||
    fail "--advertise $bad is not said: $(cat "$T/coord.log")"
kill "$COORD_PID"
wait_exit "$COORD_PID" 10

# A node: the share is a framefarm share (the ambassador above made it)
# naming no ambassador, so the node tries the one it was given.
rm -f "$SHARE/coord/current"
set +e
"$BIN/framefarm-node" --coordinator "$bad:7700" --share "$SHARE" --name n1 \
    --retry-for 1 2>"$T/node-n1.log"
rc=$?
set -e
cat "$T/node-n1.log"
[ "$rc" -eq 1 ] || fail "node exit $rc, want 1"
grep -qF "ambassador $bad:7700 not reachable ($said" "$T/node-n1.log" ||
    fail "the node does not say the name does not resolve"
! grep -q 'No route to host' "$T/node-n1.log" || fail "the node says No route to host"
echo "ok"
