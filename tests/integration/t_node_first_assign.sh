# A node takes an assign that reached it in the same read as the welcome
# at once, not at the next message from the ambassador. The ambassador
# sends its first assign right behind the welcome, so the two often
# arrive together; the node used to leave the assign in its buffer until
# the next heartbeat woke it (framefarm render's nodes sat a whole second
# before rendering, in about one run out of four). Here a stand-in
# ambassador sends both in one write and asks for a heartbeat only every
# ten minutes: the node must answer the assign (a bad manifest: it
# declines it with a fail) well before that.
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || skip "python3 is needed for the stand-in ambassador"
mkdir -p "$SHARE/coord" "$SHARE/nodes"
printf '%032x\n' 42 >"$SHARE/coord/share-id"
python3 - "$T/port" "$T/amb.log" <<'PY' &
import json, os, socket, struct, sys, time
port_file, log_file = sys.argv[1:]
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(1)
with open(port_file + ".tmp", "w") as f:
    f.write("%d\n" % srv.getsockname()[1])
os.rename(port_file + ".tmp", port_file)
srv.settimeout(60)
conn, _ = srv.accept()
conn.settimeout(60)
buf = b""
def frame():
    global buf
    while True:
        if len(buf) >= 4:
            n = struct.unpack(">I", buf[:4])[0]
            if len(buf) >= 4 + n:
                msg = json.loads(buf[4:4 + n])
                buf = buf[4 + n:]
                return msg
        data = conn.recv(65536)
        if not data:
            raise SystemExit("node closed the connection")
        buf += data
def enc(msg):
    b = json.dumps(msg).encode()
    return struct.pack(">I", len(b)) + b
log = open(log_file, "w", buffering=1)
hello = frame()
log.write("got %s from %s\n" % (hello["type"], hello.get("node")))
welcome = {"type": "welcome", "heartbeat_ms": 600000, "dead_ms": 600000,
           "generation": 1}
assign = {"type": "assign", "set": 3, "epoch": 7, "manifest": {"bogus": 1}}
conn.sendall(enc(welcome) + enc(assign))  # one write: one read at the node
sent = time.monotonic()
while True:
    msg = frame()
    if msg["type"] == "fail" and msg.get("set") == 3:
        log.write("answer to the assign after %.3f s: %s\n"
                  % (time.monotonic() - sent, json.dumps(msg)))
        break
    log.write("got %s\n" % msg["type"])
PY
AMB_PID=$!
PIDS="$PIDS $AMB_PID"
wait_for "$T/port" '^[0-9]+$' 10
PORT=$(cat "$T/port")
start_node n1
# Far less than the ten minutes to the node's next wake-up without it.
wait_for "$T/amb.log" 'answer to the assign' 20
cat "$T/amb.log"
grep -q 'set 3 epoch 7: bad manifest' "$T/node-n1.log" ||
    fail "the node did not say why it refused the assign: $(cat "$T/node-n1.log")"
echo "ok"
