# The ambassador as a service: three jobs submitted at once with different
# priorities and containers to one ambassador with two nodes that stay up.
# All three verify, in priority order (then submission order), the nodes
# never restart; `status` mid-run shows the jobs and nodes; a second
# ambassador on the same share is refused (exit 2) and the running job is
# unharmed; a job with a bad zip is refused at submit (exit 2, nothing
# queued); a job cancelled mid-run ends alone, its files removed; a job
# that fails at run time ends alone, the next one verifies.
. "$(dirname "$0")/lib.sh"
z1=$(sample s96 96 320x180)
z2=$(sample s72 72 320x180)
z3=$(sample s48b 48 320x180)
ff() { "$BIN/framefarm" "$@" --coordinator "127.0.0.1:$PORT"; }

start_coord --set-size 8 --time-scale 5
# Submitted before any node: the order is the queue's alone.
ff submit "$z1" -o "$T/low.mp4" --priority 1 >"$T/sub1.out" || fail "submit 1"
ff submit "$z2" -o "$T/high.mkv" --priority 9 >"$T/sub2.out" || fail "submit 2"
ff submit "$z3" -o "$T/mid.mov" --priority 5 --codec hevc >"$T/sub3.out" || fail "submit 3"
[ "$(tail -n1 "$T/sub2.out")" = high ] || fail "submit did not print the job id last: $(cat "$T/sub2.out")"

# A bad zip fails alone, at submit, with nothing queued.
head -c 5000 /dev/urandom >"$T/bad.zip"
set +e; ff submit "$T/bad.zip" -o "$T/bad.mp4" 2>"$T/bad.err"; st=$?; set -e
[ "$st" -eq 2 ] || fail "bad zip: exit $st, want 2: $(cat "$T/bad.err")"
[ ! -e "$SHARE/jobs/bad" ] || fail "a refused job left a tree on the share"
# An output that exists is refused without --force.
touch "$T/exists.mp4"
set +e; ff submit "$z2" -o "$T/exists.mp4" 2>"$T/exists.err"; st=$?; set -e
[ "$st" -eq 2 ] && grep -q 'exists' "$T/exists.err" || fail "existing output: exit $st: $(cat "$T/exists.err")"
# Two jobs may not write one video.
set +e; ff submit "$z1" -o "$T/high.mkv" --job other 2>"$T/same.err"; st=$?; set -e
[ "$st" -eq 2 ] && grep -q 'already the output of job high' "$T/same.err" || fail "a second job for one output: exit $st: $(cat "$T/same.err")"
# h264 in .webm: refused before any work.
set +e; ff submit "$z2" -o "$T/x.webm" 2>"$T/webm.err"; st=$?; set -e
[ "$st" -eq 2 ] || fail "h264 in webm: exit $st: $(cat "$T/webm.err")"

FRAMEFARM_FAULT_SLOW_MS=150 start_node a
FRAMEFARM_FAULT_SLOW_MS=150 start_node b
pa=$(node_pid a); pb=$(node_pid b)
wait_for "$T/coord.log" 'job high: starting' 30
wait_for "$T/coord.log" 'job high set [0-9]+ epoch [0-9]+: counted' 60
ff status >"$T/status.txt" || fail "status"
cat "$T/status.txt"
grep -q '^high  *running' "$T/status.txt" || fail "status does not show high running"
grep -q '^low  *queued' "$T/status.txt" || fail "status does not show low queued"
grep -Eq '^a  .* closed ' "$T/status.txt" || fail "status does not show node a"
ff status --json >"$T/status.json" || fail "status --json"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert len(d["jobs"])==3, d' "$T/status.json" \
    || fail "status --json is not one JSON document with 3 jobs"

# A second ambassador on this share is refused, naming the live one.
set +e
"$BIN/framefarm-coordinator" --share "$SHARE" --listen 127.0.0.1:0 >"$T/second.out" 2>"$T/second.err"
st=$?; set -e
[ "$st" -eq 2 ] || fail "second ambassador: exit $st, want 2: $(cat "$T/second.err")"
grep -q "already running on this share: 127.0.0.1:$PORT, generation 1" "$T/second.err" || fail "the refusal does not name the live one: $(cat "$T/second.err")"

for j in high mid low; do
    ff wait "$j" >"$T/wait-$j.out" || fail "wait $j: $(cat "$T/wait-$j.out")"
