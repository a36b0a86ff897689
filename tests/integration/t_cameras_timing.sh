# A nuScenes download holds six cameras, lidar and radar (issue 9). A job
# takes one camera (CAM_FRONT unless --camera says), says how many entries
# of the others it skipped, and never mixes two cameras in a video; a
# camera the zip does not have is refused before any work (exit 2),
# naming those it has. --timing timestamps puts every frame at its
# capture time (us since the first frame's), exactly, through a concat
# that re-encodes sets; a zip whose names carry no times is refused.
. "$(dirname "$0")/lib.sh"
command -v ffprobe >/dev/null || skip "ffprobe is needed to read the frame times"
F=30 # CAM_FRONT's frames; CAM_BACK (the fourth camera) has F - 3
zip=$T/six.zip
"$BIN/framefarm" sample -o "$zip" --frames $F --size 320x180 --cameras 6 >/dev/null
export TMPDIR=$T

# The capture times of a camera's frames, in us since its first frame.
capture_times() { # camera
    unzip -Z1 "$zip" | sed -n "s/^samples\/$1\/.*__$1__\([0-9]*\)\.jpg$/\1/p" |
        sort -n | awk 'NR == 1 { f = $1 } { print $1 - f }'
}
frames_in() { # video
    ffprobe -v error -count_packets -select_streams v:0 \
        -show_entries stream=nb_read_packets -of csv=p=0 "$1"
}

# 1. CAM_FRONT by default, through framefarm render.
"$BIN/framefarm" render "$zip" -o "$T/front.mp4" --set-size 8 \
    >"$T/render.out" 2>"$T/render.err" || { cat "$T/render.err"; fail "render failed"; }
cat "$T/render.out"
grep -q "six.zip: $F frames of CAM_FRONT (timestamp order); skipped 135 entries of other cameras (CAM_BACK 27, CAM_BACK_LEFT 26, CAM_BACK_RIGHT 28, CAM_FRONT_LEFT 25, CAM_FRONT_RIGHT 29); skipped 8 entries that are not JPEGs" "$T/render.out" ||
    fail "render does not say what it took and skipped: $(cat "$T/render.out")"
n=$(frames_in "$T/front.mp4")
[ "$n" = $F ] || fail "the CAM_FRONT video has $n frames, CAM_FRONT has $F"
verify "$T/front.mp4" "$zip"
grep -q 'frames: CAM_FRONT; times: a constant frame rate' "$T/verify.out" ||
    fail "verify did not check CAM_FRONT at a constant rate"
# Each camera sees its own scene: the video is not another camera's.
set +e
"$BIN/framefarm" verify "$T/front.mp4" --input "$zip" --camera CAM_FRONT_RIGHT >"$T/verify2.out" 2>&1
rc=$?
set -e
[ $rc -eq 1 ] || fail "verify against CAM_FRONT_RIGHT: exit $rc, want 1 (mismatch): $(cat "$T/verify2.out")"
grep -q 'dB against its source' "$T/verify2.out" ||
    fail "verify against CAM_FRONT_RIGHT found no picture mismatch: $(cat "$T/verify2.out")"

# 2. --camera CAM_BACK, on the ambassador itself.
start_coord --input "$zip" --output "$T/back.mp4" --set-size 8 --camera CAM_BACK
start_node a
wait_exit "$COORD_PID" 120
[ "$STATUS" -eq 0 ] || fail "coordinator exit $STATUS for CAM_BACK"
grep -q "$((F - 3)) frames of CAM_BACK (timestamp order); skipped 138 entries of other cameras" "$T/coord.log" ||
    fail "the job's log line does not count the skipped cameras: $(grep 'frames of' "$T/coord.log")"
n=$(frames_in "$T/back.mp4")
[ "$n" = $((F - 3)) ] || fail "the CAM_BACK video has $n frames, CAM_BACK has $((F - 3))"
"$BIN/framefarm" verify "$T/back.mp4" --input "$zip" --camera CAM_BACK >"$T/verify.out" 2>&1 ||
    { cat "$T/verify.out"; fail "the CAM_BACK video does not verify against CAM_BACK"; }

# 3. A camera the zip does not have: exit 2 before anything is written.
mkdir "$T/share2"
set +e
"$BIN/framefarm-coordinator" --share "$T/share2" --listen 127.0.0.1:0 \
    --input "$zip" --output "$T/side.mp4" --camera CAM_SIDE >/dev/null 2>"$T/side.err"
rc=$?
set -e
[ $rc -eq 2 ] || fail "--camera CAM_SIDE: exit $rc, want 2"
grep -q 'no frames of camera CAM_SIDE; the cameras there are: CAM_BACK 27, CAM_BACK_LEFT 26, CAM_BACK_RIGHT 28, CAM_FRONT 30, CAM_FRONT_LEFT 25, CAM_FRONT_RIGHT 29' "$T/side.err" ||
    fail "the refusal does not name the cameras there are: $(cat "$T/side.err")"
