# The HTTP API (docs/protocol.md "HTTP"), for real. A one-job ambassador
# with --secret serves /api/status, /api/jobs, /api/jobs/ID and
# /api/nodes as JSON while its job runs, and /events as Server-Sent
# Events. Reading needs nothing; acting needs the X-Framefarm-Action
# header and a MAC made with the secret: none, a wrong one, a stale one
# and a replayed one are refused. Signed actions work: a node is drained
# (given nothing more), the set it sits on (its first attempt stalls) is
# requeued and rendered by another node, the node is undrained; the job
# verifies. A service without --secret takes actions only from this
# machine with a loopback Host: a queued job is cancelled over HTTP.
. "$(dirname "$0")/lib.sh"
zip=$(sample s96h 96 320x180)
zip2=$(sample s48h 48 320x180)
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$T/secret"
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$T/wrong"
chmod 600 "$T/secret" "$T/wrong"
h() { python3 "$top/tests/integration/ffhttp.py" "$@"; }
ff() { "$BIN/framefarm" "$@" --coordinator "127.0.0.1:$PORT"; }
json() { # file python-expression-on-d
    python3 -c "import json,sys; d=json.loads(open(sys.argv[1]).read().split(' ',1)[1]); assert $2, d" "$1" ||
        fail "$1: not $2: $(cut -c1-600 "$1")"
}
# Until GET url's JSON makes expr true (the loop publishes 4 times a second).
poll_json() { # url python-expression-on-d secs
    end=$(( $(date +%s) + $3 ))
    until h get "$1" >"$T/poll" && json_ok "$T/poll" "$2"; do
        [ "$(date +%s)" -lt "$end" ] || fail "$1 never made $2: $(cut -c1-600 "$T/poll")"
        sleep 0.1
    done
}
json_ok() {
    python3 -c "import json,sys; d=json.loads(open(sys.argv[1]).read().split(' ',1)[1]); sys.exit(0 if $2 else 1)" "$1"
}

start_coord --input "$zip" --output "$T/out.mp4" --job api --set-size 12 \
    --time-scale 5 --secret "$T/secret" --http 127.0.0.1:0
http_port "$T/coord.out"
u=http://127.0.0.1:$HTTP_PORT
FRAMEFARM_FAULT_STALL_SET=2 FRAMEFARM_FAULT_SLOW_MS=300 start_node a --secret "$T/secret"
wait_for "$T/coord.log" 'job api set 2 epoch [0-9]+: assigned to node a' 60

# Reading.
h get "$u/api/status" >"$T/status"
json "$T/status" 'd["mode"] == "job" and d["actions"] == "secret" and d["job"]["job"] == "api"'
json "$T/status" 'len(d["job"]["grid"]["status"]) == 8 and d["nodes"][0]["name"] == "a"'
h get "$u/api/jobs" >"$T/jobs"
json "$T/jobs" '[j["job"] for j in d["jobs"]] == ["api"] and d["jobs"][0]["state"] == "running"'
json "$T/jobs" '"eta_s" in d["jobs"][0] and d["jobs"][0]["sets"]["total"] == 8'
h get "$u/api/jobs/api" >"$T/job"
json "$T/job" 'd["job"] == "api" and d["grid"]["status"][2] == "B" and d["grid"]["holder"][2] == "a"'
h get "$u/api/jobs/nosuch" >"$T/nojob"
grep -q '^404 ' "$T/nojob" || fail "an unknown job: $(cat "$T/nojob")"
h get "$u/api/nodes" >"$T/nodes"
json "$T/nodes" 'd["nodes"][0]["breaker"] == "closed" and d["nodes"][0]["slots"] == 1 and d["nodes"][0]["connected"]'
# /events: the first message is the whole state.
python3 - "$u/events" >"$T/sse" <<'PY' || fail "no state on /events: $(cat "$T/sse")"
import sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=20) as r:
    assert r.headers["Content-Type"] == "text/event-stream", r.headers
    lines = []
    while not (lines and lines[-1] == ""):
        lines.append(r.readline().decode().rstrip("\n"))
    print("\n".join(lines))
    assert any(l.startswith("event: state") for l in lines), lines
    assert any(l.startswith('data: {"seq":') for l in lines), lines
PY

