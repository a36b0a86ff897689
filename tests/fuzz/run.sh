#!/bin/sh
# Runs every libFuzzer harness built in BUILD (fuzz_*) for SECONDS each,
# JOBS at a time, on a copy of its seed corpus: BUILD/corpus/<harness>/
# gets the seeds of tests/fuzz/corpus/<harness>/ and keeps what the fuzzer
# adds between runs; the repository's corpus is never written. A crash, a
# leak, a hang (over FUZZ_TIMEOUT seconds on one input) or a broken
# property fails the run: its input lands in BUILD/artifacts/ and the end
# of its log is printed. Ends with one line per harness: executions and
# seconds (libFuzzer's "Done N runs in S second(s)"); exits 1 on a failure.
#   tests/fuzz/run.sh BUILD SECONDS JOBS
set -u
build=$1 seconds=$2 jobs=$3
timeout=${FUZZ_TIMEOUT:-10}
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 2
export LSAN_OPTIONS="suppressions=$top/tests/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

# One harness, in the background of xargs: its exit status goes to
# BUILD/logs/<harness>.rc for the summary.
if [ "${FUZZ_RUN_ONE:-}" != "" ]; then
    t=$FUZZ_RUN_ONE
    mkdir -p "$build/corpus/$t"
    cp tests/fuzz/corpus/"$t"/* "$build/corpus/$t/"
    set -- -max_total_time="$seconds" -timeout="$timeout" \
        -artifact_prefix="$build/artifacts/$t-"
    [ -f "tests/fuzz/$t.dict" ] && set -- "$@" -dict="tests/fuzz/$t.dict"
    # The zip lister logs every entry it skips: keep stderr for libFuzzer's
    # own lines and the sanitizers' reports (libFuzzer moves them).
    [ "$t" = fuzz_zipframes ] && set -- "$@" -close_fd_mask=2
    echo "fuzz: $t for ${seconds}s"
    "$build/$t" "$@" "$build/corpus/$t" >"$build/logs/$t.log" 2>&1
    echo $? >"$build/logs/$t.rc"
    exit 0
fi

mkdir -p "$build/artifacts" "$build/logs"
names=""
for src in tests/fuzz/fuzz_*.c; do
    t=${src#tests/fuzz/}
    names="$names ${t%.c}"
done
rm -f "$build"/logs/*.rc
# shellcheck disable=SC2086 # one harness name per word
printf '%s\n' $names | xargs -P "$jobs" -I{} env FUZZ_RUN_ONE={} \
    sh tests/fuzz/run.sh "$build" "$seconds" "$jobs"

failed=""
for t in $names; do
    rc=$(cat "$build/logs/$t.rc" 2>/dev/null || echo missing)
    if [ "$rc" != 0 ]; then
        failed="$failed $t"
        echo "FAIL $t (exit $rc); last lines of $build/logs/$t.log:"
        tail -n 60 "$build/logs/$t.log" | sed 's/^/    /'
    fi
done
echo "fuzz: executions per harness (${seconds}s each):"
for t in $names; do
    done_line=$(grep -m1 '^Done [0-9]* runs in' "$build/logs/$t.log")
    echo "  $t: ${done_line:-no Done line (see $build/logs/$t.log)}"
done
if [ -n "$failed" ]; then
    echo "fuzz: FAILED:$failed (inputs in $build/artifacts/)"
    exit 1
fi
echo "fuzz: all harnesses passed"