done
kill -0 "$pa" && kill -0 "$pb" || fail "a node exited between jobs"
# In priority order: high (9), mid (5), low (1).
order=$(grep -o 'job [a-z]*: starting' "$T/coord.log" | awk '{print $2}' | tr -d : | tr '\n' ' ')
[ "$order" = "high mid low " ] || fail "jobs ran in the order '$order'"
verify "$T/high.mkv" "$z2"
verify "$T/mid.mov" "$z3"
verify "$T/low.mp4" "$z1"
ffprobe -v error -show_entries format=format_name -of csv=p=0 "$T/high.mkv" | grep -q matroska || fail "high.mkv is not Matroska"
ffprobe -v error -show_entries format=format_name -of csv=p=0 "$T/mid.mov" | grep -q mov || fail "mid.mov is not QuickTime"
ffprobe -v error -select_streams v -show_entries stream=codec_name -of csv=p=0 "$T/mid.mov" | grep -q hevc || fail "mid.mov is not HEVC"
# Nodes stayed: one connection each for all three jobs.
[ "$(grep -c 'connected to the ambassador' "$T/node-a.log")" -eq 1 ] || fail "node a reconnected"

# Cancel mid-run: the job ends alone, its tree is removed, nothing written.
z4=$(sample s240 240 320x180)
ff submit "$z4" -o "$T/cancel.mp4" --set-size 4 >/dev/null || fail "submit 4"
wait_for "$T/coord.log" 'job cancel set [0-9]+ epoch [0-9]+: counted' 60
ff cancel cancel >"$T/cancel.out" || fail "cancel: $(cat "$T/cancel.out")"
grep -q 'cancelled' "$T/cancel.out" || fail "cancel said: $(cat "$T/cancel.out")"
set +e; ff wait cancel >/dev/null 2>&1; st=$?; set -e
[ "$st" -eq 1 ] || fail "wait on a cancelled job: exit $st, want 1"
[ ! -e "$T/cancel.mp4" ] || fail "a cancelled job wrote its video"
end=$(( $(date +%s) + 10 ))
while [ -e "$SHARE/jobs/cancel" ] && [ "$(date +%s)" -lt "$end" ]; do sleep 0.1; done
[ ! -e "$SHARE/jobs/cancel" ] || fail "the cancelled job's tree is still on the share"
# A job that fails at run time (a frame no node can decode: its failure
# cap) ends alone with its report; the job queued behind it verifies.
poison_zip "$z3" "$T/x" "$T/poison.zip"
ff submit "$T/poison.zip" -o "$T/poison.mp4" --priority 20 >/dev/null || fail "submit poison"
ff submit "$z3" -o "$T/after.mp4" >/dev/null || fail "submit after"
set +e; ff wait poison >"$T/wait-poison.out" 2>&1; st=$?; set -e
[ "$st" -eq 1 ] || fail "wait on the failing job: exit $st, want 1: $(cat "$T/wait-poison.out")"
grep -q 'set 2 (frames 16..23' "$T/wait-poison.out" || fail "wait did not give the failing job's report: $(cat "$T/wait-poison.out")"
[ ! -e "$T/poison.mp4" ] || fail "the failed job wrote a video"
ff status poison >"$T/status-poison.txt" || fail "status poison"
grep -q '^poison  *failed' "$T/status-poison.txt" || fail "status does not show the job failed: $(cat "$T/status-poison.txt")"
ff wait after >"$T/after.out" || fail "the job after the failed one: $(cat "$T/after.out")"
verify "$T/after.mp4" "$z3"
# The job flags travel with submit: one camera of a six-camera download,
# at its true capture times.
six=$T/six.zip
"$BIN/framefarm" sample -o "$six" --frames 40 --size 320x180 --cameras 6 >/dev/null
ff submit "$six" -o "$T/back.mkv" --camera CAM_BACK --timing timestamps --wait >"$T/back.out" \
    || fail "submit --camera CAM_BACK --timing timestamps: $(cat "$T/back.out")"
"$BIN/framefarm" verify "$T/back.mkv" --input "$six" --camera CAM_BACK --timing timestamps >"$T/verify-back.out" 2>&1 \
    || fail "the CAM_BACK video does not verify: $(cat "$T/verify-back.out")"
set +e; ff submit "$six" -o "$T/none.mp4" --camera CAM_NOPE 2>"$T/cam.err"; st=$?; set -e
[ "$st" -eq 2 ] || fail "an unknown camera: exit $st, want 2: $(cat "$T/cam.err")"
kill -0 "$pa" && kill -0 "$pb" || fail "a node exited"
echo ok