[ ! -e "$T/share2/jobs" ] || fail "a refused job wrote to the share: $(ls -R "$T/share2")"
[ ! -e "$T/side.mp4" ] || fail "a refused job wrote a video"
set +e
"$BIN/framefarm" render "$zip" -o "$T/side.mp4" --camera CAM_SIDE >/dev/null 2>"$T/side.err"
rc=$?
set -e
[ $rc -eq 2 ] || fail "render --camera CAM_SIDE: exit $rc, want 2"
grep -q 'the cameras there are: CAM_BACK' "$T/side.err" || fail "render: $(cat "$T/side.err")"

# 4. --timing timestamps, on two nodes with different presets: the concat
# re-encodes sets and must keep every frame's time.
rm -rf "$SHARE" && mkdir "$SHARE"
start_coord --input "$zip" --output "$T/ts.mp4" --set-size 4 --timing timestamps
FRAMEFARM_FAULT_SLOW_MS=150 start_node b
wait_for "$T/coord.log" 'node b: connected' 30
FRAMEFARM_FAULT_SLOW_MS=150 start_node a --preset ultrafast
wait_exit "$COORD_PID" 120
[ "$STATUS" -eq 0 ] || fail "coordinator exit $STATUS for --timing timestamps"
grep -qE 'concat: re-encoded [1-9][0-9]* of 8 sets' "$T/coord.log" ||
    fail "no set was re-encoded at the concat: $(grep -E 'counted|concat' "$T/coord.log")"
capture_times CAM_FRONT >"$T/want.txt"
ffprobe -v error -select_streams v:0 -show_entries stream=time_base -of csv=p=0 "$T/ts.mp4" >"$T/tb.txt"
ffprobe -v error -select_streams v:0 -show_entries frame=pts -of csv=p=0 "$T/ts.mp4" |
    tr -d , | grep -v '^$' >"$T/pts.txt"
echo "time base $(cat "$T/tb.txt"); frame times (us), got and wanted:"
paste "$T/pts.txt" "$T/want.txt" | head -n 12
[ "$(wc -l <"$T/pts.txt")" -eq $F ] || fail "ffprobe shows $(wc -l <"$T/pts.txt") frames, want $F"
# pts * time base within one tick of (timestamp - first) / 10^6
paste "$T/pts.txt" "$T/want.txt" | awk -v tb="$(cat "$T/tb.txt")" '
    BEGIN { split(tb, r, "/"); tick = 1e6 * r[1] / r[2] }
    { d = $1 * tick - $2; if (d < 0) d = -d
      if (d >= tick) { printf "frame %d at %d us, its capture time %d us\n", NR - 1, $1 * tick, $2; bad = 1 } }
    END { exit bad }' || fail "frame times are not the capture times"
# The sample misses captures now and then: the times are not a rate.
awk 'NR > 1 { g = $1 - p; if (g > max) max = g; if (min == 0 || g < min) min = g } { p = $1 }
    END { exit !(max > 1.5 * min) }' "$T/want.txt" || fail "the sample's times are regular"
# Decode order stays increasing across the joins.
ffprobe -v error -select_streams v:0 -show_entries packet=dts -of csv=p=0 "$T/ts.mp4" |
    awk 'NR > 1 && $1 <= p { print "dts " $1 " after " p; bad = 1 } { p = $1 } END { exit bad }' ||
    fail "decode times go backwards"
"$BIN/framefarm" verify "$T/ts.mp4" --input "$zip" --timing timestamps >"$T/verify.out" 2>&1 ||
    { cat "$T/verify.out"; fail "verify --timing timestamps failed"; }
grep -q 'times: every frame at its capture time' "$T/verify.out" || fail "verify: $(cat "$T/verify.out")"
# ... and the constant-rate video is not taken for one at the capture times.
set +e
"$BIN/framefarm" verify "$T/front.mp4" --input "$zip" --timing timestamps >"$T/verify2.out" 2>&1
rc=$?
set -e
[ $rc -eq 1 ] || fail "verify --timing timestamps of the fps video: exit $rc, want 1"
grep -q 'frame times: frame [0-9]* at' "$T/verify2.out" || fail "verify: $(cat "$T/verify2.out")"

# 5. --timing timestamps on names without capture times: exit 2, nothing
# rendered.
mkdir "$T/plain"
unzip -q "$zip" 'samples/CAM_FRONT/*' -d "$T/x"
i=0
for f in $(find "$T/x" -name '*.jpg' | sort); do
    i=$((i + 1)); cp "$f" "$T/plain/frame$i.jpg"
done
(cd "$T/plain" && zip -q -r "$T/plain.zip" .)
set +e
"$BIN/framefarm" render "$T/plain.zip" -o "$T/plain.mp4" --timing timestamps >/dev/null 2>"$T/plain.err"
rc=$?
set -e
[ $rc -eq 2 ] || fail "--timing timestamps on plain names: exit $rc, want 2"
grep -q -- '--timing timestamps: the frame names in .*plain.zip carry no capture times' "$T/plain.err" ||
    fail "the refusal does not say why: $(cat "$T/plain.err")"
[ ! -e "$T/plain.mp4" ] || fail "a refused job wrote a video"
echo "ok"
