# The dashboard in a real browser during a real job (issue 12): a service
# with HTTP on, a job of 12 sets and two nodes slowed to about a second a
# set. Headless Chromium (Debian's chromium) opens the page; from its DOM
# the set grid changes colour as sets are counted, and node b, killed
# (SIGKILL) while it holds a set, shows its breaker open. The job still verifies (node a renders the rest). The
# screenshot is kept in $FF_ARTIFACTS (default $BUILD/artifacts).
. "$(dirname "$0")/lib.sh"
command -v chromium >/dev/null 2>&1 ||
    skip "no chromium (Debian's chromium; sh scripts/deps.sh browser installs it)"
art=${FF_ARTIFACTS:-$top/${BUILD:-build}/artifacts}
mkdir -p "$art"
zip=$(sample s288d 288 320x180)
start_coord --set-size 24 --time-scale 5 --http 127.0.0.1:0
http_port "$T/coord.out"
"$BIN/framefarm" submit "$zip" -o "$T/out.mp4" --job dash \
    --coordinator "127.0.0.1:$PORT" >"$T/submit.out" || fail "submit"
FRAMEFARM_FAULT_SLOW_MS=900 start_node a
FRAMEFARM_FAULT_SLOW_MS=900 start_node b
wait_for "$T/coord.log" 'job dash set [0-9]+ epoch [0-9]+: assigned to node b' 60
python3 "$top/tests/integration/dashboard_check.py" \
    "http://127.0.0.1:$HTTP_PORT/" b "$(node_pid b)" "$T/dashboard.png" \
    >"$T/check.out" 2>&1 || { cat "$T/check.out"; fail "the dashboard check"; }
cat "$T/check.out"
cp "$T/dashboard.png" "$art/dashboard.png"
echo "screenshot kept: $art/dashboard.png"
grep -q 'node b: session ended: .*(process gone)' "$T/coord.log" ||
    fail "the ambassador did not see node b die"
"$BIN/framefarm" wait dash --coordinator "127.0.0.1:$PORT" >"$T/wait.out" 2>&1 ||
    { cat "$T/wait.out"; fail "the job did not finish"; }
verify "$T/out.mp4" "$zip"
echo "ok"
