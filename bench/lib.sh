# Helpers shared by the timing scripts in bench/ (source it).
now_ms() { date +%s%3N; }
# "HH:MM:SS.mmm" from a log line, as epoch ms (same day).
log_ms() { date -d "$(date +%F) $1" +%s%3N; }
# Wait until FILE has a line matching PATTERN.
waitfor() { until grep -q "$2" "$1" 2>/dev/null; do sleep 0.02; done; }
# Median and worst of the numbers on standard input.
stats() { sort -n | awk '{a[NR]=$1} END {printf "median %d ms, worst %d ms", a[int((NR+1)/2)], a[NR]}'; }
