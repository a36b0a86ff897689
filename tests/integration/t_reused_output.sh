# A job is its input (issue 11, item 2). Rendering a second zip to the
# same output name used to answer "(already done)", exit 0, with the
# first zip's video (the job id comes from the output's name, and resume
# compared only set and frame counts). Now the journal records the
# input's fingerprint (its frames' names, sizes, CRCs and picture sizes)
# and a different input under the same job is refused, exit 2, before
# anything is rendered or written; --force starts the job anew with the
# new input. The same zip again still says it is done.
. "$(dirname "$0")/lib.sh"
a=$(sample s48 48 320x180)
b=$T/b.zip
"$BIN/framefarm" sample -o "$b" --frames 48 --size 320x180 --seed 7 >/dev/null
[ "$(sha256sum <"$a")" != "$(sha256sum <"$b")" ] || fail "the two zips are the same"

run() { # name zip extra-args...: a job to $T/out.mp4 with one node
    n=$1 zip=$2; shift 2
    start_coord --input "$zip" --output "$T/out.mp4" --set-size 24 "$@"
    start_node "$n"
    wait_exit "$COORD_PID" 120
}

run a "$a"
[ "$STATUS" -eq 0 ] || fail "first job: exit $STATUS"
verify "$T/out.mp4" "$a"
first=$(sha256sum <"$T/out.mp4")

# The same zip again: done already.
run a2 "$a"
[ "$STATUS" -eq 0 ] || fail "same zip again: exit $STATUS"
grep -q '(already done)' "$T/coord.out" || fail "same zip again: not 'already done': $(cat "$T/coord.out")"

# Another zip, same output name: refused, nothing touched.
run b "$b"
[ "$STATUS" -eq 2 ] || fail "another zip: exit $STATUS, want 2: $(tail -n 3 "$T/coord.log")"
grep -q 'made from another input than' "$T/coord.log" ||
    fail "another zip: no reason given: $(tail -n 3 "$T/coord.log")"
[ "$(sha256sum <"$T/out.mp4")" = "$first" ] || fail "another zip: the first video changed"
grep -q 'assigned to node' "$T/coord.log" && fail "another zip: sets were assigned"

# --force: the job starts anew from the new zip.
run b2 "$b" --force
[ "$STATUS" -eq 0 ] || fail "--force: exit $STATUS: $(tail -n 3 "$T/coord.log")"
grep -q 'starting the job anew' "$T/coord.log" || fail "--force: not started anew"
verify "$T/out.mp4" "$b"
echo "ok"