# Acting: refused without the header, the MAC, with a wrong or stale one,
# or a replay.
set2=$u/api/jobs/api/sets/2/requeue
h post "$set2" --no-action-header --secret "$T/secret" >"$T/r1"
grep -q '^403 .*X-Framefarm-Action' "$T/r1" || fail "no action header: $(cat "$T/r1")"
h post "$set2" >"$T/r2"
grep -q '^401 .*has a secret' "$T/r2" || fail "no MAC: $(cat "$T/r2")"
h post "$set2" --secret "$T/wrong" >"$T/r3"
grep -q '^401 .*MAC is wrong' "$T/r3" || fail "wrong secret: $(cat "$T/r3")"
h post "$set2" --secret "$T/secret" --skew -300 >"$T/r4"
grep -q '^401 .*60 s' "$T/r4" || fail "a stale MAC: $(cat "$T/r4")"
grep -q 'set 2 epoch [0-9]*: reclaimed' "$T/coord.log" && fail "a refused action was carried out"

# Drain a (it gets nothing more), then requeue the set it sits on
# (signed; the replay of the same request is refused): node b, started
# then, renders it and the rest.
h post "$u/api/nodes/a/drain" --secret "$T/secret" >"$T/r6"
grep -q '^202 ' "$T/r6" || fail "drain: $(cat "$T/r6")"
wait_for "$T/coord.log" 'node a: drained \(no new work\) by request' 10
poll_json "$u/api/nodes" '[n["drained"] for n in d["nodes"] if n["name"] == "a"] == [True]' 10
h post "$set2" --secret "$T/secret" --repeat >"$T/r5"
head -n1 "$T/r5" | grep -q '^202 ' || fail "requeue: $(cat "$T/r5")"
tail -n1 "$T/r5" | grep -q '^401 .*already made' || fail "a replay: $(cat "$T/r5")"
wait_for "$T/coord.log" 'job api set 2 epoch [0-9]+: reclaimed from node a \(requeued by request\)' 10
FRAMEFARM_FAULT_SLOW_MS=500 start_node b --secret "$T/secret"
wait_for "$T/coord.log" 'job api set 2 epoch [0-9]+: counted \(node b' 60
after=$(grep -n 'node a: drained' "$T/coord.log" | head -n1 | cut -d: -f1)
tail -n +"$after" "$T/coord.log" | grep -q 'assigned to node a' &&
    fail "a drained node was given a set"
h post "$u/api/nodes/a/undrain" --secret "$T/secret" >"$T/r7"
grep -q '^202 ' "$T/r7" || fail "undrain: $(cat "$T/r7")"
wait_for "$T/coord.log" 'node a: given work again by request' 10
wait_exit "$COORD_PID" 120
[ "$STATUS" -eq 0 ] || fail "coordinator exit $STATUS"
verify "$T/out.mp4" "$zip"

# A service without --secret: this machine only, and a loopback Host. A
# queued job (no node: it waits) is cancelled over HTTP (the service's
# cancel: it answers with the job's end).
kill -9 "$(node_pid a)" "$(node_pid b)" 2>/dev/null || true
mkdir -p "$T/share2"
SHARE=$T/share2
start_coord --http 127.0.0.1:0
http_port "$T/coord.out"
u=http://127.0.0.1:$HTTP_PORT
ff submit "$zip2" -o "$T/two.mp4" --job two >/dev/null || fail "submit two"
poll_json "$u/api/jobs" '[j["state"] for j in d["jobs"] if j["job"] == "two"] == ["queued"]' 10
json "$T/poll" 'True'
h get "$u/api/status" >"$T/o3"
json "$T/o3" 'd["actions"] == "loopback" and d["mode"] == "service"'
h post "$u/api/jobs/two/cancel" --host evil.example:80 >"$T/o2"
grep -q '^403 .*only from this machine' "$T/o2" || fail "a foreign Host: $(cat "$T/o2")"
h post "$u/api/jobs/two/cancel" >"$T/o1"
grep -q '^200 .*"state":"cancelled"' "$T/o1" || fail "cancel: $(cat "$T/o1")"
h post "$u/api/jobs/nosuch/cancel" >"$T/o4"
grep -q '^404 ' "$T/o4" || fail "cancel of no job: $(cat "$T/o4")"
echo "ok"
