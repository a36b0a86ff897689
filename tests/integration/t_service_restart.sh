# The service survives a crash: the ambassador is SIGKILLed with one job
# running and two queued; restarted on the same share it resumes all three
# (the running one first, from its journal) with the same nodes, which
# never restart, and no set counted before the crash is rendered again.
. "$(dirname "$0")/lib.sh"
z1=$(sample s96 96 320x180)
z2=$(sample s72 72 320x180)
z3=$(sample s48b 48 320x180)
ff() { "$BIN/framefarm" "$@" --coordinator "127.0.0.1:$PORT"; }

# A fixed port, as a lab's service has (7700): the restart listens there
# again, and clients find it.
fixed=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
start_coord --set-size 8 --time-scale 5 --listen "127.0.0.1:$fixed"
ff submit "$z1" -o "$T/one.mp4" --priority 3 >/dev/null || fail "submit one"
ff submit "$z2" -o "$T/two.mkv" --priority 2 >/dev/null || fail "submit two"
ff submit "$z3" -o "$T/three.mp4" --priority 1 >/dev/null || fail "submit three"
FRAMEFARM_FAULT_SLOW_MS=200 start_node a
FRAMEFARM_FAULT_SLOW_MS=200 start_node b
pa=$(node_pid a); pb=$(node_pid b)
# A wait started before the crash outlives it.
ff wait three >"$T/wait-early.out" 2>&1 &
early=$!; PIDS="$PIDS $early"
wait_for "$T/coord.log" 'job one set [0-9]+ epoch [0-9]+: counted' 60
sleep 0.5
kill -9 "$COORD_PID"
wait "$COORD_PID" 2>/dev/null || true
before=$(grep -c 'job one set [0-9]* epoch [0-9]*: counted' "$T/coord.log" || true)
[ "$before" -ge 1 ] || fail "nothing counted before the crash"
grep -q 'job two: starting' "$T/coord.log" && fail "job two started before the crash: the test needs it queued"
mv "$T/coord.log" "$T/coord-1.log"

start_coord --set-size 8 --time-scale 5 --listen "127.0.0.1:$fixed"
for j in one two three; do
    ff wait "$j" >"$T/wait-$j.out" 2>&1 || fail "wait $j: $(cat "$T/wait-$j.out")"
done
wait_exit "$early" 30
[ "$STATUS" -eq 0 ] || fail "the wait started before the crash: exit $STATUS: $(cat "$T/wait-early.out")"
grep -q 'trying again' "$T/wait-early.out" || fail "the early wait did not say it lost the ambassador: $(cat "$T/wait-early.out")"
grep -q 'service: 0 job(s) queued, 1 to resume\|service: 2 job(s) queued, 1 to resume' "$T/coord.log" || fail "the restart did not find the queue: $(grep 'service:' "$T/coord.log")"
order=$(grep -o 'job [a-z]*: starting' "$T/coord.log" | awk '{print $2}' | tr -d : | tr '\n' ' ')
[ "$order" = "one two three " ] || fail "after the restart the jobs ran in the order '$order'"
verify "$T/one.mp4" "$z1"
verify "$T/two.mkv" "$z2"
verify "$T/three.mp4" "$z3"
kill -0 "$pa" && kill -0 "$pb" || fail "a node exited"
[ "$(grep -c 'exiting' "$T/node-a.log" || true)" -eq 0 ] || fail "node a exited"
# No set of job one counted before the crash was rendered again.
counted=$(sed -n 's/.*job one: counted before the restart: //p' "$T/coord.log" | tail -n1)
[ -n "$counted" ] && [ "$counted" != none ] || fail "the restart did not say what job one had counted"
for s in $(echo "$counted" | tr , ' '); do
    n=$(cat "$T"/node-*.log | grep -c "job one set $s epoch [0-9]*: rendering" || true)
    # A speculative backup before the crash renders it on a second node.
    b=$(cat "$T"/coord*.log | grep -c "job one set $s epoch [0-9]*: backup assigned" || true)
    [ "$n" -ge 1 ] && [ "$n" -le $((1 + b)) ] ||
        fail "set $s of job one was counted before the crash but rendered $n times ($b backups)"
done
# The resumed job was in the core before the nodes came back: the sets
# they still held were reattached; the only ones cancelled are results
# counted before the crash whose answer the node never got (it lists them
# until then: protocol.md, "result").
grep -q 'reattached to node' "$T/coord.log" || fail "no set was reattached after the restart"
for s in $(sed -n 's/.*job one set \([0-9]*\) epoch [0-9]*: node .* no longer its; cancelling.*/\1/p' "$T/coord.log"); do
    case ",$counted," in
    *",$s,"*) ;;
    *) fail "set $s of job one, not counted before the crash, was cancelled after the restart" ;;
    esac
done
echo "restart: jobs resumed 3; job one's sets counted before the crash: $counted, rendered again: 0; reattached: $(grep -c 'reattached to node' "$T/coord.log"), cancelled: $(grep -c 'no longer its; cancelling' "$T/coord.log" || true)"
echo ok
