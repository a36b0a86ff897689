# libav's own log lines ("[libdav1d @ 0x...] libdav1d 1.0.0") never reach
# the terminal or a log as libav writes them (issue 9, what the user
# sees): not from `framefarm verify` decoding AV1, not from `framefarm
# render`, not in the ambassador's or the nodes' logs. With -v they are
# shown, in framefarm's own log form ("debug: libav libdav1d: ...").
. "$(dirname "$0")/lib.sh"
"$BIN/framefarm-node" --probe >"$T/probe.txt"
grep -qE '^libsvtav1 +av1 +cpu +ok' "$T/probe.txt" ||
    skip "no working libsvtav1 here: $(grep -E '^libsvtav1' "$T/probe.txt")"
zip=$(sample s30 30 320x240)
raw='^\[[^]]* @ (0x)?[0-9a-f]+\]'

export TMPDIR=$T
"$BIN/framefarm" render "$zip" -o "$T/out.webm" --codec av1 --nodes 1 \
    --set-size 10 --keep-share >"$T/render.out" 2>"$T/render.err" || {
    cat "$T/render.err"; fail "render failed"; }
! grep -E "$raw" "$T/render.err" || fail "libav's own lines in render's output"
share=$(sed -n 's/^framefarm render: share kept in //p' "$T/render.err")
[ -d "$share/logs" ] || fail "no logs kept: $(cat "$T/render.err")"
! grep -E "$raw" "$share"/logs/*.log || fail "libav's own lines in the logs of $share/logs"

"$BIN/framefarm" verify "$T/out.webm" --input "$zip" >"$T/verify.out" 2>"$T/verify.err" || {
    cat "$T/verify.out" "$T/verify.err"; fail "verify failed"; }
[ ! -s "$T/verify.err" ] || fail "verify wrote to stderr: $(head -n 5 "$T/verify.err")"

"$BIN/framefarm" verify -v "$T/out.webm" --input "$zip" >"$T/verify.out" 2>"$T/verify.err" || {
    cat "$T/verify.out" "$T/verify.err"; fail "verify -v failed"; }
! grep -E "$raw" "$T/verify.err" || fail "libav's own lines with -v"
grep -q 'debug: libav ' "$T/verify.err" || fail "verify -v shows no libav line: $(head -n 5 "$T/verify.err")"
echo "verify -v: $(grep -c 'debug: libav ' "$T/verify.err") libav lines, e.g. $(grep -m1 'debug: libav ' "$T/verify.err")"
echo "ok"
