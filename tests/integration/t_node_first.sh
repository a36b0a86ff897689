# Nodes may start before the ambassador: on a share no ambassador has
# run on yet they wait for its identity (writing nothing), then retry
# with backoff until it listens, then render; the job verifies.
. "$(dirname "$0")/lib.sh"
zip=$(sample s48 48 320x180)
# A port nobody listens on now (connection refused), for the ambassador.
port=""
for try in $(seq 50); do
    p=$(( 20000 + (RANDOM % 30000) ))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then port=$p; break; fi
done
[ -n "$port" ] || fail "no free port found"
PORT=$port
start_node early
wait_for "$T/node-early.log" 'not a framefarm share.*waiting for it' 10
[ -z "$(ls -A "$SHARE")" ] || fail "the early node wrote on the share: $(ls -AR "$SHARE")"
"$BIN/framefarm-coordinator" --share "$SHARE" --listen "127.0.0.1:$port" \
    --input "$zip" --output "$T/out.mp4" --set-size 12 \
    >"$T/coord.out" 2>"$T/coord.log" &
COORD_PID=$!
PIDS="$PIDS $COORD_PID"
wait_exit "$COORD_PID" 120
[ "$STATUS" -eq 0 ] || { tail -n 30 "$T/coord.log"; fail "coordinator exit $STATUS"; }
grep -q 'node early: connected' "$T/coord.log" || fail "the early node never connected"
verify "$T/out.mp4" "$zip"
check_no_double_count 4
echo "ok"
