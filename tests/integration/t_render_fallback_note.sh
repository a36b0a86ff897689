# A GPU encode that fell back to the CPU is said in `framefarm render`'s
# own output (issue 9, what the user sees), not only in the ambassador's
# log, which render deletes with its private share. The test hook
# FRAMEFARM_FAULT_ENCODER=h264_nvenc makes every node offer NVENC as if
# probed and fail every open of it, on any machine, so each set falls
# back to libx264 at run time.
. "$(dirname "$0")/lib.sh"
zip=$(sample s48 48 320x180)
export TMPDIR=$T
FRAMEFARM_FAULT_ENCODER=h264_nvenc "$BIN/framefarm" render "$zip" \
    -o "$T/out.mp4" --nodes 2 --set-size 12 --encoder nvenc \
    >"$T/render.out" 2>"$T/render.err" || {
    cat "$T/render.err"; fail "render failed"; }
cat "$T/render.out"
grep -q 'out.mp4: 48 frames' "$T/render.out" || fail "no video line: $(cat "$T/render.out")"
grep -q '^note: 4 of 4 sets were encoded with libx264 on the CPU: h264_nvenc failed at run time: .*injected fault' \
    "$T/render.out" || fail "render does not say the sets were encoded on the CPU"
verify "$T/out.mp4" "$zip"

# Without a fallback, no note.
rm -f "$T/out.mp4"
"$BIN/framefarm" render "$zip" -o "$T/out.mp4" --nodes 1 --set-size 24 \
    >"$T/render.out" 2>"$T/render.err" || {
    cat "$T/render.err"; fail "render failed"; }
! grep -q '^note:' "$T/render.out" || fail "a note without a fallback: $(cat "$T/render.out")"
echo "ok"
