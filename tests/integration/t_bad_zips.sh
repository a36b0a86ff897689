# Bad input gets a clear error and writes nothing: a zip with no JPEG, a zip
# with a "../" entry, an absolute entry, and a file that is not a zip. The
# coordinator exits 2 with a message naming the problem, and the share
# stays empty (nothing outside it either).
. "$(dirname "$0")/lib.sh"
good=$(sample s8 8 320x180)
unzip -q -o "$good" -d "$T/x"
f=$(find "$T/x" -name '*.jpg' | head -n1)

"$TOOLS/mkzip" "$T/nojpeg.zip" "README.txt=:hello" "fake.jpg=:not a jpeg"
"$TOOLS/mkzip" "$T/dotdot.zip" "samples/a__CAM_FRONT__1.jpg=$f" "../evil__CAM_FRONT__2.jpg=$f"
"$TOOLS/mkzip" "$T/abs.zip" "/tmp/evil__CAM_FRONT__2.jpg=$f"
echo "not a zip" >"$T/notzip.zip"

expect_refused() { # zip pattern
    set +e
    "$BIN/framefarm-coordinator" --share "$SHARE" --listen 127.0.0.1:0 \
        --input "$1" --output "$T/out.mp4" >"$T/o" 2>"$T/e"
    rc=$?
    set -e
    [ $rc -eq 2 ] || fail "$1: exit $rc, want 2: $(cat "$T/e")"
    grep -q "$2" "$T/e" || fail "$1: message lacks /$2/: $(cat "$T/e")"
    [ -z "$(ls -A "$SHARE")" ] || fail "$1: share not empty: $(find "$SHARE")"
    [ ! -e "$T/out.mp4" ] || fail "$1: output written"
    echo "refused $1: $(tail -n1 "$T/e")"
}
expect_refused "$T/nojpeg.zip" 'no JPEG frames'
expect_refused "$T/dotdot.zip" 'unsafe name'
expect_refused "$T/abs.zip" 'unsafe name'
expect_refused "$T/notzip.zip" 'cannot open zip'
[ ! -e "$T/evil__CAM_FRONT__2.jpg" ] || fail "wrote outside the share"
[ ! -e /tmp/evil__CAM_FRONT__2.jpg ] || fail "wrote to an absolute path"
echo "ok"
