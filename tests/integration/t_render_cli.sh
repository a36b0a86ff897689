# `framefarm render`, the embedded default: one command, local ambassador
# and nodes on a private share, a verified video, and the share cleaned up.
. "$(dirname "$0")/lib.sh"
zip=$(sample s96 96 640x360)
export TMPDIR=$T
"$BIN/framefarm" render "$zip" -o "$T/out.mp4" --nodes 2 --set-size 16 >"$T/render.out" 2>"$T/render.err" || {
    cat "$T/render.err"; fail "render failed"; }
grep -q "out.mp4: 96 frames, 640x360, 12 fps, h264" "$T/render.out" || fail "summary: $(cat "$T/render.out")"
grep -q '6/6 sets' "$T/render.err" || fail "no progress shown: $(cat "$T/render.err")"
verify "$T/out.mp4" "$zip"
[ -z "$(ls -d "$T"/framefarm-share-* 2>/dev/null)" ] || fail "share left behind"
echo "ok"
