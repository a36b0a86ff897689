# Helpers shared by the timing scripts in bench/ (source it).
now_ms() { date +%s%3N; }
# "HH:MM:SS.mmm" from a log line, as epoch ms (same day).
log_ms() { date -d "$(date +%F) $1" +%s%3N; }
# Wait until FILE has a line matching PATTERN.
waitfor() { until grep -q "$2" "$1" 2>/dev/null; do sleep 0.02; done; }
# Median and worst of the numbers on standard input.
stats() { sort -n | awk '{a[NR]=$1} END {printf "median %d ms, worst %d ms", a[int((NR+1)/2)], a[NR]}'; }
# A temporary folder T for a run, removed on exit with every process in
# PIDS killed; a signal ends the run (an EXIT trap alone let its loops go
# on after INT).
bench_tmp() { # name
    T=$(mktemp -d "${TMPDIR:-/tmp}/ff-bench-$1-XXXXXX")
    PIDS=""
    trap bench_cleanup EXIT
    trap "exit 1" INT TERM
}
bench_cleanup() {
    for p in $PIDS; do kill -9 "$p" 2>/dev/null; done
    rm -rf "$T"
}
