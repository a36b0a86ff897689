# The caps on a job's size are settings (zip_max_entries, max_sets), not
# constants: a job over either is refused before anything is written,
# with a message naming the setting; at the cap it is taken.
. "$(dirname "$0")/lib.sh"
zip=$(sample s60 60 320x180)
run_coord() { # expected-status args...
    want=$1; shift
    rc=0
    "$BIN/framefarm-coordinator" --share "$SHARE" --listen 127.0.0.1:0 \
        --input "$zip" --output "$T/out.mp4" --set-size 6 "$@" \
        >"$T/coord.out" 2>"$T/coord.log" || rc=$?
    [ "$rc" -eq "$want" ] || fail "exit $rc with $*, want $want"
}
run_coord 2 --max-sets 9
grep -q '10 sets, over 9 (max_sets)' "$T/coord.log" ||
    fail "no max_sets message: $(tail -n 3 "$T/coord.log")"
[ ! -e "$SHARE/jobs/out" ] || fail "a refused job left its tree"
run_coord 2 --zip-max-entries 59
grep -q 'over the limit' "$T/coord.log" ||
    fail "no entry limit message: $(tail -n 3 "$T/coord.log")"
[ ! -e "$SHARE/jobs/out" ] || fail "a refused job left its tree"
# At both caps the job is prepared (and waits for nodes).
start_coord --input "$zip" --output "$T/out.mp4" --set-size 6 \
    --max-sets 10 --zip-max-entries 60
wait_for "$T/coord.log" '10 sets ready' 30
echo ok
