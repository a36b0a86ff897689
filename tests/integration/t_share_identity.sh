# The share's identity (coord/share-id): a node whose --share is not the
# ambassador's share is refused at hello, and one whose share is not
# mounted (an empty directory) waits for it writing nothing there; neither
# takes a set or costs one an attempt. The job then completes on a node
# on the right share.
. "$(dirname "$0")/lib.sh"
zip=$(sample s48 48 320x180)
start_coord --input "$zip" --output "$T/out.mp4" --set-size 8
wait_for "$T/coord.log" 'sets ready' 10
[ -s "$SHARE/coord/share-id" ] || fail "the ambassador wrote no coord/share-id"

# Not mounted: the empty directory underneath. The node waits, then gives
# up, and writes nothing there.
mkdir "$T/unmounted"
"$BIN/framefarm-node" --coordinator "127.0.0.1:$PORT" --share "$T/unmounted" \
    --name lost --retry-for 2 2>"$T/node-lost.log" &
lost=$!; PIDS="$PIDS $lost"
wait_exit "$lost" 30
[ "$STATUS" -ne 0 ] || fail "a node on an unmounted share exited 0"
grep -q 'is not a framefarm share.*is the share mounted' "$T/node-lost.log" || fail "the node did not say its share is not mounted: $(cat "$T/node-lost.log")"
[ -z "$(ls -A "$T/unmounted")" ] || fail "the node wrote into the unmounted share: $(ls -AR "$T/unmounted")"

# Another framefarm share: refused at hello, naming both ids.
mkdir -p "$T/other/coord"
echo 0123456789abcdef0123456789abcdef >"$T/other/coord/share-id"
"$BIN/framefarm-node" --coordinator "127.0.0.1:$PORT" --share "$T/other" \
    --name stray --retry-for 5 2>"$T/node-stray.log" &
stray=$!; PIDS="$PIDS $stray"
wait_exit "$stray" 30
[ "$STATUS" -ne 0 ] || fail "a node on another share exited 0"
grep -q 'is not on this ambassador.s share' "$T/coord.log" || fail "the ambassador did not say why it refused the node"
grep -q 'refused us: .*not on this ambassador' "$T/node-stray.log" || fail "the node was not told why: $(tail -n 5 "$T/node-stray.log")"
[ ! -e "$T/other/nodes" ] || fail "the refused node wrote a lease on its share"
grep -q 'assigned to node \(lost\|stray\)' "$T/coord.log" && fail "a set was assigned to a node on the wrong share"

start_node good
wait_exit "$COORD_PID" 60
[ "$STATUS" -eq 0 ] || fail "coordinator exit $STATUS"
verify "$T/out.mp4" "$zip"
grep -q 'failures 0 ' "$T/coord.log" || fail "a refused node cost a set an attempt: $(grep 'failures' "$T/coord.log")"
echo ok
