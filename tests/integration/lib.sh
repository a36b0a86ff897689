# Shared helpers for integration tests: real processes on loopback (port 0)
# with a temporary share. Source it; every test gets $T (its temp dir),
# $SHARE, $BIN, and cleanup of its processes on exit. $BIN holds the test
# binaries (built with the test hooks of common/fault.h); $RELEASE_BIN the
# release ones, which ignore them.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
BIN=$top/${BUILD:-build}/test-bin
RELEASE_BIN=$top/${BUILD:-build}/bin
TOOLS=$top/${BUILD:-build}/tests
T=$(mktemp -d "${TMPDIR:-/tmp}/ff-it-XXXXXX")
# No ambassador a test starts serves HTTP (its default, 0.0.0.0:7780, is
# one port for every test and every person on the machine) unless the
# test says --http, which wins over this.
export FRAMEFARM_HTTP=off
SHARE=$T/share
mkdir -p "$SHARE"
PIDS=""

cleanup() {
    for p in $PIDS; do kill -9 "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    if [ "${KEEP:-0}" = 1 ]; then echo "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT

# A failure shows the ends of the process logs first (CI keeps only what
# the test printed), then the reason last.
fail() {
    for f in "$T"/coord*.log "$T"/node-*.log; do
        [ -s "$f" ] || continue
        echo "--- last lines of ${f#"$T"/}:" >&2
        tail -n 15 "$f" | cut -c1-220 >&2
    done
    echo "FAIL: $*" >&2
    exit 1
}
skip() { echo "SKIP: $*"; exit 77; }

# Sample zips are cached per build so each test does not regenerate them,
# keyed by name, frame count and size (two tests may ask for one name at
# two sizes), and made under a temporary name so none is seen half written.
sample() { # name frames size -> path
    cache=$top/${BUILD:-build}/samples/$2-$3
    mkdir -p "$cache"
    z=$cache/$1.zip
    if [ ! -f "$z" ]; then
        "$BIN/framefarm" sample -o "$z.tmp$$.zip" --frames "$2" --size "$3" >/dev/null &&
            mv -f "$z.tmp$$.zip" "$z"
    fi
    echo "$z"
}

# A copy of a zip whose 20th frame (by name) no node can decode: a JPEG
# that lists and looks valid but uses a coding process libjpeg-turbo
# refuses (its SOF0 marker turned into SOF3). Unpacked under dir.
poison_zip() { # src-zip dir out-zip
    unzip -q "$1" -d "$2"
    args=""
    for f in $(cd "$2" && find samples -name '*.jpg' | sort); do
        args="$args $f=$2/$f"
    done
    bad=$(cd "$2" && find samples -name '*.jpg' | sort | sed -n 20p)
    off=$(LC_ALL=C grep -obUaP '\xff\xc0' "$2/$bad" | head -n1 | cut -d: -f1)
    [ -n "$off" ] || fail "no SOF0 marker in $bad"
    printf '\303' | dd of="$2/$bad" bs=1 seek=$((off + 1)) conv=notrunc 2>/dev/null
    # shellcheck disable=SC2086
    "$TOOLS/mkzip" "$3" $args
}

# Start the coordinator in the background on port 0; sets COORD_PID and PORT.
# Its stdout goes to $T/coord.out, stderr to $T/coord.log.
# COORD_NOFILE=N: the coordinator runs with N descriptors (soft and hard).
start_coord() { # args...
    rm -f "$T/coord.out" # a restart must not read the last run's port
    (
        [ -z "${COORD_NOFILE:-}" ] || ulimit -n "$COORD_NOFILE"
        exec "$BIN/framefarm-coordinator" --share "$SHARE" \
            --listen 127.0.0.1:0 "$@"
    ) >"$T/coord.out" 2>"$T/coord.log" &
    COORD_PID=$!
    PIDS="$PIDS $COORD_PID"
    wait_for "$T/coord.out" '^listening on ' 30
    PORT=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$T/coord.out" | head -n1)
    [ -n "$PORT" ] || fail "no port in $(cat "$T/coord.out")"
}

# The HTTP port an ambassador started with --http HOST:0 printed; sets
# HTTP_PORT.
http_port() { # out-file
    wait_for "$1" '^http on ' 30
    HTTP_PORT=$(sed -n 's/^http on .*:\([0-9]*\)$/\1/p' "$1" | head -n1)
    [ -n "$HTTP_PORT" ] || fail "no http port in $(cat "$1")"
}

start_node() { # name extra-args...
    n=$1; shift
    "$BIN/framefarm-node" --coordinator "127.0.0.1:$PORT" --share "$SHARE" \
        --name "$n" --retry-for 20 "$@" 2>"$T/node-$n.log" &
    eval "NODE_PID_$(echo "$n" | tr -c 'A-Za-z0-9\n' _)=$!"
    PIDS="$PIDS $!"
}

node_pid() { eval "echo \$NODE_PID_$(echo "$1" | tr -c 'A-Za-z0-9\n' _)"; }

# Wait until FILE has a line matching PATTERN, or fail after SECS.
wait_for() { # file pattern secs
    end=$(( $(date +%s) + $3 ))
    while ! grep -qE "$2" "$1" 2>/dev/null; do
        [ "$(date +%s)" -lt "$end" ] || fail "timed out waiting for /$2/ in $1: $(tail -n 20 "$1" 2>/dev/null)"
        sleep 0.05
    done
}

# Wait for a pid to exit within SECS; its status goes to $STATUS.
wait_exit() { # pid secs
    end=$(( $(date +%s) + $2 ))
    while kill -0 "$1" 2>/dev/null; do
        if [ "$(date +%s)" -ge "$end" ]; then
            echo "--- coordinator log:"; tail -n 40 "$T/coord.log" || true
            fail "process $1 still running after $2 s"
        fi
        sleep 0.05
    done
    set +e; wait "$1"; STATUS=$?; set -e
}

# The final video must match the zip, frame by frame.
verify() { # video zip
    "$BIN/framefarm" verify "$1" --input "$2" >"$T/verify.out" 2>&1 || {
        cat "$T/verify.out"; fail "verify failed"; }
    cat "$T/verify.out"
}

# No set may be counted twice: one "counted" line per set in the log.
check_no_double_count() { # expected-sets
    c=$(grep -c ': counted (' "$T/coord.log" || true)
    u=$(grep -o 'set [0-9]* epoch [0-9]*: counted' "$T/coord.log" | awk '{print $2}' | sort -u | wc -l)
    [ "$c" -eq "$1" ] || fail "$c counted lines for $1 sets"
    [ "$u" -eq "$1" ] || fail "$u distinct counted sets for $1 sets"
}

# After a restart of the ambassador: no set it had counted before may have
# been rendered again by any node.
check_no_rerender() { # coord-log-of-the-restart
    counted=$(sed -n 's/.*counted before the restart: //p' "$1" | tail -n1)
    [ -n "$counted" ] || fail "the restart did not say what was counted"
    [ "$counted" = none ] && return 0
    for s in $(echo "$counted" | tr , ' '); do
        n=$(cat "$T"/node-*.log | grep -c "job [^ ]* set $s epoch [0-9]*: rendering" || true)
        # A speculative backup before the restart renders a set twice, once
        # each on two nodes; none may render it after.
        b=$(cat "$T"/coord*.log 2>/dev/null |
            grep -c "set $s epoch [0-9]*: backup assigned" || true)
        [ "$n" -ge 1 ] && [ "$n" -le $((1 + b)) ] ||
            fail "set $s was counted before the restart but rendered $n times ($b backups before it)"
    done
    echo "counted before the restart and not rendered again: $counted"
}
