# The progress line of `framefarm render` fits the terminal (issue 9, what
# the user sees): on a 40-column terminal no redraw is wider than 39
# columns (a full-width line wraps, and each redraw would leave a line
# behind), and no rate or ETA is shown before a frame has been rendered.
# The terminal is a pty from script(1), its width set with stty.
. "$(dirname "$0")/lib.sh"
command -v script >/dev/null || skip "script(1) (util-linux) is needed for a pty"
zip=$(sample s96 96 640x360)
export TMPDIR=$T
cols=40
script -qec "stty cols $cols && exec '$BIN/framefarm' render '$zip' -o '$T/out.mp4' --nodes 2 --set-size 8" \
    /dev/null >"$T/tty.out" 2>&1 </dev/null || {
    cat "$T/tty.out"; fail "render failed"; }
# Every redraw is a segment between carriage returns; the progress ones
# are those that count frames as N/M.
tr '\r' '\n' <"$T/tty.out" | grep -E '[0-9]+/[0-9]+ frames' >"$T/progress.txt" ||
    fail "no progress line: $(cat -A "$T/tty.out" | head -n 5)"
cat "$T/progress.txt"
awk -v max=$((cols - 1)) 'length($0) > max { print length($0) ": " $0; bad = 1 }
    END { exit bad }' "$T/progress.txt" >"$T/wide.txt" ||
    fail "progress lines wider than $((cols - 1)) columns on a $cols-column terminal: $(cat "$T/wide.txt")"
first=$(head -n 1 "$T/progress.txt")
echo "$first" | grep -q ' 0/96 frames' || fail "the first progress line is not the start: $first"
! echo "$first" | grep -qE 'ETA|fps' || fail "a rate or ETA before any frame: $first"
tail -n 1 "$T/progress.txt" | grep -q '96/96 frames' || fail "the last progress line is not the end: $(tail -n 1 "$T/progress.txt")"
grep -q 'out.mp4: 96 frames' "$T/tty.out" || fail "no summary: $(cat "$T/tty.out")"
echo "ok"
