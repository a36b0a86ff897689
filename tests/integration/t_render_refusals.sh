# framefarm render refuses what it cannot do before any work, with the
# reason on one line and exit 2, and leaves nothing behind (issue 11's
# weaker points): a missing zip, a preset no encoder knows, an encoder of
# another codec. Ctrl-C says "interrupted", exits 130 and removes the
# private share and every process it started. (Before: a bad preset or
# encoder burned every set's attempts and failed the job after seconds;
# a refusal printed the tail of a log and kept the share.)
. "$(dirname "$0")/lib.sh"
zip=$(sample s96 96 640x360)
export TMPDIR=$T/tmp
mkdir -p "$TMPDIR"

refused() { # expected reason, render args...
    msg=$1; shift
    rc=0
    "$BIN/framefarm" render "$@" -o "$T/out.mp4" >"$T/r.out" 2>"$T/r.err" || rc=$?
    [ "$rc" -eq 2 ] || fail "render $*: exit $rc, want 2: $(tail -n 3 "$T/r.err")"
    grep -q "^framefarm render: .*$msg" "$T/r.err" || fail "render $*: no reason line \"$msg\": $(cat "$T/r.err")"
    grep -q 'last lines of' "$T/r.err" && fail "render $*: a log tail instead of the reason"
    [ -z "$(ls -A "$TMPDIR")" ] || fail "render $*: left $(ls "$TMPDIR")"
    [ ! -e "$T/out.mp4" ] || fail "render $*: wrote a video"
    grep -q 'assigned to' "$T/r.err" && fail "render $*: work was handed out"
    return 0
}

refused "cannot open zip" "$T/missing.zip"
refused "--preset foo: not a preset" "$zip" --preset foo
refused "--encoder libx265 makes hevc, not the job's h264" "$zip" --encoder libx265
refused "--encoder bogus: not auto, cpu, nvenc, vaapi" "$zip" --encoder bogus

# Ctrl-C while it renders.
"$BIN/framefarm" render "$zip" -o "$T/out.mp4" --nodes 2 --set-size 4 \
    >"$T/r.out" 2>"$T/r.err" &
rpid=$!
PIDS="$PIDS $rpid"
wait_for "$T/r.err" 'sets' 30
kill -INT "$rpid"
wait_exit "$rpid" 20
[ "$STATUS" -eq 130 ] || fail "Ctrl-C: exit $STATUS, want 130"
grep -q '^framefarm render: interrupted' "$T/r.err" || fail "Ctrl-C: not said: $(tail -n 3 "$T/r.err")"
[ -z "$(ls -A "$TMPDIR")" ] || fail "Ctrl-C: left $(ls "$TMPDIR")"
left=$(pgrep -f "$TMPDIR/framefarm-share" || true)
[ -z "$left" ] || fail "Ctrl-C: processes left: $left"
echo "ok"
