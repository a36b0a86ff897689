# `framefarm render` shares the machine out by itself: without --set-size
# the job's frames are split evenly among the nodes (one set each here,
# media/setplan.h) but for the last eighth, which goes in small sets that
# whichever node is free takes (a tail: 2 sets of 6 here), the nodes probe
# and offer only the job's codec, and the video is still verified frame
# by frame, every set counted once. A job too short for a tail set of 6
# frames a node has none. A node refuses a --codec it does not know.
. "$(dirname "$0")/lib.sh"
zip=$(sample s96 96 640x360)
export TMPDIR=$T
"$BIN/framefarm" render "$zip" -o "$T/out.mp4" --nodes 2 --share "$T/sh" \
    >"$T/render.out" 2>"$T/render.err" || {
    cat "$T/render.err"; fail "render failed"; }
grep -q '4/4 sets' "$T/render.err" || fail "not one set per node and a tail: $(tail -c 300 "$T/render.err")"
log=$T/sh/logs/coordinator.log
grep -q '96 frames.*4 sets of up to 42; the last 12 frames in 2 sets of 6 to 6' "$log" ||
    fail "set plan: $(grep 'sets of' "$log")"
for s in 0 1 2 3; do
    n=$(grep -c "set $s epoch [0-9]*: counted" "$log" || true)
    [ "$n" = 1 ] || fail "set $s counted $n times"
done
n=$(cat "$T"/sh/logs/local-*.log | grep -c 'rendering 6 frames' || true)
[ "$n" = 2 ] || fail "the tail's two sets of 6 were rendered $n times"
n=$(grep -c 'connected from .*encoders libx264, JPEG' "$log" || true)
[ "$n" = 2 ] || fail "nodes offered more than the job's codec: $(grep 'encoders' "$log")"
verify "$T/out.mp4" "$zip"

# Three nodes: three sets of 32.
"$BIN/framefarm" render "$zip" -o "$T/out3.mp4" --nodes 3 \
    >"$T/render3.out" 2>"$T/render3.err" || {
    cat "$T/render3.err"; fail "render --nodes 3 failed"; }
grep -q '3/3 sets' "$T/render3.err" || fail "not one set per node (12 frames: no tail set of 6 each): $(tail -c 300 "$T/render3.err")"
verify "$T/out3.mp4" "$zip"

rc=0
"$BIN/framefarm-node" --coordinator 127.0.0.1:1 --share "$T/sh" --codec vp9 \
    >/dev/null 2>"$T/node.err" || rc=$?
[ "$rc" = 2 ] || fail "node --codec vp9: exit $rc"
grep -q -- '--codec: expected h264, hevc or av1' "$T/node.err" || fail "node: $(cat "$T/node.err")"
echo "ok"
