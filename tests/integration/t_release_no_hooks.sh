# Release binaries ($BUILD/bin, what users run) have no test hooks: the
# hooks' variable names are not in them (the test binaries in
# $BUILD/test-bin have them), and a release coordinator and release nodes
# given every hook at once (a crash point, a broken libx264 and nvdec, a
# set to corrupt) ignore them all: the job finishes, the video verifies,
# and no log speaks of a crash point, a test hook or an injected fault.
. "$(dirname "$0")/lib.sh"
command -v strings >/dev/null || skip "strings (binutils) is not installed"
hook_names='FRAMEFARM_(FAULT_[A-Z_]*|CRASH_AT)'
for b in framefarm framefarm-coordinator framefarm-node; do
    found=$(strings "$RELEASE_BIN/$b" | grep -oE "$hook_names" | sort -u | tr '\n' ' ')
    [ -z "$found" ] || fail "release $b holds test hook names: $found"
done
strings "$BIN/framefarm-node" | grep -q FRAMEFARM_FAULT_ENCODER ||
    fail "the test binary $BIN/framefarm-node lacks FRAMEFARM_FAULT_ENCODER: the check above proves nothing"

BIN=$RELEASE_BIN # start_coord, start_node and verify run the release binaries
zip=$(sample s48q 48 320x180)
for point in journal-torn after-assign-journaled concat-before-rename; do
    echo "== FRAMEFARM_CRASH_AT=$point and every node hook"
    rm -rf "$SHARE" "$T"/node-*.log "$T/out.mp4"
    mkdir -p "$SHARE"
    export FRAMEFARM_CRASH_AT=$point FRAMEFARM_FAULT_ENCODER=libx264 \
        FRAMEFARM_FAULT_DECODER=nvdec FRAMEFARM_FAULT_CORRUPT_SET=1
    # No speculative backups: a backup that loses its race is rejected
    # as stale, and "rejected:" below must mean an obeyed hook.
    start_coord --input "$zip" --output "$T/out.mp4" --set-size 12 --backups 0
    start_node a
    start_node b
    unset FRAMEFARM_CRASH_AT FRAMEFARM_FAULT_ENCODER FRAMEFARM_FAULT_DECODER \
        FRAMEFARM_FAULT_CORRUPT_SET
    wait_exit "$COORD_PID" 120
    [ "$STATUS" -eq 0 ] || fail "$point: release coordinator exit $STATUS, want 0 (a hook was obeyed)"
    verify "$T/out.mp4" "$zip"
    if grep -E 'crash point|test hook|fault injected|rejected:' "$T/coord.log" "$T"/node-*.log; then
        fail "$point: a release binary obeyed a test hook (lines above)"
    fi
    for n in a b; do kill "$(node_pid $n)" 2>/dev/null || true; done
    wait 2>/dev/null || true
done
echo "ok"
