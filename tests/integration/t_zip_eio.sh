# Reading the zip fails with an I/O error (the share went away under the
# listing): that is not bad input. The ambassador says the read failed
# and to try again, and exits 1, not 2 (the exit status of bad input);
# submit likewise answers 1; nothing is written on the share.
. "$(dirname "$0")/lib.sh"
zip=$(sample s48 48 320x180)
set +e
FRAMEFARM_FAULT_ZIP_EIO=1 "$BIN/framefarm-coordinator" --share "$SHARE" \
    --listen 127.0.0.1:0 --input "$zip" --output "$T/out.mp4" >"$T/coord.out" 2>"$T/coord.log"
st=$?
set -e
[ "$st" -eq 1 ] || fail "an I/O error listing the zip: exit $st, want 1: $(tail -n 3 "$T/coord.log")"
grep -q 'reading it failed, not its content' "$T/coord.log" || fail "no word that the read failed: $(tail -n 3 "$T/coord.log")"
[ -z "$(ls -A "$SHARE")" ] || fail "something was written on the share: $(ls -AR "$SHARE")"
# The service: submit answers 1 (try again), not 2.
FRAMEFARM_FAULT_ZIP_EIO=1 start_coord
set +e
"$BIN/framefarm" submit "$zip" -o "$T/out.mp4" --coordinator "127.0.0.1:$PORT" 2>"$T/submit.err"
st=$?
set -e
[ "$st" -eq 1 ] || fail "submit with the zip unreadable: exit $st, want 1: $(cat "$T/submit.err")"
grep -q 'try again' "$T/submit.err" || fail "submit did not say to try again: $(cat "$T/submit.err")"
echo ok
