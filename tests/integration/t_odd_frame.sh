# One small frame must not shrink the whole video (issue 11, item 6): a
# 16x16 thumbnail first in time order gave a 16x16 video, exit 0. The
# job's size is now the one most frames have; the odd frame is scaled to
# it, and the log says so.
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || skip "python3 is needed to build the zip"
src=$(sample s48 48 320x180)
ffmpeg -loglevel error -f lavfi -i color=red:s=16x16 -frames:v 1 "$T/thumb.jpg" ||
    fail "ffmpeg could not make a 16x16 JPEG"
python3 - "$src" "$T/thumb.jpg" "$T/odd.zip" <<'PY'
import re, sys, zipfile
src, thumb, out = sys.argv[1:]
with zipfile.ZipFile(src) as z, zipfile.ZipFile(out, "w") as o:
    names = z.namelist()
    first = min(names, key=lambda n: int(re.search(r"__(\d+)\.jpg$", n).group(1)))
    ts = int(re.search(r"__(\d+)\.jpg$", first).group(1))
    o.write(thumb, re.sub(r"__\d+\.jpg$", "__%d.jpg" % (ts - 1000), first))
    for n in names:
        o.writestr(n, z.read(n))
PY
start_coord --input "$T/odd.zip" --output "$T/out.mp4" --set-size 24
start_node a
wait_exit "$COORD_PID" 120
[ "$STATUS" -eq 0 ] || fail "coordinator exit $STATUS"
grep -q "out.mp4: 49 frames, 320x180" "$T/coord.out" ||
    fail "the video is not 49 frames of 320x180: $(cat "$T/coord.out")"
grep -q '1 of 49 frames are not 320x180 (the first: .*, 16x16); they are scaled to it' "$T/coord.log" ||
    fail "the odd frame was not reported: $(grep -i frames "$T/coord.log" | head -3)"
echo "ok"
