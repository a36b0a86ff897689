# Generations and --standby apply to the service as a whole: a standby
# started beside a live service is not refused (it waits); when the
# active ambassador dies with a job running and one queued, the standby
# takes over the share, resumes the running job from its journal and then
# the queue, and the nodes follow it (coord/current).
. "$(dirname "$0")/lib.sh"
z1=$(sample s96 96 320x180)
z2=$(sample s48b 48 320x180)
ff() { p=$1; shift; "$BIN/framefarm" "$@" --coordinator "127.0.0.1:$p"; }

start_coord --set-size 8 --time-scale 5
active=$COORD_PID; aport=$PORT
ff "$aport" submit "$z1" -o "$T/first.mp4" --priority 2 >/dev/null || fail "submit first"
ff "$aport" submit "$z2" -o "$T/second.mp4" --priority 1 >/dev/null || fail "submit second"
mv "$T/coord.log" "$T/coord-active.log"
# The standby listens only once it takes over: on a port fixed here.
sport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$BIN/framefarm-coordinator" --share "$SHARE" --listen "127.0.0.1:$sport" \
    --set-size 8 --time-scale 5 --standby >"$T/coord.out" 2>"$T/coord.log" &
standby=$!; PIDS="$PIDS $standby"
wait_for "$T/coord.log" 'standby: watching' 10
PORT=$aport
FRAMEFARM_FAULT_SLOW_MS=200 start_node a
FRAMEFARM_FAULT_SLOW_MS=200 start_node b
wait_for "$T/coord-active.log" 'job first set [0-9]+ epoch [0-9]+: counted' 60
kill -0 "$standby" || fail "the standby exited while the active one lived: $(tail -n 5 "$T/coord.log")"
grep -q 'taking over' "$T/coord.log" && fail "the standby took over a live ambassador"
kill -9 "$active"
wait_for "$T/coord.log" 'taking over' 30
wait_for "$T/coord.log" 'service: ambassador generation 2' 10
ff "$sport" wait first >"$T/wait-first.out" 2>&1 || fail "wait first: $(cat "$T/wait-first.out")"
ff "$sport" wait second >"$T/wait-second.out" 2>&1 || fail "wait second: $(cat "$T/wait-second.out")"
verify "$T/first.mp4" "$z1"
verify "$T/second.mp4" "$z2"
grep -q 'job first: counted before the restart: [0-9]' "$T/coord.log" || fail "the standby did not resume job first from its journal"
for n in a b; do kill -0 "$(node_pid $n)" || fail "node $n exited"; done
echo ok
