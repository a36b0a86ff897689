#!/bin/sh
# Runs the test suite: unit tests (cmocka binaries in $BUILD/tests), then the
# integration tests (tests/integration/t_*.sh: real processes on loopback
# with a temporary share). Prints one line per test and a closing
# "N passed, N failed, N skipped" line; exits non-zero if anything failed.
#   tests/run.sh [unit|sim|integration] [NAME-FILTER]
set -u
BUILD=${BUILD:-build}
export BUILD
what=${1:-all}
filter=${2:-}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 2

pass=0 fail=0 skip=0 failed=""
# Sanitizer builds: suppress only what third-party libraries do. Thread
# leaks are not reported: the ambassador's deliberate _exit paths (crash
# points, "replaced by a newer generation") leave threads running.
export LSAN_OPTIONS="suppressions=$top/tests/lsan.supp:print_suppressions=0"
export TSAN_OPTIONS="suppressions=$top/tests/tsan.supp:halt_on_error=1:second_deadlock_stack=1:report_thread_leaks=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
logdir=$(mktemp -d "${TMPDIR:-/tmp}/framefarm-tests-XXXXXX")

run_one() { # name, command...
    name=$1; shift
    case "$name" in *"$filter"*) ;; *) return ;; esac
    start=$(date +%s)
    log="$logdir/$(echo "$name" | tr / _).log"
    "$@" >"$log" 2>&1
    rc=$?
    secs=$(( $(date +%s) - start ))
    if [ $rc -eq 0 ]; then
        pass=$((pass + 1)); echo "PASS $name (${secs}s)"
    elif [ $rc -eq 77 ]; then
        skip=$((skip + 1))
        echo "SKIP $name: $(grep -m1 '^SKIP:' "$log" | cut -c7-)"
    else
        fail=$((fail + 1)); failed="$failed $name"
        echo "FAIL $name (exit $rc, ${secs}s); last lines of its log:"
        tail -n 80 "$log" | sed 's/^/    /'
    fi
}

if [ "$what" = all ] || [ "$what" = unit ]; then
    for t in "$BUILD"/tests/test_*; do
        [ -x "$t" ] || continue
        run_one "unit/$(basename "$t")" "$t"
    done
fi
if [ "$what" = all ] || [ "$what" = sim ]; then
    for t in "$BUILD"/tests/sim_*; do
        [ -x "$t" ] || continue
        run_one "sim/$(basename "$t")" "$t"
    done
fi
if [ "$what" = all ] || [ "$what" = integration ]; then
    for t in tests/integration/t_*.sh; do
        run_one "integration/$(basename "$t" .sh)" bash "$t"
    done
fi

echo "logs: $logdir"
[ -n "$failed" ] && echo "failed:$failed"
echo "$pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]
