# A zip with a damaged frame that still decodes (a JPEG cut short: its
# header lists, libjpeg-turbo decodes what it can and warns) and entries
# that are skipped (an empty one, one that is not a JPEG): render's own
# output says how many were skipped and how many frames were decoded with
# corruption warnings, not only a log that is deleted (issue 11).
. "$(dirname "$0")/lib.sh"
src=$(sample s48 48 320x180)
unzip -q "$src" -d "$T/x"
dir=$T/x/samples/CAM_FRONT
first=$(cd "$dir" && ls | sort | head -n1)
cut=$(cd "$dir" && ls | sort | sed -n 10p)
size=$(stat -c %s "$dir/$cut")
head -c $((size * 2 / 3)) "$dir/$cut" >"$T/cut.jpg" && mv "$T/cut.jpg" "$dir/$cut"
: >"$dir/n008-2018-08-01-15-16-36-0400__CAM_FRONT__1533151600000001.jpg"
echo "not a picture" >"$dir/n008-2018-08-01-15-16-36-0400__CAM_FRONT__1533151600000002.jpg"
args=""
for f in $(cd "$T/x" && find samples -type f | sort); do
    args="$args $f=$T/x/$f"
done
# shellcheck disable=SC2086
"$TOOLS/mkzip" "$T/damaged.zip" $args
"$BIN/framefarm" render "$T/damaged.zip" -o "$T/out.mp4" --nodes 1 >"$T/render.out" 2>&1 ||
    { cat "$T/render.out"; fail "render failed"; }
cat "$T/render.out"
grep -q 'skipped 2 entries that are not JPEGs (1 of them empty)' "$T/render.out" ||
    fail "render's output does not report the skipped entries"
grep -q '^note: 1 frame(s) were decoded with corruption warnings' "$T/render.out" ||
    fail "render's output does not report the damaged frame"
n=$(ffprobe -v error -count_frames -select_streams v -show_entries stream=nb_read_frames -of csv=p=0 "$T/out.mp4")
[ "$n" -eq 48 ] || fail "$n frames, want 48 (the damaged one is still a frame)"
echo ok
