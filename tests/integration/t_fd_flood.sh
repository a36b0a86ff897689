# Connections must not exhaust the ambassador's descriptors (issue 11,
# item 3): 200 idle connections that never say hello used to leave it
# without a descriptor for the concat ("concat failed: Too many open
# files" after every set was counted). The ambassador, limited here to 128
# descriptors, holds at most a few unauthenticated connections (per peer
# and in all), keeps descriptors in reserve for the journal and the
# concat, and a resource error at the concat is retried, never a job
# failure. A real node still gets in and the job finishes.
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || skip "python3 is needed to hold the connections"
zip=$(sample s96 96 640x360)
# The coordinator alone runs with 128 descriptors (soft and hard).
COORD_NOFILE=128 start_coord --input "$zip" --output "$T/out.mp4" --set-size 24
# A flood from another address (127.0.0.2): 200 connections that say
# nothing, held open, and opened again whenever the ambassador closes one,
# until the test ends.
python3 - "$PORT" "$T/flood.ready" <<'PY' &
import socket, sys, time
port, ready = int(sys.argv[1]), sys.argv[2]
held = []
def fill():
    while len(held) < 200:
        s = socket.socket()
        s.settimeout(2)
        s.bind(("127.0.0.2", 0))  # another host than the node's
        try:
            s.connect(("127.0.0.1", port))
        except OSError:
            s.close()
            return
        held.append(s)
fill()
open(ready, "w").close()
end = time.time() + 120
while time.time() < end:
    for s in list(held):
        s.setblocking(False)
        try:
            if s.recv(1) == b"":
                held.remove(s); s.close()
        except BlockingIOError:
            pass
        except OSError:
            held.remove(s); s.close()
    fill()
    time.sleep(0.2)
PY
PIDS="$PIDS $!"
end=$(( $(date +%s) + 30 ))
while [ ! -e "$T/flood.ready" ]; do
    [ "$(date +%s)" -lt "$end" ] || fail "the flood did not start"
    sleep 0.1
done
start_node a --retry-for 60
wait_exit "$COORD_PID" 120
[ "$STATUS" -eq 0 ] || fail "coordinator exit $STATUS: $(grep -E 'concat|stopping|Too many' "$T/coord.log" | tail -n 3)"
verify "$T/out.mp4" "$zip"
check_no_double_count 4
grep -q 'connection from 127.0.0.2:[0-9]* refused: too many connections from this address have not said hello' "$T/coord.log" ||
    fail "the flood was not refused: $(grep -c 'dropped before hello' "$T/coord.log") dropped before hello"
echo "ok"
