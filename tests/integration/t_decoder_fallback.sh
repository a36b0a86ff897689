# Where a node decodes JPEGs, and what happens when the GPU cannot.
# 1. --probe times the CPU decode, lists every GPU JPEG decoder (usable or
#    with a reason) and says where it would decode.
# 2. A node told to decode on a GPU decoder this machine lacks says why
#    (the probe's reason) and decodes on the CPU; the video verifies.
# 3. A GPU decoder that passed its probe but fails every decode at run time
#    (FRAMEFARM_FAULT_DECODER, the test hook): each picture is decoded on
#    the CPU instead, the node says how many and the first failure, and the
#    video verifies frame by frame. Never a crash, never a lost frame.
# 4. A decoder name that does not exist is a usage error.
. "$(dirname "$0")/lib.sh"
"$BIN/framefarm-node" --probe >"$T/probe.txt"
cat "$T/probe.txt"
for d in nvdec vaapi; do
    grep -qE "^$d +(ok: [0-9.]+ ms per picture|unavailable: .+)" "$T/probe.txt" ||
        fail "the probe does not say whether $d decodes, or why not"
done
grep -qE '^cpu +ok: [0-9.]+ ms per 1600x900 picture on one thread' "$T/probe.txt" ||
    fail "the probe does not time the CPU's JPEG decode"
grep -qE '^decoding on: (cpu|nvdec|vaapi)' "$T/probe.txt" ||
    fail "the probe does not say where it decodes"

zip=$(sample s48 48 320x180)
missing=""
for d in vaapi nvdec; do
    grep -qE "^$d +unavailable" "$T/probe.txt" && { missing=$d; break; }
done

# 2. A decoder this machine lacks, asked for by name.
if [ -n "$missing" ]; then
    reason=$(sed -n "s/^$missing *unavailable: //p" "$T/probe.txt")
    start_coord --input "$zip" --output "$T/out.mp4" --set-size 24
    start_node a --decoder "$missing"
    wait_exit "$COORD_PID" 120
    [ "$STATUS" -eq 0 ] || fail "coordinator exit $STATUS"
    verify "$T/out.mp4" "$zip"
    check_no_double_count 2
    grep -qF "decoder $missing unavailable ($reason); decoding JPEGs on the CPU" \
        "$T/node-a.log" || fail "the node does not give the probe's reason for $missing: $(head -n 5 "$T/node-a.log")"
    grep -q "node a: connected from .*JPEG decoding on cpu" "$T/coord.log" ||
        fail "the ambassador's node line does not say the node decodes on the CPU"
    wait_exit "$(node_pid a)" 15
    [ "$STATUS" -eq 0 ] || fail "node exit $STATUS"
    mv "$T/coord.log" "$T/coord1.log"
    mv "$T/coord.out" "$T/coord1.out"
    rm -f "$T/out.mp4"
else
    echo "every GPU decoder works here: part 2 has nothing to fall back from"
fi

# 3. A GPU decoder that breaks at run time: every picture still decoded.
start_coord --input "$zip" --output "$T/out.mp4" --job broken --set-size 24
FRAMEFARM_FAULT_DECODER=nvdec start_node b --decoder nvdec --threads 2
wait_exit "$COORD_PID" 120
[ "$STATUS" -eq 0 ] || fail "coordinator exit $STATUS"
verify "$T/out.mp4" "$zip"
check_no_double_count 2
grep -q "node b: connected from .*JPEG decoding on nvdec" "$T/coord.log" ||
    fail "the ambassador's node line does not say nvdec"
n=$(grep -c 'nvdec decoded 0 of 24 pictures, the CPU the rest; first failure: cannot open nvdec: injected fault' "$T/node-b.log" || true)
[ "$n" -eq 2 ] || fail "$n of 2 sets say the CPU decoded what nvdec could not: $(grep -i decod "$T/node-b.log")"
n=$(grep -c 'rendered 24 frames, .* (JPEGs: 0 on nvdec, 24 on the CPU)' "$T/node-b.log" || true)
[ "$n" -eq 2 ] || fail "$n of 2 rendered lines count the pictures per decoder"
wait_exit "$(node_pid b)" 15
[ "$STATUS" -eq 0 ] || fail "node exit $STATUS"

# 4. No such decoder.
if "$BIN/framefarm-node" --probe --decoder nvjpeg >"$T/bad.out" 2>&1; then
    fail "--decoder nvjpeg was accepted"
fi
grep -q -- '--decoder: expected auto, cpu, nvdec or vaapi' "$T/bad.out" ||
    fail "no clear error for --decoder nvjpeg: $(head -n 2 "$T/bad.out")"
echo "ok"
