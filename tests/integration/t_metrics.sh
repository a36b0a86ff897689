# The ambassador's /metrics, in the Prometheus text format, checked by
# promtool (Debian's prometheus package) during a service's job and after
# it, with the counters and histograms a user graphs: sets by job and
# state, nodes by breaker, assignments, frames encoded, encode seconds,
# journal fsync and share probe latency.
. "$(dirname "$0")/lib.sh"
command -v promtool >/dev/null 2>&1 ||
    skip "no promtool (Debian's prometheus; sh scripts/deps.sh browser installs it)"
zip=$(sample s96h 96 320x180)
m() { python3 "$top/tests/integration/ffhttp.py" get "http://127.0.0.1:$HTTP_PORT/metrics" |
    sed '1s/^200 //' >"$1"; }
check() { # file
    promtool check metrics <"$1" >"$T/promtool.out" 2>&1 ||
        { cat "$T/promtool.out"; fail "promtool check metrics: $1"; }
    echo "promtool check metrics $(basename "$1"): $(cat "$T/promtool.out") (ok)"
}
value() { # file series
    awk -v s="$2" '$1 == s { print $2 }' "$1"
}
start_coord --set-size 12 --time-scale 5 --http 127.0.0.1:0
http_port "$T/coord.out"
"$BIN/framefarm" submit "$zip" -o "$T/out.mp4" --job met \
    --coordinator "127.0.0.1:$PORT" >/dev/null || fail "submit"
FRAMEFARM_FAULT_SLOW_MS=400 start_node a
wait_for "$T/coord.log" 'job met set [0-9]+ epoch [0-9]+: counted' 60
# The snapshot follows within a quarter of a second.
end=$(( $(date +%s) + 10 ))
until m "$T/during.txt" &&
    grep -q '^framefarm_sets{job="met",state="D"} [1-8]$' "$T/during.txt"; do
    [ "$(date +%s)" -lt "$end" ] ||
        fail "no counted sets of job met: $(grep framefarm_sets "$T/during.txt")"
    sleep 0.1
done
check "$T/during.txt"
[ "$(value "$T/during.txt" 'framefarm_nodes{breaker="closed"}')" = 1 ] ||
    fail "one node, breaker closed: $(grep framefarm_nodes "$T/during.txt")"
"$BIN/framefarm" wait met --coordinator "127.0.0.1:$PORT" >/dev/null || fail "job met"
# The last snapshot is published at the job's end.
end=$(( $(date +%s) + 10 ))
until m "$T/after.txt" && [ "$(value "$T/after.txt" 'framefarm_jobs{state="done"}')" = 1 ]; do
    [ "$(date +%s)" -lt "$end" ] || fail "the job's end never showed in /metrics"
    sleep 0.1
done
check "$T/after.txt"
for s in framefarm_sets_counted_total:8 framefarm_assignments_total:8 \
    framefarm_frames_encoded_total:96 framefarm_encode_seconds_count:8 \
    framefarm_reclaims_total:0 framefarm_results_rejected_total:0; do
    got=$(value "$T/after.txt" "${s%%:*}")
    [ "$got" = "${s#*:}" ] || fail "${s%%:*} is $got, want ${s#*:}"
done
for h in framefarm_journal_fsync_seconds_count framefarm_share_probe_seconds_count; do
    got=$(value "$T/after.txt" "$h")
    [ "${got:-0}" -gt 0 ] || fail "$h is ${got:-absent}"
done
grep -E '^framefarm_(sets_counted|frames_encoded|encode_seconds_count|journal_fsync_seconds_count|share_probe_seconds_count)' "$T/after.txt"
echo "ok"
