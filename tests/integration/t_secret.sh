# With --secret, nodes authenticate and every frame after the hello is
# signed with a per-session key and a sequence number (issue 11, weaker
# points: before, only the handshake was, and anything on the path could
# inject a forged "fail" that the ambassador counted). A keyed job runs;
# a node with the wrong secret, or none, is refused and told why; a
# forged "fail" injected into a node's authenticated session by a relay
# ends that session ("not signed with the session key") and fails no set;
# the node comes back and the job finishes.
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || skip "python3 is needed for the relay"
zip=$(sample s96 96 640x360)
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$T/secret"
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$T/wrong"
chmod 600 "$T/secret" "$T/wrong"

start_coord --input "$zip" --output "$T/out.mp4" --set-size 12 \
    --time-scale 5 --secret "$T/secret"

# Wrong secret, no secret: refused, and told so. The refusal is final:
# the node without a secret exits at once (non-zero), long before its
# --retry-for, instead of trying again until then.
start_node bad --secret "$T/wrong" --retry-for 2
start_node none --retry-for 60
wait_exit "$(node_pid bad)" 30
wait_exit "$(node_pid none)" 15
[ "$STATUS" -ne 0 ] || fail "node none exited 0 without the secret"
grep -q 'node "bad" failed authentication' "$T/coord.log" || fail "wrong secret not refused"
grep -q 'authentication failed' "$T/node-bad.log" || fail "node bad not told: $(tail -n 3 "$T/node-bad.log")"
grep -q 'requires a shared secret and this node has none: start it with --secret FILE' "$T/node-none.log" ||
    fail "node none not told: $(tail -n 3 "$T/node-none.log")"
! grep -q 'got "challenge"' "$T/node-none.log" || fail "node none: $(grep 'got "challenge"' "$T/node-none.log")"
n=$(grep -c 'requires a shared secret' "$T/node-none.log" || true)
[ "$n" -eq 1 ] || fail "node none was refused $n times: it tried again"
grep -q 'assigned to node bad\|assigned to node none' "$T/coord.log" && fail "an unauthenticated node got work"

# The control client without the secret is told to add it (exit 2).
set +e
"$BIN/framefarm" status --coordinator "127.0.0.1:$PORT" >"$T/status.out" 2>"$T/status.err"
rc=$?
set -e
[ "$rc" -eq 2 ] || fail "status without --secret: exit $rc, want 2: $(cat "$T/status.err")"
grep -q 'the ambassador requires a shared secret: add --secret FILE' "$T/status.err" ||
    fail "status without --secret not told: $(cat "$T/status.err")"

# A relay that injects a forged "fail" toward the ambassador once the
# node's first assign has gone by.
python3 - "$PORT" "$T/relay.port" "$T/relay.log" <<'PY' &
import json, socket, struct, sys, threading
target, portfile, logfile = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", 0)); ls.listen(8)
open(portfile, "w").write(str(ls.getsockname()[1]))
injected = [False]
def frames(sock):
    buf = b""
    while True:
        while len(buf) < 4 or len(buf) < 4 + struct.unpack(">I", buf[:4])[0]:
            d = sock.recv(65536)
            if not d:
                return
            buf += d
        n = struct.unpack(">I", buf[:4])[0]
        yield buf[:4 + n]
        buf = buf[4 + n:]
def serve(node):
    amb = socket.create_connection(("127.0.0.1", target))
    lock = threading.Lock()
    def down():  # ambassador -> node
        for f in frames(amb):
            node.sendall(f)
            body = f[4:]
            for cut in (len(body) - 32, len(body)):
                try:
                    m = json.loads(body[:cut])
                    break
                except ValueError:
                    m = None
            if m and m.get("type") == "assign" and not injected[0]:
                injected[0] = True
                forged = json.dumps({"type": "fail", "set": m["set"],
                                     "epoch": m["epoch"],
                                     "error": "forged"}).encode()
                with lock:
                    amb.sendall(struct.pack(">I", len(forged)) + forged)
                open(logfile, "a").write("injected %s\n" % forged.decode())
        node.close()
    threading.Thread(target=down, daemon=True).start()
    for f in frames(node):  # node -> ambassador, whole frames only
        with lock:
            amb.sendall(f)
    amb.close()
while True:
    c, _ = ls.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
PY
PIDS="$PIDS $!"
end=$(( $(date +%s) + 10 ))
while [ ! -s "$T/relay.port" ]; do
    [ "$(date +%s)" -lt "$end" ] || fail "the relay did not start"
    sleep 0.1
done
# Nodes look the ambassador up in coord/current too: name the relay
# there, or node a would go around it (as t_partition does).
echo "127.0.0.1:$(cat "$T/relay.port") 1" >"$SHARE/coord/current.tmp"
mv "$SHARE/coord/current.tmp" "$SHARE/coord/current"
"$BIN/framefarm-node" --coordinator "127.0.0.1:$(cat "$T/relay.port")" \
    --share "$SHARE" --name a --secret "$T/secret" --retry-for 60 \
    2>"$T/node-a.log" &
PIDS="$PIDS $!"
wait_exit "$COORD_PID" 120
[ "$STATUS" -eq 0 ] || fail "coordinator exit $STATUS"
grep -q injected "$T/relay.log" || fail "the relay injected nothing"
grep -q 'node a: session ended: protocol error: .*not signed with the session key' "$T/coord.log" ||
    fail "the forged frame did not end the session: $(grep 'node a' "$T/coord.log" | tail -n 3)"
grep -q 'node error: forged' "$T/coord.log" && fail "the forged fail was taken: $(grep 'node error: forged' "$T/coord.log")"
verify "$T/out.mp4" "$zip"
check_no_double_count 8
echo "ok"
