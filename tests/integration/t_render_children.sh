# framefarm render forks its ambassador and nodes (no exec: the libraries
# are loaded once) and makes the ambassador's listening socket itself, so
# that the nodes start at once. The processes are still told apart by
# name, and a node holds no descriptor of render's: not the listening
# socket (a node holding it would keep connecting to a socket that no one
# answers once the ambassador is gone), not the ambassador's stdout pipe.
# The nodes wait before each set (FRAMEFARM_FAULT_SLOW_MS), so that they
# can be looked at while the job runs.
. "$(dirname "$0")/lib.sh"
[ -d /proc/self/fd ] || skip "no /proc"
zip=$(sample s48 48 320x180)
export TMPDIR=$T
FRAMEFARM_FAULT_SLOW_MS=3000 "$BIN/framefarm" render "$zip" -o "$T/out.mp4" \
    --nodes 2 --share "$T/sh" >"$T/render.out" 2>"$T/render.err" &
RPID=$!
PIDS="$PIDS $RPID"
logs=$T/sh/logs
wait_for "$logs/local-1.log" 'connected to the ambassador' 30
wait_for "$logs/local-2.log" 'connected to the ambassador' 30
port=$(sed -n 's/.*nodes find this ambassador at 127\.0\.0\.1:\([0-9]*\) .*/\1/p' \
    "$logs/coordinator.log")
[ -n "$port" ] || fail "no port in the ambassador's log"
hex=$(printf '%04X' "$port")
# The listening socket's inode (state 0A: LISTEN).
inode=$(awk -v p=":$hex" '$2 ~ p"$" && $4 == "0A" {print $10}' /proc/net/tcp)
[ -n "$inode" ] || fail "no socket listening on port $port"
# A process's descriptors: "NUMBER TARGET" a line.
fds_of() {
    for f in "/proc/$1/fd"/*; do
        printf '%s %s\n' "${f##*/}" "$(readlink "$f" || true)"
    done
}
children=$(ps -o pid=,comm= --ppid "$RPID")
echo "$children"
coord=$(echo "$children" | awk '$2 == "framefarm-coord" {print $1}')
nodes=$(echo "$children" | awk '$2 == "framefarm-node" {print $1}')
[ -n "$coord" ] || fail "no child named framefarm-coord: $children"
[ "$(echo "$nodes" | wc -w)" = 2 ] || fail "not two children named framefarm-node: $children"
fds_of "$coord" | grep -q "socket:\[$inode\]" ||
    fail "the ambassador does not hold its listening socket"
for n in $nodes; do
    fds=$(fds_of "$n")
    if echo "$fds" | grep -q "socket:\[$inode\]"; then
        fail "node $n holds the ambassador's listening socket: $fds"
    fi
    # Its own: stdin, stdout, stderr, and what it opened itself (sockets,
    # eventfds, the zip); no pipe but what render gave it as 0-2.
    if echo "$fds" | awk '$1 + 0 > 2' | grep -q 'pipe:'; then
        fail "node $n holds a pipe of render's: $fds"
    fi
done
wait_exit "$RPID" 120
[ "$STATUS" -eq 0 ] || { cat "$T/render.err"; fail "render exit $STATUS"; }
verify "$T/out.mp4" "$zip"
echo "ok"
