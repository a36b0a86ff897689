# An output the job must not write is refused before any work, with exit
# 2 and a reason, and nothing is lost (issue 11, item 1: `render z.zip -o
# z.zip` used to exit 0 with the zip turned into an MP4). Refused: the
# input itself (by name, through a hard link, through a symbolic link,
# and when the zip is on the share), an output inside the share's job
# tree, a directory, and an output whose directory does not exist. The
# zip is unchanged after every attempt and no job is created on the share.
. "$(dirname "$0")/lib.sh"
src=$(sample s48 48 320x180)
zip=$T/in.zip
cp "$src" "$zip"
sum=$(sha256sum "$zip" | cut -d' ' -f1)
export TMPDIR=$T

refused() { # what, expected message, command...
    what=$1 msg=$2; shift 2
    rc=0
    "$@" >"$T/out" 2>&1 || rc=$?
    [ "$rc" -eq 2 ] || fail "$what: exit $rc, want 2: $(tail -n 5 "$T/out")"
    grep -q -- "$msg" "$T/out" || fail "$what: no \"$msg\" in: $(tail -n 5 "$T/out")"
    [ "$(sha256sum "$zip" | cut -d' ' -f1)" = "$sum" ] || fail "$what: the zip changed"
    [ "$(find "$SHARE" -mindepth 1 ! -path "$SHARE/jobs" ! -path "$SHARE/jobs/x" | head -c 1)" = "" ] ||
        fail "$what: something was written on the share: $(find "$SHARE" | head)"
}

coord() { "$BIN/framefarm-coordinator" --share "$SHARE" --listen 127.0.0.1:0 "$@"; }

refused "render -o the zip" "is the input" \
    "$BIN/framefarm" render "$zip" -o "$zip" --nodes 1
refused "coordinator --output the zip" "is the input" \
    coord --input "$zip" --output "$zip"
ln "$zip" "$T/hard.mp4"
refused "a hard link to the zip" "is the input" \
    coord --input "$zip" --output "$T/hard.mp4"
ln -s "$zip" "$T/soft.mp4"
refused "a symbolic link to the zip" "is the input" \
    coord --input "$zip" --output "$T/soft.mp4"
mkdir -p "$T/other"
cp "$zip" "$T/other/on-share.zip"
refused "the zip on the share is the output" "is the input" \
    "$BIN/framefarm-coordinator" --share "$T/other" --listen 127.0.0.1:0 \
    --input "$T/other/on-share.zip" --output "$T/other/on-share.zip"
mkdir -p "$SHARE/jobs/x"
refused "an output in the job tree" "inside the share's job tree" \
    coord --input "$zip" --output "$SHARE/jobs/x/out.mp4"
rmdir "$SHARE/jobs/x" "$SHARE/jobs"
refused "a directory" "is a directory" \
    coord --input "$zip" --output "$T/other"
refused "a missing directory" "does not exist" \
    coord --input "$zip" --output "$T/nowhere/out.mp4"
# A directory the job cannot write: found before any work, not after the
# last set. Root writes anywhere but on a read-only mount, so root gets
# one (unmounted on every exit); others a directory without write bits.
mkdir "$T/ro"
if [ "$(id -u)" = 0 ]; then
    if mount -t tmpfs -o ro,size=1m tmpfs "$T/ro" 2>/dev/null; then
        trap 'for p in $PIDS; do kill -9 "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; umount -l "$T/ro" 2>/dev/null || true; cleanup' EXIT
        ro_ok=1
    fi
else
    chmod 555 "$T/ro" && ro_ok=1
fi
if [ "${ro_ok:-0}" = 1 ]; then
    refused "an unwritable directory" "is not writable" \
        coord --input "$zip" --output "$T/ro/out.mp4"
    set +e
    "$BIN/framefarm" render "$zip" -o "$T/ro/out.mp4" >"$T/render-ro.out" 2>&1
    st=$?; set -e
    [ "$st" -eq 2 ] && grep -q 'is not writable' "$T/render-ro.out" || fail "render to an unwritable directory: exit $st: $(cat "$T/render-ro.out")"
else
    echo "note: no read-only directory here (mount failed); that case not checked"
fi
# A good output still works.
coord --input "$zip" --output "$T/good.mp4" >"$T/coord.out" 2>"$T/coord.log" &
PIDS="$PIDS $!"; COORD_PID=$!
wait_for "$T/coord.out" '^listening on' 10
PORT=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$T/coord.out")
start_node a
wait_exit "$COORD_PID" 60
[ "$STATUS" -eq 0 ] || fail "a good output: coordinator exit $STATUS"
verify "$T/good.mp4" "$zip"
echo "ok"
